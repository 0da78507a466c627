/**
 * The adapter Kysely checks connections out through, and the orderly shutdown it makes possible.
 * A failed connect names the server and the cause; every query error becomes a typed error
 * (`mapDatabaseError`); a client whose session died (pg_terminate_backend, failover) is destroyed
 * on release rather than handed to the next query, because the FATAL error can arrive before the
 * socket closes; and `close()` refuses new and queued checkouts, waits for the rest, then cuts them.
 */
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import type { PoolSettings } from '../config.js';
import { connectError, DatabaseClosedError, isSessionFatal, mapDatabaseError, TimeoutError } from '../errors.js';

/** What `createCheckout()` returns. */
export interface Checkout {
  /** The pool as Kysely's dialect takes it. */
  pool: PostgresPool;
  /** See `Database.close()`. */
  close: (options?: { timeoutMs?: number }) => Promise<void>;
  /** True once `close()` was called. */
  isClosed: () => boolean;
}

/**
 * Wraps `pool` for Kysely. `target` (from `describeConnection`, so never a password) names the
 * server in connection errors.
 */
export function createCheckout(pool: pg.Pool, settings: PoolSettings, target: string): Checkout {
  // Track checked-out clients so close() can cut them loose after its grace period.
  const checkedOut = new Set<pg.PoolClient>();
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_err, client) => checkedOut.delete(client));
  pool.on('remove', (client) => checkedOut.delete(client));
  // Checkouts still queued when close() begins: pg-pool stops serving its queue once ending, so
  // they would wait out the connection timeout; close() refuses them at once instead. (Those
  // already opening a connection are in flight: they are served and drained like the rest.)
  const queued = new Set<(error: Error) => void>();
  // Clients close() cut loose after its grace period: their failing queries say why.
  const cut = new WeakSet<pg.PoolClient>();

  // pool.end() refuses new checkouts and resolves once every client is gone. It may run once
  // only, and Kysely calls it only if it ever checked out, so both paths share this promise.
  let ended: Promise<void> | undefined;
  const endPool = (): Promise<void> => (ended ??= pool.end());
  let closing: Promise<void> | undefined;

  const connect = async (): Promise<PostgresPoolClient> => {
    if (closing) throw new DatabaseClosedError();
    // Queued when no connection is idle and no new one may be opened; else it is served.
    const waits = pool.idleCount === 0 && pool.totalCount >= settings.max;
    const attempt = pool.connect();
    let refuse!: (error: Error) => void;
    const refused = new Promise<never>((_, reject) => (refuse = reject));
    refused.catch(() => undefined);
    if (waits) queued.add(refuse);
    let client: pg.PoolClient;
    try {
      client = await Promise.race([
        attempt.catch((error: unknown) => Promise.reject(connectError(error, target, settings.connectionTimeoutMs))),
        refused,
      ]);
    } catch (error) {
      if (error instanceof DatabaseClosedError)
        attempt.then(
          (late) => late.release(),
          () => undefined,
        );
      throw error;
    } finally {
      queued.delete(refuse);
    }
    let dead = false;
    return {
      query: ((...args: Parameters<pg.PoolClient['query']>) => {
        const result = client.query(...args) as unknown;
        if (!(result instanceof Promise)) return result; // a cursor
        return result.catch((error: unknown) => {
          dead ||= isSessionFatal(error);
          if (cut.has(client))
            throw new DatabaseClosedError('close() ended its grace period while this query was running: its connection was closed');
          throw mapDatabaseError(error);
        });
      }) as PostgresPoolClient['query'],
      // close() may have released it already (cut loose); pg throws on a second release.
      release: (destroy?: boolean) => {
        if (checkedOut.has(client)) client.release(destroy || dead);
      },
    };
  };

  const close = ({ timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<void> => {
    closing ??= (async () => {
      // Not db.destroy(): Kysely would then answer later queries with a bare "driver has already
      // been destroyed"; ending the pool is all it would do, and connect() above refuses instead.
      const done = endPool();
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
