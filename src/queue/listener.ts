/**
 * The queue's LISTEN connection: one dedicated `pg.Client` (never a pool connection: a pool hands
 * its connections to other queries, and a transaction pooler such as PgBouncer in transaction mode
 * would drop the LISTEN as soon as the statement's transaction ends), kept listening on
 * `ai_validation_evaluation_queue` (migration 20261203120000). When the connection drops, or a
 * periodic ping gets no answer, it is closed and opened again with exponential backoff and jitter;
 * the owner polls meanwhile.
 */
import pg from 'pg';
import type { PoolSettings } from '../config.js';
import { ConnectionError, TimeoutError } from '../errors.js';

/** The channel the evaluations' triggers notify (payload: the run's priority). */
export const EVALUATION_QUEUE_CHANNEL = 'ai_validation_evaluation_queue';

/**
 * Why the worker cannot listen through its handle's own connection settings, or undefined when it
 * can: behind a transaction pooler (`DATABASE_POOLER=transaction`) a LISTEN holds only until its
 * transaction ends, after which notifications go to a server session that another client uses, so
 * the worker would silently fall back to polling. It needs a direct URL (`listen: { connectionString }`)
 * or none (`listen: false`).
 *
 * @example
 * ```ts
 * const reason = listenRefusal(session.pool, parsed.listen);
 * if (reason) throw new ConfigError([{ variable: 'listen', message: reason }]);
 * ```
 */
export function listenRefusal(pool: Pick<PoolSettings, 'pooler'>, listen: boolean | { connectionString: string }): string | undefined {
  if (listen !== true || pool.pooler !== 'transaction') return undefined;
  return (
    'the database handle goes through a transaction pooler (DATABASE_POOLER=transaction), which cannot carry LISTEN: ' +
    'pass listen: { connectionString } with a direct URL to the server (not the pooler), or listen: false to poll only'
  );
}

/** What `startListener()` takes. */
export interface ListenerOptions {
  /** node-postgres client settings (the handle's, from `sessionOptions`). */
  clientConfig: pg.ClientConfig;
  /** A notification arrived on the channel. */
  onNotification: (payload: string | undefined) => void;
  /** LISTEN is active on a new connection (backend `pid`): notifications sent while down were missed. */
  onListening: (pid: number) => void;
  /** The connection failed or dropped; the next attempt is in `retryInMs`. */
  onLost: (error: Error, retryInMs: number) => void;
  /** How often the connection is pinged to notice a silent network (default 30 s). */
  pingIntervalMs?: number;
  /** How long a ping may take (default 5 s). */
  pingTimeoutMs?: number;
  /** The first reconnection delay (default 100 ms); doubled per failure up to `maxBackoffMs` (default 10 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A running listener. */
export interface Listener {
  /** True while LISTEN is active. */
  readonly listening: boolean;
  /** Stops reconnecting and closes the connection. */
  close(): Promise<void>;
}

/**
 * Connects and listens, and keeps doing so until `close()`.
 *
 * @example
 * ```ts
 * const listener = startListener({ clientConfig, onNotification: wake, onListening: wake, onLost: () => undefined });
 * await listener.close();
 * ```
 */
export function startListener(options: ListenerOptions): Listener {
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
  const initialBackoffMs = options.initialBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  let client: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  let ping: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    retry = undefined;
    const candidate = new pg.Client(options.clientConfig);
    let gone = false;
    const lost = (error: Error): void => {
      if (gone) return;
      gone = true;
      if (client === candidate) {
        client = undefined;
        listening = false;
        clearInterval(ping);
      }
      candidate.removeAllListeners('notification');
      candidate.end().catch(() => undefined);
      if (closed) return;
      // Full jitter over an exponential bound: many workers cut off at once do not reconnect in step.
      const bound = Math.min(maxBackoffMs, initialBackoffMs * 2 ** failures);
      const delay = Math.round(bound / 2 + (Math.random() * bound) / 2);
      failures++;
      retry = setTimeout(() => void connect(), delay);
      options.onLost(error, delay);
    };
    candidate.on('error', (error) =>
      lost(new ConnectionError(`the queue's listening connection failed: ${error.message}`, { cause: error })),
    );
    candidate.on('end', () => lost(new ConnectionError("the queue's listening connection was closed")));
    candidate.on('notification', (message) => {
      if (message.channel === EVALUATION_QUEUE_CHANNEL) options.onNotification(message.payload);
    });
    try {
      await candidate.connect();
      await candidate.query(`LISTEN ${EVALUATION_QUEUE_CHANNEL}`);
    } catch (error) {
      lost(error instanceof Error ? error : new ConnectionError(String(error)));
      return;
    }
    if (gone) return;
    if (closed) {
      gone = true;
      await candidate.end().catch(() => undefined);
      return;
    }
    client = candidate;
    listening = true;
    failures = 0;
    ping = setInterval(() => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new TimeoutError(`the queue's listening connection did not answer a ping within ${pingTimeoutMs} ms`)),
          pingTimeoutMs,
        );
      });
      Promise.race([candidate.query('SELECT 1'), timeout])
        .catch((error: unknown) => lost(error instanceof Error ? error : new ConnectionError(String(error))))
        .finally(() => clearTimeout(timer));
    }, pingIntervalMs);
    options.onListening((candidate as pg.Client & { processID: number }).processID);
  };

  void connect();
  return {
    get listening() {
      return listening;
    },
    close: async () => {
      closed = true;
      clearTimeout(retry);
      clearInterval(ping);
      listening = false;
      const open = client;
      client = undefined;
      if (!open) return;
      open.removeAllListeners('notification');
      // Bounded: a connection that went silent would make end() wait for the socket's timeout.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([open.end().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)))]);
      clearTimeout(timer);
    },
  };
}
