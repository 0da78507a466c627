/**
 * `createDatabase()`: the configuration, resolved once -> a tuned pool -> the Kysely handles of
 * the four calling paths (see src/repositories/executor.ts), transactions, health, stats and an
 * orderly `close()`.
 */
import { Kysely, type LogEvent, type PostgresPool, type Transaction } from 'kysely';
import type pg from 'pg';
import { resolveConfig, type ConfigOptions, type PoolSettings } from '../config.js';
import { describeConnection, type ConnectionSettings } from '../connection.js';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { runCompiledThrough } from '../repositories/compiled.js';
import { asExecutor, type Executor, type Scope } from '../repositories/executor.js';
import { identify, identityOf } from '../telemetry.js';
import type { DB } from '../schema/generated.js';
import type { Role, RoleDB } from '../schema/roles.js';
import { createCheckout } from './checkout.js';
import { directRun } from './direct.js';
import { createHealthCheck, type HealthOptions, type HealthReport } from './health.js';
import { poolInstruments, queryInstruments } from './instruments.js';
import { createDialect, createPlugins } from './kysely.js';
import { poolGauges, type PoolGauges } from './metrics.js';
import { createPool } from './pool.js';
import { createQueryLog, type QueryStats } from './query-log.js';
import { createRouter, type RoutingStats } from './replicas.js';
import { scopedPool } from './scopes.js';
import { runTransaction, type TransactionOptions } from './transaction.js';

/** Options for `createDatabase()`. Everything is optional; the environment fills the rest. */
export interface CreateDatabaseOptions<R extends Role = 'owner'> extends ConfigOptions {
  /**
   * The role the connection works as: `owner` (default; every calling path), `app` (`withUser`
   * and `anonymous`) or `worker` (`worker`). The handle then offers only that role's paths, and
   * its Kysely types only the tables the role may query (`RoleDB<R>`), so a query the role would
   * be refused (42501) does not compile.
   */
  role?: R | null;
  /**
   * Receives slow queries (warn), every query and failure (debug) and connection errors (warn).
   * Any pino-compatible logger. Default: silent.
   */
  logger?: Logger | null;
  /** Defaults for `health()`: timeout, migration state TTL, migrations folder. */
  health?: HealthOptions | null;
}

/** `database.stats()`: query counters, the query duration histogram and the pool gauges. */
export interface DatabaseStats extends QueryStats {
  pool: PoolGauges;
  /** With replicas: where reads went, and each standby's status, reads and pool (docs/replicas.md). */
  routing?: RoutingStats;
}

/** The calling paths of a handle made for role `R`. */
export type RolePaths<R extends Role> = R extends 'app' ? 'user' | 'anonymous' : R extends 'worker' ? 'worker' : Scope;

/**
 * `database.primary`: the handle's paths (not `withUser`, whose transactions already run there)
 * with every query on the primary, replicas or not: reads that must see the latest write of
 * another process, or that lead to a write.
 */
export type PrimaryPaths<R extends Role = 'owner'> = { db: Kysely<RoleDB<R>> } & (R extends 'app'
  ? Pick<UserPaths, 'anonymous'>
  : R extends 'worker'
    ? WorkerPath
    : Pick<UserPaths, 'anonymous'> & WorkerPath & OwnerPath);

/** What every `Database` has, whatever its role: transactions, raw queries, the pool, health, stats, close. */
export interface DatabaseBase<R extends Role> {
  /**
   * Runs `fn` in a transaction on `executor`'s path and commits, or rolls back if it throws. On a
   * serialization failure or deadlock (40001, 40P01) the whole callback runs again, up to
   * `maxAttempts` (3). With `db` (your own queries) the transaction is an ordinary Kysely one.
   *
   * @example
   * ```ts
   * await database.transaction(database.owner, async (trx) => {
   *   await users.softDeleteUser(trx, spammerId);
   *   await businessIdeas.archiveIdea(trx, ideaId);
   * }, { isolationLevel: 'serializable', actorId: adminUserId });
   * ```
   */
  transaction<E extends Executor<RolePaths<R>>, T>(
    executor: E,
    fn: (trx: E) => Promise<T>,
    options?: TransactionOptions | null,
  ): Promise<T>;
  transaction<T>(db: Kysely<RoleDB<R>>, fn: (trx: Transaction<RoleDB<R>>) => Promise<T>, options?: TransactionOptions | null): Promise<T>;
  /**
   * The typed query builder over the pool, for queries of your own, with the tables role `R` may
   * query. Repository functions do not take it: through the application role it runs without a
   * user, and row-level security then shows no ideas, evaluations or agent results.
   */
  db: Kysely<RoleDB<R>>;
  /** The underlying pool, for figures (`totalCount`, `idleCount`, `waitingCount`) or raw access. */
  pool: pg.Pool;
  /**
   * The same paths, every query on the primary. With replicas configured (`replicas`,
   * `DATABASE_REPLICA_URLS`), reads outside a transaction on `owner`, `worker`, `anonymous` and
   * `db` go to a healthy standby; these never do. Without replicas they are the handle's own paths.
   *
   * @example
   * ```ts
   * const fresh = await users.getUser(database.primary.owner, userId); // not from a standby
   * ```
   */
  primary: PrimaryPaths<R>;
  /**
   * Pings the server (bounded by `timeoutMs`, default 2 s) and compares the migration ledger with
   * the migration files (cached for `migrationsTtlMs`, default 10 s). Never throws; holds no secret.
   *
   * @example
   * ```ts
   * const { status, ready, latencyMs, pool, migrations } = await database.health();
   * ```
   */
  health(options?: HealthOptions | null): Promise<HealthReport>;
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
  /**
   * Stops new checkouts, waits for checked-out connections to be released (up to `timeoutMs`,
   * default 10 s), then closes them all. Rejects with a `TimeoutError` if it had to cut
   * connections that were still in use. Safe to call more than once. Queries started afterwards
   * reject with a `DatabaseClosedError`, and `health()` reports `down`.
   */
  close(options?: { timeoutMs?: number } | null): Promise<void>;
}

/** The application's paths (roles `app` and `owner`): acting for a user, and before any user is known. */
export interface UserPaths {
  /**
   * Acts for a signed-in user: runs `fn` in a transaction in which, through the application role,
   * row-level security shows and lets it change only that user's business ideas, evaluations
   * and agent results. The user (a UUID) is transaction-local and is also the audit actor unless
   * `options.actorId` names another. Retries like `transaction()`.
   *
   * @example
   * ```ts
   * const page = await database.withUser(session.userId, (trx) => businessIdeas.listIdeasByUser(trx, session.userId));
   * ```
   */
  withUser<T>(userId: string, fn: (trx: Executor<'user'>) => Promise<T>, options?: TransactionOptions | null): Promise<T>;
  /**
   * No user yet: sign-up and login. Only the users repository takes it (the users table is not
   * filtered by row-level security).
   *
   * @example
   * ```ts
   * const { id, passwordHash } = await users.getUserCredentials(database.anonymous, form.email);
   * ```
   */
  anonymous: Executor<'anonymous'>;
}

/** The evaluation workers' path (roles `worker` and `owner`). */
export interface WorkerPath {
  /**
   * The evaluation workers' path (a role in `ai_validation_worker`): the queue and the work in
   * flight, for every user. Its first query is refused with a `ConfigError` when the role is
   * neither a worker nor the tables' owner, instead of seeing nothing.
   *
   * @example
   * ```ts
   * const evaluation = await evaluations.claimNext(database.worker, workerId);
   * ```
   */
  worker: Executor<'worker'>;
}

/** The owner's path (role `owner` only). */
export interface OwnerPath {
  /**
   * The owner's path (the role that owns the tables: migrations, seeds, operators' tools): every
   * row, unfiltered. Its first query is refused with a `ConfigError` when row-level security
   * filters the role, instead of seeing nothing.
   *
   * @example
   * ```ts
   * const page = await users.listUsers(database.owner, { includeDeleted: true });
   * ```
   */
  owner: Executor<'owner'>;
}

/**
 * What `createDatabase()` returns. Repository functions take one of its calling paths first:
 * `withUser`'s transaction, `worker`, `owner` or (users only) `anonymous`. `Database<'app'>` and
 * `Database<'worker'>` (from `createDatabase({ role })`) have only their role's paths.
 */
export type Database<R extends Role = 'owner'> = DatabaseBase<R> &
  (R extends 'app' ? UserPaths : R extends 'worker' ? WorkerPath : UserPaths & WorkerPath & OwnerPath);

const ROLES: readonly Role[] = ['owner', 'app', 'worker'];

/** How a handle connects: what a dedicated connection beside its pool needs to connect the same way. */
export interface DirectSession {
  connection: ConnectionSettings;
  pool: PoolSettings;
  logger: Logger;
}

const directSessions = new WeakMap<object, DirectSession>();

/**
 * The settings (server, credentials, TLS, timeouts, application name) and logger of a handle made
 * by `createDatabase()`, for a connection of its own outside the pool (the queue worker's
 * LISTEN connection); undefined for any other object. Internal: not exported from index.ts.
 */
export function directSessionOf(database: object): DirectSession | undefined {
  return directSessions.get(database);
}

const replicaPools = new WeakMap<object, pg.Pool[]>();

/**
 * The standbys' pools of a handle made with replicas (empty otherwise), for figures beside
 * `database.pool` (the benchmark counts their connections). Internal: not exported from index.ts.
 */
export function replicaPoolsOf(database: object): pg.Pool[] {
  return replicaPools.get(database) ?? [];
}

/**
 * Creates the typed database handle over a tuned `pg.Pool`.
 *
 * @example
 * ```ts
 * import { businessIdeas, createDatabase } from '@ai-validation/data-layer';
 *
 * const database = createDatabase(); // reads DATABASE_URL or PG*
 * const idea = await database.withUser(userId, (trx) => businessIdeas.getIdea(trx, ideaId));
 * await database.close();
 * ```
 */
export function createDatabase<R extends Role = 'owner'>(given?: CreateDatabaseOptions<R> | null): Database<R> {
  const options = given ?? {};
  const role = options.role ?? 'owner';
  if (!ROLES.includes(role)) {
    throw new ConfigError([
      {
        variable: 'role',
        message: `must be one of ${ROLES.join(', ')}; got ${typeof role === 'string' ? JSON.stringify(role) : typeof role}`,
      },
    ]);
  }
  const { config, warnings } = resolveConfig(options);
  const { connection, pool: poolSettings } = config;
  const logger = options.logger ?? silentLogger;
  for (const warning of warnings) logger.warn({}, warning);
  const pool = createPool(connection, poolSettings, logger);
  const checkout = createCheckout(pool, poolSettings, describeConnection(connection), poolInstruments(pool, poolSettings, connection));
  const queryLog = createQueryLog(logger, config.queryLog);
  // Standbys: each with its own pool and checkout; the router picks one per checkout (replicas.ts).
  const replicaSettings = config.replicas;
  const standbyPools: pg.Pool[] = [];
  const router =
    replicaSettings && replicaSettings.connections.length > 0
      ? createRouter({
          primary: checkout,
          primaryPool: pool,
          primaryName: describeConnection(connection),
          settings: replicaSettings,
          logger,
          replicas: replicaSettings.connections.map((replica) => {
            const replicaPool = createPool(replica, poolSettings, logger);
            standbyPools.push(replicaPool);
            const name = describeConnection(replica);
            const replicaCheckout = createCheckout(replicaPool, poolSettings, name, poolInstruments(replicaPool, poolSettings, replica));
            return { name, pool: replicaPool, checkout: replicaCheckout, max: poolSettings.max };
          }),
        })
      : undefined;
  const routed = router?.pool ?? checkout.pool;
  const recordQuery = queryInstruments(connection);
  const log = recordQuery
    ? (event: LogEvent) => {
        queryLog.log(event);
        recordQuery(event);
      }
    : queryLog.log;
  // One pool; a Kysely instance per check on it (the owner and worker paths verify the role once).
  const kysely = (over: PostgresPool) => {
    const handle = new Kysely<DB>({ dialect: createDialect(over), plugins: createPlugins(), log });
    runCompiledThrough(handle, directRun(over, log));
    return handle;
  };
  const db = kysely(routed);
  const path = <S extends Scope>(handle: Kysely<DB>, scope: S): Executor<S> => {
    identify(handle, { path: scope });
    return asExecutor<S>(handle);
  };

  const userPaths: UserPaths = {
    withUser: (userId, fn, transactionOptions) =>
      runTransaction(
        db,
        (trx) => {
          identify(trx, { path: 'user', userId });
          return fn(asExecutor(trx));
        },
        transactionOptions,
        { userId },
      ),
    anonymous: path(kysely(routed), 'anonymous'),
  };
  const workerPath = (over: PostgresPool): WorkerPath => ({ worker: path(kysely(scopedPool(over, 'worker')), 'worker') });
  const ownerPath = (over: PostgresPool): OwnerPath => ({ owner: path(kysely(scopedPool(over, 'owner')), 'owner') });
  const rolePaths = (over: PostgresPool, anonymous: Executor<'anonymous'>) =>
    role === 'app' ? { anonymous } : role === 'worker' ? workerPath(over) : { anonymous, ...workerPath(over), ...ownerPath(over) };
  const paths =
    role === 'app' ? userPaths : role === 'worker' ? workerPath(routed) : { ...userPaths, ...workerPath(routed), ...ownerPath(routed) };
  // Without replicas every path is the primary's already: database.primary reuses them.
  const { withUser: _withUser, ...ownPaths } = paths as Partial<UserPaths>;
  const primary = (
    router
      ? { db: kysely(router.primaryPool), ...rolePaths(router.primaryPool, path(kysely(router.primaryPool), 'anonymous')) }
      : { db, ...ownPaths }
  ) as PrimaryPaths;
  const base: DatabaseBase<'owner'> = {
    transaction: <T>(executor: Kysely<DB>, fn: (trx: never) => Promise<T>, transactionOptions?: TransactionOptions | null) =>
      runTransaction(
        executor,
        (trx) => {
          identify(trx, identityOf(executor));
          return (fn as (trx: Transaction<DB>) => Promise<T>)(trx);
        },
        transactionOptions,
      ),
    db,
    pool,
    primary,
    health: createHealthCheck(
      {
        pool,
        poolSettings,
        connection,
        migrationConnection: config.migrationConnection,
        isClosed: checkout.isClosed,
        logger,
        ...(router ? { replicas: router } : {}),
      },
      options.health ?? undefined,
    ),
    stats: () => ({
      ...queryLog.stats(),
      pool: poolGauges(pool, poolSettings.max),
      ...(router ? { routing: router.stats() } : {}),
    }),
    close: router
      ? async (closeOptions) => {
          const [own, replicas] = await Promise.allSettled([checkout.close(closeOptions), router.close(closeOptions)]);
          if (own.status === 'rejected') throw own.reason;
          if (replicas.status === 'rejected') throw replicas.reason;
        }
      : checkout.close,
  };
  // Only the role's paths exist; RoleDB<R> narrows the same handles in the type alone.
  const handle = { ...paths, ...base };
  directSessions.set(handle, { connection, pool: poolSettings, logger });
  if (standbyPools.length > 0) replicaPools.set(handle, standbyPools);
  return handle as unknown as Database<R>;
}
