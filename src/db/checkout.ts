/**
 * The adapter Kysely checks connections out through, and the orderly shutdown it makes possible.
 *
 * - A failed connect names the server and the cause; a checkout that waited out the timeout
 *   because every connection stayed in use says so, with the pool's figures.
 * - Every query error becomes a typed error (`mapDatabaseError`).
 * - A client whose session died (pg_terminate_backend, failover, a socket error) or that gave no
 *   answer within the query timeout is destroyed on release, never handed to the next query; after
 *   a timeout every later query on it fails at once (a ROLLBACK must not wait out the timeout again).
 * - A query that timed out means the path to the server may be silent: every connection opened
 *   before it is discarded at its next checkout, so new calls use new connections.
 * - A plain SELECT outside a transaction whose connection was lost in transit (reset, closed, or
 *   silent past the query timeout) is retried once on another connection: reads are idempotent.
 *   Writes are never retried (their outcome is unknown), nor is a read whose session the server
 *   ended on purpose (57P01: pg_terminate_backend or a shutdown, which may be a runaway query's end).
 * - Queries run as named prepared statements (statements.ts) unless `preparedStatements` is off;
 *   one whose statement went stale after a schema change runs once more outside a transaction.
 * - A checkout that has to wait for a connection waits in one of two lanes, served as connections
 *   are released: urgent checkouts (`urgently()`, repositories/priority.ts: the queue's claim)
 *   before ordinary ones, each lane in arrival order. pg-pool's own queue is FIFO, so checkouts enter
 *   it only when a connection is free for them.
 * - `close()` refuses new and queued checkouts, waits for the rest, then cuts them.
 */
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import type { PoolSettings } from '../config.js';
import {
  connectError,
  ConnectionError,
  DatabaseClosedError,
  isServerError,
  isSessionFatal,
  mapDatabaseError,
  QUERY_READ_TIMEOUT_MESSAGE,
  TimeoutError,
} from '../errors.js';
import { checkoutIsUrgent } from '../repositories/priority.js';
import type { PoolInstruments } from './instruments.js';
import { queryTimeoutMs, transactionLocals, usesNamedStatements } from './pool.js';
import { createStatements } from './statements.js';

/** What `createCheckout()` returns. */
export interface Checkout {
  /** The pool as Kysely's dialect takes it. */
  pool: PostgresPool;
  /** See `Database.close()`. */
  close: (options?: { timeoutMs?: number } | null) => Promise<void>;
  /** True once `close()` was called. */
  isClosed: () => boolean;
}

type QueryArgs = Parameters<pg.PoolClient['query']>;

/** A connection lost on the way (socket error, closed, silent), not a session the server ended on purpose. */
const lostInTransit = (error: unknown): boolean => {
  if (!(error instanceof ConnectionError || error instanceof TimeoutError)) return false;
  return !isServerError(error.cause) || !error.cause.code.startsWith('57P01');
};

/** The getter `name` of `object`'s class (found along its prototype chain), bound to it. */
function ownGetter(object: object, name: string): () => number {
  for (let proto = Object.getPrototypeOf(object) as object | null; proto; proto = Object.getPrototypeOf(proto) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor?.get) return () => Reflect.get(proto, name, object) as number;
  }
  throw new Error(`the pool has no ${name} getter`);
}

/** The statement text of a `client.query()` call, or undefined for a submittable (a cursor, a COPY stream). */
const textOf = (args: QueryArgs): string | undefined => {
  const [first] = args as unknown[];
  if (typeof first === 'string') return first;
  const config = first as { text?: unknown; submit?: unknown } | undefined;
  return typeof config?.submit === 'function' ? undefined : typeof config?.text === 'string' ? config.text : undefined;
};

/**
 * Wraps `pool` for Kysely. `target` (from `describeConnection`, so never a password) names the
 * server in connection errors.
 */
export function createCheckout(pool: pg.Pool, settings: PoolSettings, target: string, instruments?: PoolInstruments): Checkout {
  const answerWithinMs = queryTimeoutMs(settings);
  const statements = usesNamedStatements(settings) ? createStatements(settings.preparedStatementsMax) : undefined;
  // Behind a transaction pooler: the timeouts, sent with each BEGIN (pool.ts).
  const locals = transactionLocals(settings);
  // Track checked-out clients so close() can cut them loose after its grace period.
  const checkedOut = new Set<pg.PoolClient>();
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_err, client) => checkedOut.delete(client));
  pool.on('remove', (client) => checkedOut.delete(client));
  // When each client was opened, and the moment before which clients are no longer trusted.
  const openedAt = new WeakMap<pg.PoolClient, number>();
  pool.on('connect', (client) => openedAt.set(client, performance.now()));
  let distrustBefore = -Infinity;
  // Checkouts still queued when close() begins: pg-pool stops serving its queue once ending, so
  // they would wait out the connection timeout; close() refuses them at once instead. (Those
  // already opening a connection are in flight: they are served and drained like the rest.)
  const queued = new Set<(error: Error) => void>();
  // Clients close() cut loose after its grace period: their failing queries say why.
  const cut = new WeakSet<pg.PoolClient>();

  // The waiting checkouts, urgent ones first. Each is let into pg-pool (admitted: pool.connect())
  // only when a connection is there for it: one per release (pg-pool emits 'release' before the
  // client goes back to idle, or away, and it then serves its own queue's first item with it),
  // and as many as there is room for when a client was removed (a new one may be opened).
  const urgentLane: (() => void)[] = [];
  const ordinaryLane: (() => void)[] = [];
  const waiting = (): number => urgentLane.length + ordinaryLane.length;
  const admitNext = (): void => (urgentLane.shift() ?? ordinaryLane.shift())?.();
  // pg-pool's own queue; the pool's waitingCount (gauges, health, errors) counts the lanes too.
  const pgWaiting = ownGetter(pool, 'waitingCount');
  Object.defineProperty(pool, 'waitingCount', { configurable: true, get: () => pgWaiting() + waiting() });
  // Connections free for a checkout that would not wait in pg-pool's queue.
  const room = (): number => pool.idleCount + (settings.max - pool.totalCount) - pgWaiting();
  const admitWhileRoom = (): void => {
    while (waiting() > 0 && room() > 0) admitNext();
  };
  pool.on('release', () => {
    if (waiting() > 0) admitNext();
  });
  // A client removed, or one that failed to connect (pg-pool emits nothing then), leaves room.
  pool.on('remove', admitWhileRoom);

  // pool.end() refuses new checkouts and resolves once every client is gone. It may run once
  // only, and Kysely calls it only if it ever checked out, so both paths share this promise.
  let ended: Promise<void> | undefined;
  const endPool = (): Promise<void> => (ended ??= pool.end());
  let closing: Promise<void> | undefined;

  /** A pool client that is not distrusted, or a typed error. */
  const acquire = async (urgent: boolean): Promise<pg.PoolClient> => {
    for (;;) {
      const client = await checkoutOnce(urgent);
      if ((openedAt.get(client) ?? -Infinity) >= distrustBefore) return client;
      client.release(true); // opened before a silent failure: discard it, take the next
    }
  };

  const checkoutOnce = (urgent: boolean): Promise<pg.PoolClient> => {
    if (closing) return Promise.reject(new DatabaseClosedError());
    // Queued when no connection is free for it (or others already wait); else it is served.
    const waits = waiting() > 0 || room() <= 0;
    const started = performance.now();
    if (waits) return queuedCheckout(started, urgent);
    // Served at once (or by a connection being opened): close() has nothing to refuse.
    return pool.connect().then(
      (client) => {
        instruments?.waited((performance.now() - started) / 1000);
        return client;
      },
      (error: unknown) => {
        admitWhileRoom();
        const typed = checkoutError(error, false);
        if (typed instanceof TimeoutError) instruments?.timedOut();
        throw typed;
      },
    );
  };

  /**
   * A checkout that waits in its lane for a connection to be released, at most the connection
   * timeout in all: close() refuses it at once.
   */
  const queuedCheckout = async (started: number, urgent: boolean): Promise<pg.PoolClient> => {
    let attempt: Promise<pg.PoolClient> | undefined;
    let refuse!: (error: Error) => void;
    const refused = new Promise<never>((_, reject) => (refuse = reject));
    refused.catch(() => undefined);
    queued.add(refuse);
    const lane = urgent ? urgentLane : ordinaryLane;
    let admit: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const served = new Promise<pg.PoolClient>((resolve, reject) => {
      admit = () => {
        attempt = pool.connect();
        attempt.then(resolve, (error: unknown) => {
          admitWhileRoom();
          reject(checkoutError(error, true));
        });
      };
      lane.push(admit);
      timer = setTimeout(
        () => reject(checkoutError(new Error('timeout exceeded when trying to connect'), true)),
        settings.connectionTimeoutMs,
      );
    });
    try {
      const client = await Promise.race([served, refused]);
      instruments?.waited((performance.now() - started) / 1000);
      return client;
    } catch (error) {
      if (error instanceof TimeoutError) instruments?.timedOut();
      // Admitted but given up (timed out, or refused by close()): its connection goes back when it comes.
      attempt?.then(
        (late) => late.release(),
        () => undefined,
      );
      throw error;
    } finally {
      clearTimeout(timer);
      const at = lane.indexOf(admit!);
      if (at >= 0) lane.splice(at, 1);
      queued.delete(refuse);
    }
  };

  /** A failed checkout: a pool that stayed saturated, or a server that could not be reached. */
  const checkoutError = (error: unknown, waited: boolean): Error => {
    if (waited && /timeout/i.test((error as Error | undefined)?.message ?? '') && !(error as { code?: string }).code) {
      return new TimeoutError(
        `no pool connection became free within ${settings.connectionTimeoutMs} ms (DATABASE_CONNECTION_TIMEOUT_MS): ` +
          `the pool was saturated, ${pool.totalCount} of ${settings.max} connections in use (DATABASE_POOL_MAX) and ` +
          `${pool.waitingCount} checkouts waiting; the server was not what failed`,
        { cause: error, code: 'POOL_EXHAUSTED' },
      );
    }
    return connectError(error, target, settings.connectionTimeoutMs);
  };

  /** The typed error of a failed query; a query timeout also distrusts every connection opened before it. */
  const queryError = (error: unknown, client: pg.PoolClient): unknown => {
    if (cut.has(client))
      return new DatabaseClosedError('close() ended its grace period while this query was running: its connection was closed');
    if ((error as Error | undefined)?.message === QUERY_READ_TIMEOUT_MESSAGE) {
      distrustBefore = performance.now();
      return new TimeoutError(
        `the server gave no answer within ${answerWithinMs} ms (DATABASE_QUERY_TIMEOUT_MS): the connection was closed, ` +
          'and a write may or may not have taken effect',
        { cause: error },
      );
    }
    return mapDatabaseError(error, target);
  };

  /**
   * One checkout as Kysely's driver (and direct.ts) holds it. A class, so that a checkout costs one
   * object rather than a set of closures.
   */
  class Lease {
    private readonly borrowed = performance.now();
    private dead = false;
    // The error that lost the connection: Kysely's ROLLBACK after it fails too, and Kysely reports
    // the ROLLBACK's error; the one that lost the connection is the one worth reporting.
    private lost: Error | undefined;
    // A connection that went silent would make the next statement (the ROLLBACK) wait out the query
    // timeout again: it fails at once instead.
    private silent = false;
    private inTransaction = false;

    constructor(private client: pg.PoolClient) {}

    query(...args: QueryArgs): Promise<unknown> {
      const text = textOf(args);
      if (text === undefined) return (this.client.query as (...query: QueryArgs) => Promise<unknown>)(...args); // a cursor: it reports its own errors
      if (/^(begin|start transaction)\b/i.test(text)) {
        this.inTransaction = true;
        const values = (args as unknown[])[1];
        if (locals !== undefined && (values === undefined || (Array.isArray(values) && values.length === 0))) {
          // One simple-query message, two results: Kysely reads nothing from a BEGIN's.
          const begin = [`${text}; ${locals}`] as unknown as QueryArgs;
          return this.send(begin, text, false).then((results) => (Array.isArray(results) ? (results[0] as unknown) : results));
        }
      } else if (/^(commit|rollback)\b/i.test(text)) this.inTransaction = false;
      return this.send(args, text, !this.inTransaction && /^select\b/i.test(text));
    }

    // close() may have released it already (cut loose); pg throws on a second release.
    release(destroy?: boolean): void {
      instruments?.used((performance.now() - this.borrowed) / 1000);
      if (checkedOut.has(this.client)) this.client.release(destroy || this.dead);
    }

    private async send(args: QueryArgs, text: string, retriable: boolean): Promise<unknown> {
      try {
        return await this.run(args, text, true);
      } catch (error) {
        if (!retriable || !this.dead || closing || cut.has(this.client) || !lostInTransit(error)) throw error;
        // The read never changed anything: run it once more on another connection.
        this.client.release(true);
        this.client = await acquire(false);
        this.dead = this.silent = false;
        this.lost = undefined;
        return this.run(args, text, true);
      }
    }

    private async run(args: QueryArgs, text: string, mayReprepare: boolean): Promise<unknown> {
      if (this.silent) throw this.lost!;
      const client = this.client;
      try {
        const prepared = statements ? statements.prepare(client, args) : args;
        return await (client.query as (...query: QueryArgs) => Promise<unknown>).apply(
          client,
          prepared instanceof Promise ? await prepared : prepared,
        );
      } catch (error) {
        // A stale statement did nothing: outside a transaction it is prepared again and run once more.
        const stale = statements && !isSessionFatal(error) && (await statements.forgetStale(client, args, error).catch(() => false));
        if (stale && mayReprepare && !this.inTransaction) return this.run(args, text, false);
        this.dead = isSessionFatal(error);
        if (this.lost && /^rollback\b/i.test(text)) throw this.lost;
        let typed = queryError(error, client);
        if (this.dead && typed instanceof ConnectionError && !/^(select|rollback)\b/i.test(text)) {
          // A write or COMMIT whose answer was lost may have taken effect.
          typed = new ConnectionError(`${typed.message}; the statement may or may not have taken effect`, { cause: error });
        }
        if (this.dead) this.lost ??= typed as Error;
        this.silent ||= (error as Error | undefined)?.message === QUERY_READ_TIMEOUT_MESSAGE;
        throw typed;
      }
    }
  }

  // checkoutIsUrgent() is read at the call, synchronously: urgently() marks only the checkouts its call starts before its first await.
  const connect = (): Promise<PostgresPoolClient> =>
    acquire(checkoutIsUrgent()).then((client) => new Lease(client) as unknown as PostgresPoolClient);

  const close = (options?: { timeoutMs?: number } | null): Promise<void> => {
    const timeoutMs = options?.timeoutMs ?? 10_000;
    closing ??= (async () => {
      // Not db.destroy(): Kysely would then answer later queries with a bare "driver has already
      // been destroyed"; ending the pool is all it would do, and connect() above refuses instead.
      const done = endPool();
      instruments?.stop();
      for (const refuse of queued) refuse(new DatabaseClosedError());
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        done.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!timedOut) return;
      const inUse = checkedOut.size;
      for (const client of checkedOut) {
        cut.add(client);
        client.release(new Error('database is closing'));
      }
      await done;
      throw new TimeoutError(`close(): ${inUse} connection(s) were still in use after ${timeoutMs} ms and were closed`);
    })();
    return closing;
  };

  return { pool: { connect, end: endPool }, close, isClosed: () => closing !== undefined };
}
