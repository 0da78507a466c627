/**
 * The tuned `pg.Pool`: timeouts, keepalive, recycling, per-pool type parsers that match the
 * generated types, and error listeners so a dropped connection never crashes the process.
 */
import pg from 'pg';
import type { PoolSettings } from '../config.js';
import { connectionOptions, type ConnectionSettings } from '../connection.js';
import { PgErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { checkPoolerTimeouts } from './pooler-timeouts.js';
import { sessionClient } from './session-attrs.js';

const { types } = pg;

/**
 * The TypeScript type each parsed PostgreSQL type arrives as: kysely-codegen's `typeMapping`
 * (`kysely.config.ts` imports it), so the generated types describe what the parsers below return.
 */
export const PARSED_TYPES = { int8: 'number', numeric: 'number', date: 'string' } as const;

/**
 * Parsers for the types whose node-postgres default would not match `PARSED_TYPES`. Per pool,
 * never global: other pg users in the same process keep their own behaviour.
 */
const parsers = new Map<number, (value: string) => unknown>([
  // int8: counts and sums. A silent precision loss is worse than a loud failure.
  [types.builtins.INT8, parseSafeInteger],
  // numeric: scores and averages, all well inside a double's 15 significant digits.
  [types.builtins.NUMERIC, Number],
  // date: a calendar day, not an instant; a Date would shift it by the process's time zone.
  [types.builtins.DATE, (value) => value],
]);

export const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    (format ?? 'text') === 'text' && parsers.has(oid)
      ? parsers.get(oid)
      : types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

function parseSafeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

/** How long a query may wait for its answer before the client gives up on it (0 = no bound). */
export function queryTimeoutMs(pool: PoolSettings): number {
  return pool.queryTimeoutMs ?? (pool.statementTimeoutMs > 0 ? pool.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS : 0);
}

/** How much longer than the server's statement timeout the client waits by default. */
const QUERY_TIMEOUT_MARGIN_MS = 5000;

/**
 * The settings of an application session: the connection, the pool's timeouts and keepalive, the
 * type parsers. Directly, the server-side timeouts are startup parameters; behind a transaction
 * pooler they are not (PgBouncer refuses them, or with `ignore_startup_parameters` drops them
 * silently): every transaction sets them instead (`transactionLocals`), and `application_name`,
 * which PgBouncer keeps per client, is the only parameter sent.
 */
export function sessionOptions(connection: ConnectionSettings, pool: PoolSettings): pg.ClientConfig {
  const queryTimeout = queryTimeoutMs(pool);
  return {
    ...connectionOptions(connection),
    application_name: pool.applicationName,
    ...(pool.pooler === 'transaction'
      ? {}
      : { statement_timeout: pool.statementTimeoutMs, idle_in_transaction_session_timeout: pool.idleInTransactionTimeoutMs }),
    ...(queryTimeout > 0 ? { query_timeout: queryTimeout } : {}),
    connectionTimeoutMillis: pool.connectionTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: pool.keepAliveInitialDelayMs,
    types: typeParsers,
  };
}

/** Whether queries run as named prepared statements: behind a transaction pooler only when it keeps them (`poolerPreparedStatements`). */
export function usesNamedStatements(pool: PoolSettings): boolean {
  return pool.preparedStatements && (pool.pooler !== 'transaction' || pool.poolerPreparedStatements);
}

/**
 * Behind a transaction pooler, the statement that follows every `BEGIN` (in the same simple-query
 * message, so it costs no round trip): the server-side timeouts as transaction-local settings, which
 * end with the transaction and so never reach the next client of the server session. Undefined
 * directly (the session has them from its startup parameters).
 */
export function transactionLocals(pool: PoolSettings): string | undefined {
  if (pool.pooler !== 'transaction') return undefined;
  return (
    `SELECT pg_catalog.set_config('statement_timeout', '${pool.statementTimeoutMs}', true), ` +
    `pg_catalog.set_config('idle_in_transaction_session_timeout', '${pool.idleInTransactionTimeoutMs}', true)`
  );
}

/**
 * Creates the tuned pool. Errors on idle clients (server restart, `pg_terminate_backend`) and
 * on checked-out clients are logged, not thrown: the pool discards the broken client and the
 * query that was using it rejects as usual.
 */
export function createPool(connection: ConnectionSettings, settings: PoolSettings, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    ...sessionOptions(connection, settings),
    ...sessionClient(connection), // target_session_attrs=read-write|primary: checked per connection (session-attrs.ts)
    max: settings.max,
    idleTimeoutMillis: settings.idleTimeoutMs,
    maxLifetimeSeconds: settings.maxLifetimeSeconds,
  });
  // An idle client's error is emitted on the pool (and the client is removed).
  pool.on('error', (err) => logger.warn({ err, code: codeOf(err) }, 'idle database connection failed; it was discarded'));
  // A checked-out client emits on itself; without a listener Node would crash the process.
  pool.on('connect', (client) => {
    client.on('error', (err) => logger.warn({ err, code: codeOf(err) }, 'database connection failed while in use'));
  });
  // Queued on the first connection before the query it was opened for, so it runs first.
  if (settings.pooler === 'transaction')
    pool.once('connect', (client: pg.PoolClient) => void checkPoolerTimeouts(client, settings, logger));
  const provider = connection.password === undefined ? connection.passwordProvider : undefined;
  if (provider?.invalidate) retryAuthFailuresOnce(pool, provider.invalidate, logger);
  return pool;
}

/**
 * After a rotation, the provider's cached password is stale: the first new connection fails with
 * 28P01. The provider is told to drop its cache and the connect is retried once, for every checkout
 * path (Kysely's `connect()`, and `pool.query()`, which uses the callback form), so a rotated secret
 * is picked up without a restart and without a failed query.
 */
function retryAuthFailuresOnce(pool: pg.Pool, invalidate: () => void, logger: Logger): void {
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  const connectWithRetry = (): Promise<pg.PoolClient> =>
    connect().catch((error: unknown) => {
      if (codeOf(error) !== PgErrorCode.invalidPassword || pool.ending) throw error;
      logger.warn({ code: codeOf(error) }, 'database password rejected; refreshing it from the password provider and retrying once');
      invalidate();
      return connect();
    });
  type Callback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;
  pool.connect = ((callback?: Callback) => {
    if (!callback) return connectWithRetry();
    connectWithRetry().then(
      (client) => callback(undefined, client, (release?: unknown) => client.release(release as boolean | Error | undefined)),
      (error: unknown) => callback(error as Error, undefined, () => undefined),
    );
    return undefined;
  }) as typeof pool.connect;
}

function codeOf(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}
