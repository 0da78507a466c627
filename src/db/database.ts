/**
 * `createDatabase()`: configuration -> tuned pool -> `Kysely<DB>`, with an orderly `close()`.
 */
import { Kysely, type PostgresPool, type PostgresPoolClient, type Transaction } from 'kysely';
import type pg from 'pg';
import { resolveConfig, type ConfigOptions } from '../config.js';
import { describeConnection } from '../connection.js';
import { connectError, DatabaseClosedError, isSessionFatal, mapDatabaseError, TimeoutError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import * as agentResults from '../repositories/agent-results.js';
import * as auditLog from '../repositories/audit-log.js';
import * as businessIdeas from '../repositories/business-ideas.js';
import * as evaluations from '../repositories/evaluations.js';
import * as users from '../repositories/users.js';
import { bindRepository, type Bound } from './bind.js';
import { createHealthCheck, type HealthOptions, type HealthReport } from './health.js';
import { poolGauges, type PoolGauges } from './metrics.js';
import { createDialect, createPlugins } from './kysely.js';
import { createPool } from './pool.js';
import { createQueryLog, type QueryStats } from './query-log.js';
import { runTransaction, type TransactionOptions } from './transaction.js';
import type { DB } from '../schema/generated.js';

/** Options for `createDatabase()`. Everything is optional; the environment fills the rest. */
export interface CreateDatabaseOptions extends ConfigOptions {
  /**
   * Receives slow queries (warn), every query and failure (debug) and connection errors (warn).
   * Any pino-compatible logger. Default: silent.
   */
  logger?: Logger;
  /** Defaults for `health()`: timeout, migration state TTL, migrations folder. */
  health?: HealthOptions;
}

/** `database.stats()`: query counters, the query duration histogram and the pool gauges. */
export interface DatabaseStats extends QueryStats {
  pool: PoolGauges;
}

/** What `createDatabase()` returns. */
export interface Database {
  /** The typed query builder. */
  db: Kysely<DB>;
  /** The underlying pool, for figures (`totalCount`, `idleCount`, `waitingCount`) or raw access. */
  pool: pg.Pool;
  /**
   * Stops new checkouts, waits for checked-out connections to be released (up to `timeoutMs`,
   * default 10 s), then closes them all. Rejects with a `TimeoutError` if it had to cut
   * connections that were still in use. Safe to call more than once. Queries started afterwards
   * reject with a `DatabaseClosedError`, and `health()` reports `down`.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
  /**
   * Pings the server (bounded by `timeoutMs`, default 2 s) and compares the migration ledger with
   * the migration files (cached for `migrationsTtlMs`, default 10 s). Never throws; holds no secret.
   *
   * @example
   * ```ts
   * const { status, ready, latencyMs, pool, migrations } = await database.health();
   * ```
   */
  health(options?: HealthOptions): Promise<HealthReport>;
  /**
   * Runs `fn` in a transaction and commits, or rolls back if it throws. On a serialization
   * failure or deadlock (40001, 40P01) the whole callback runs again, up to `maxAttempts` (3).
   *
   * @example
   * ```ts
   * import { businessIdeas, evaluations } from '@ai-validation/data-layer';
   *
   * await database.transaction(async (trx) => {
   *   const idea = await businessIdeas.submitIdea(trx, ideaId);
   *   await evaluations.createEvaluation(trx, idea.id, { priority: 'high' });
   * }, { isolationLevel: 'serializable' });
   * ```
   */
  transaction<T>(fn: (trx: Transaction<DB>) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `fn` in a transaction whose changes the audit log attributes to `actorId`.
   *
   * @example
   * ```ts
   * await database.withActor(adminUserId, (trx) => users.softDeleteUser(trx, spammerId));
   * ```
   */
  withActor<T>(actorId: string, fn: (trx: Transaction<DB>) => Promise<T>, options?: Omit<TransactionOptions, 'actorId'>): Promise<T>;
  // --- row-level security (migration 20261125110000) ---
  /**
   * Runs `fn` in a transaction acting as `userId` (a UUID): through the app role, row-level
   * security shows and lets it change only that user's business ideas, evaluations and agent
   * results. The setting is transaction-local; the user is also the audit actor unless
   * `options.actorId` names another.
   *
   * @example
   * ```ts
   * const page = await database.withUser(session.userId, (trx) => businessIdeas.listIdeasByUser(trx, session.userId));
   * ```
   */
  withUser<T>(userId: string, fn: (trx: Transaction<DB>) => Promise<T>, options?: Omit<TransactionOptions, 'userId'>): Promise<T>;
  /**
   * Query counters since creation (queries, errors, slow queries), the query duration histogram
   * (`queryDurationMs`: cumulative buckets, sum, count) and the pool gauges (total, idle, waiting, max).
   *
   * @example
   * ```ts
   * const { queries, errors, queryDurationMs, pool } = database.stats();
   * ```
   */
  stats(): DatabaseStats;
  /** `src/repositories/users.ts` bound to this pool: `database.users.getUser(id)`. */
  users: Bound<typeof users>;
  /** `src/repositories/business-ideas.ts` bound to this pool. */
  businessIdeas: Bound<typeof businessIdeas>;
  /** `src/repositories/evaluations.ts` bound to this pool. */
  evaluations: Bound<typeof evaluations>;
  /** `src/repositories/agent-results.ts` bound to this pool. */
  agentResults: Bound<typeof agentResults>;
  /** `src/repositories/audit-log.ts` bound to this pool. */
  auditLog: Bound<typeof auditLog>;
}

/**
 * Creates the typed database handle over a tuned `pg.Pool`.
 *
 * @example
 * ```ts
 * import { createDatabase } from '@ai-validation/data-layer';
 *
 * const database = createDatabase(); // reads DATABASE_URL or PG*
 * const ideas = await database.db.selectFrom('businessIdeas').selectAll().limit(10).execute();
 * await database.close();
 * ```
 */
export function createDatabase(options: CreateDatabaseOptions = {}): Database {
  const { config, warnings } = resolveConfig(options);
  const { connection, pool: poolSettings } = config;
  const logger = options.logger ?? silentLogger;
  for (const warning of warnings) logger.warn({}, warning);
  const pool = createPool(connection, poolSettings, logger);

  // Track checked-out clients so close() can cut them loose after its grace period.
  const checkedOut = new Set<pg.PoolClient>();
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_err, client) => checkedOut.delete(client));
  pool.on('remove', (client) => checkedOut.delete(client as pg.PoolClient));
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

  // Kysely checks out through this adapter: a failed connect names the server and the cause;
  // every query error becomes a typed error (src/errors.ts); and a client whose session died
  // (pg_terminate_backend, failover) is destroyed on release rather than handed to the next
  // query, because the FATAL error can arrive before the socket closes.
  const target = describeConnection(connection);
  const checkout: PostgresPool = {
    connect: async () => {
      if (closing) throw new DatabaseClosedError();
      // Queued when no connection is idle and no new one may be opened; else it is served.
      const waits = pool.idleCount === 0 && pool.totalCount >= poolSettings.max;
      const attempt = pool.connect();
      let refuse!: (error: Error) => void;
      const refused = new Promise<never>((_, reject) => (refuse = reject));
      refused.catch(() => undefined);
      if (waits) queued.add(refuse);
      let client: pg.PoolClient;
      try {
        client = await Promise.race([
          attempt.catch((error: unknown) => Promise.reject(connectError(error, target, poolSettings.connectionTimeoutMs))),
          refused,
        ]);
      } catch (error) {
        if (error instanceof DatabaseClosedError) attempt.then((late) => late.release(), () => undefined);
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
            if (cut.has(client)) throw new DatabaseClosedError('close() ended its grace period while this query was running: its connection was closed');
            throw mapDatabaseError(error);
          });
        }) as PostgresPoolClient['query'],
        // close() may have released it already (cut loose); pg throws on a second release.
        release: (destroy?: boolean) => {
          if (checkedOut.has(client)) client.release(destroy || dead);
        },
      };
    },
    end: endPool,
  };
  const queryLog = createQueryLog(logger, config.queryLog);
  const db = new Kysely<DB>({ dialect: createDialect(checkout), plugins: createPlugins(), log: queryLog.log });

  let closing: Promise<void> | undefined;
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

  return {
    db,
    pool,
    close,
    transaction: (fn, transactionOptions) => runTransaction(db, fn, transactionOptions),
    withActor: (actorId, fn, transactionOptions) => runTransaction(db, fn, { ...transactionOptions, actorId }),
    withUser: (userId, fn, transactionOptions) => runTransaction(db, fn, { ...transactionOptions, userId }), // row-level security
    health: createHealthCheck(
      { pool, poolSettings, connection, migrationConnection: config.migrationConnection, isClosed: () => closing !== undefined, logger },
      options.health,
    ),
    stats: () => ({ ...queryLog.stats(), pool: poolGauges(pool, poolSettings.max) }),
    users: bindRepository(users, db),
    businessIdeas: bindRepository(businessIdeas, db),
    evaluations: bindRepository(evaluations, db),
    agentResults: bindRepository(agentResults, db),
    auditLog: bindRepository(auditLog, db),
  };
}
