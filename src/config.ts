/**
 * Environment (and `createDatabase()` options) -> one validated `Config`, resolved once. Every
 * problem is reported at once, naming the variable; secret values never appear in an error.
 */
import { readFileSync } from 'node:fs';
import { parse as parseConnectionString } from 'pg-connection-string';
import { z } from 'zod';
import { SSL_MODES, withCredentials, type ConnectionSettings, type CredentialOptions, type SslMode } from './connection.js';
import { ConfigError, type ConfigIssue } from './errors.js';

/** Pool tuning. Every field has a default; see `.env.example`. */
export interface PoolSettings {
  /** Maximum connections in the pool. */
  max: number;
  /** How long a checkout (including connecting) may wait before failing. */
  connectionTimeoutMs: number;
  /** How long an idle connection stays open. */
  idleTimeoutMs: number;
  /** Connections are recycled after this many seconds (0 = never), spreading load after failovers. */
  maxLifetimeSeconds: number;
  /** Server-side `statement_timeout` for every session (0 = none). */
  statementTimeoutMs: number;
  /**
   * Client-side backstop for one query's answer: past it the call fails with a `TimeoutError` and
   * its connection is destroyed, even when the network has gone silent (0 = none). Absent: the
   * statement timeout plus 5 s (none when there is no statement timeout).
   */
  queryTimeoutMs?: number;
  /** Server-side `idle_in_transaction_session_timeout` (0 = none). */
  idleInTransactionTimeoutMs: number;
  /** `application_name`, shown in `pg_stat_activity`. */
  applicationName: string;
  /** Delay before TCP keepalive probes start on an idle socket. */
  keepAliveInitialDelayMs: number;
  /**
   * Run the library's queries as named prepared statements (parsed and planned once per
   * connection, named after their SQL text). Turn off behind a pooler that cannot keep them:
   * PgBouncer in transaction mode before 1.21, or without `max_prepared_statements`.
   */
  preparedStatements: boolean;
  /** The most named statements one connection keeps; past it the least recently used is closed. */
  preparedStatementsMax: number;
  // Pooler settings (DATABASE_POOLER, DATABASE_POOLER_PREPARED_STATEMENTS): see docs/poolers.md.
  /**
   * What stands between the pool and the server. `transaction`: a transaction pooler (PgBouncer
   * in transaction mode, and alike), where consecutive transactions of one connection may run on
   * different server sessions: no startup parameters are sent, the timeouts are set in every
   * transaction (`SET LOCAL`), and named prepared statements are off unless
   * `poolerPreparedStatements`. `none` (default): a direct connection or a session pooler.
   */
  pooler: Pooler;
  /**
   * Behind a transaction pooler, keep named prepared statements (`preparedStatements`): only for a
   * pooler that tracks them per client (PgBouncer 1.21+ with `max_prepared_statements` > 0).
   */
  poolerPreparedStatements: boolean;
}

/** The `DATABASE_POOLER` values. */
export const POOLERS = ['none', 'transaction'] as const;

/** `DATABASE_POOLER`: see `PoolSettings.pooler`. */
export type Pooler = (typeof POOLERS)[number];

/** Settings for the migration runner. */
export interface MigrationSettings {
  /** `lock_timeout` for migration statements, so DDL never queues behind traffic for long. */
  lockTimeoutMs: number;
  /** `statement_timeout` for migration statements. */
  statementTimeoutMs: number;
  /** How long to wait for another migrator's advisory lock before giving up. */
  lockWaitMs: number;
}

/** Query logging (see `createDatabase`'s `logger`). */
export interface QueryLogConfig {
  /** Queries at least this slow are logged at warn level and counted in `stats().slowQueries`. */
  slowQueryMs: number;
  /** Include parameter values in query log entries. Off by default: they hold user data. */
  logParameters: boolean;
}

/**
 * Read replicas (`DATABASE_REPLICA_URLS`, `createDatabase({ replicas })`): hot standbys that serve
 * reads outside transactions (docs/replicas.md).
 */
export interface ReplicaSettings {
  /** One per standby, in the order given. Empty: no replicas, every query goes to the primary. */
  connections: ConnectionSettings[];
  /** A standby further behind the primary than this (ms, estimated from WAL positions) serves no reads until it catches up. */
  maxLagMs: number;
  /** After a write, reads for this long (ms) go only to a standby that has replayed the primary's WAL position, else the primary (0 = off). */
  readYourWritesMs: number;
  /** How often (at most) each standby's role, replay position and lag are checked, and how soon a failed one is tried again (ms). */
  checkIntervalMs: number;
}

/** The validated configuration. */
export interface Config {
  connection: ConnectionSettings;
  /** Read replicas; absent or empty: none. */
  replicas?: ReplicaSettings;
  /** `DATABASE_MIGRATION_URL` when set (a direct, owner-role connection), else `connection`. */
  migrationConnection: ConnectionSettings;
  pool: PoolSettings;
  migrations: MigrationSettings;
  queryLog: QueryLogConfig;
}

export type Env = Readonly<Record<string, string | undefined>>;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { error: `must be a whole number between ${min} and ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    );

const boolean = z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1');

/** Tunables: name -> [schema, default]. The defaults are documented in `.env.example`. */
const tunables = {
  DATABASE_POOL_MAX: [int(1, 10_000), '20'],
  DATABASE_CONNECTION_TIMEOUT_MS: [int(1, 600_000), '5000'],
  DATABASE_IDLE_TIMEOUT_MS: [int(0, 86_400_000), '10000'],
  DATABASE_MAX_LIFETIME_SECONDS: [int(0, 604_800), '1800'],
  DATABASE_STATEMENT_TIMEOUT_MS: [int(0, 86_400_000), '30000'],
  // Empty: derived from the statement timeout (see PoolSettings.queryTimeoutMs).
  DATABASE_QUERY_TIMEOUT_MS: [int(0, 86_400_000).optional(), undefined],
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: [int(0, 86_400_000), '60000'],
  DATABASE_KEEPALIVE_INITIAL_DELAY_MS: [int(0, 3_600_000), '10000'],
  DATABASE_PREPARED_STATEMENTS: [boolean, 'true'],
  DATABASE_PREPARED_STATEMENTS_MAX: [int(1, 10_000), '100'],
  DATABASE_APPLICATION_NAME: [
    z.string().trim().min(1, { error: 'must not be empty' }).max(63, { error: 'must be at most 63 characters' }),
    'ai-validation-data-layer',
  ],
  MIGRATION_LOCK_TIMEOUT_MS: [int(0, 86_400_000), '5000'],
  MIGRATION_STATEMENT_TIMEOUT_MS: [int(0, 86_400_000), '900000'],
  MIGRATION_LOCK_WAIT_MS: [int(0, 86_400_000), '300000'],
  DATABASE_SLOW_QUERY_MS: [int(0, 86_400_000), '500'],
  DATABASE_REPLICA_MAX_LAG_MS: [int(0, 86_400_000), '5000'],
  DATABASE_REPLICA_READ_YOUR_WRITES_MS: [int(0, 86_400_000), '2000'],
  DATABASE_REPLICA_CHECK_INTERVAL_MS: [int(50, 3_600_000), '1000'],
  DATABASE_LOG_PARAMETERS: [boolean, 'false'],
  // Pooler settings (see PoolSettings.pooler).
  DATABASE_POOLER: [z.enum(POOLERS, { error: `must be ${POOLERS.join(' or ')}` }), 'none'],
  DATABASE_POOLER_PREPARED_STATEMENTS: [boolean, 'false'],
} as const;

type Tunable = keyof typeof tunables;

/**
 * Whether the environment names a database server at all (`DATABASE_URL`, `PGHOST` or
 * `PGDATABASE`). The CLI starts an embedded server when it does not.
 *
 * @example
 * ```ts
 * if (!isDatabaseConfigured()) console.log('no DATABASE_URL: using the embedded server');
 * ```
 */
export function isDatabaseConfigured(env: Env = process.env): boolean {
  return [env.DATABASE_URL, env.PGHOST, env.PGDATABASE].some((v) => v !== undefined && v.trim() !== '');
}

/**
 * Reads and validates the configuration from the environment (`process.env` by default).
 * Throws a `ConfigError` that lists every variable at fault.
 *
 * @example
 * ```ts
 * const config = loadConfig({ ...process.env, DATABASE_POOL_MAX: '5' });
 * console.log(describeConnection(config.connection)); // postgres://app@db:5432/app (no password)
 * ```
 */
export function loadConfig(env: Env = process.env): Config {
  const issues: ConfigIssue[] = [];
  const values = {} as { [K in Tunable]: z.output<(typeof tunables)[K][0]> };
  for (const [name, [schema, fallback]] of Object.entries(tunables) as [Tunable, (typeof tunables)[Tunable]][]) {
    const raw = blankToUndefined(env[name]) ?? fallback;
    const result = schema.safeParse(raw);
    if (result.success) (values as Record<string, unknown>)[name] = result.data;
    else issues.push({ variable: name, message: `${result.error.issues[0]?.message ?? 'is invalid'} (got "${raw}")` });
  }

  const filePassword = readPasswordFile(env, issues);
  const tls = readTlsEnv(env, issues);
  let connection: ConnectionSettings | undefined;
  if (!isDatabaseConfigured(env)) {
    issues.push({
      variable: 'DATABASE_URL',
      message: 'is not set; set DATABASE_URL, or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE',
    });
  } else {
    connection = connectionFrom('DATABASE_URL', env, filePassword, issues, tls);
  }
  const migrationConnection = blankToUndefined(env.DATABASE_MIGRATION_URL)
    ? connectionFrom('DATABASE_MIGRATION_URL', env, undefined, issues, tls)
    : connection;

  const replicaConnections = replicaUrls(env.DATABASE_REPLICA_URLS, 'DATABASE_REPLICA_URLS', issues).map((url, i) =>
    connectionFrom(`DATABASE_REPLICA_URLS[${i}]`, { ...env, [`DATABASE_REPLICA_URLS[${i}]`]: url }, undefined, issues, tls, 'replica'),
  );

  if (issues.length > 0 || !connection || !migrationConnection) throw new ConfigError(issues);
  return {
    connection,
    migrationConnection,
    replicas: {
      connections: replicaConnections.filter((c): c is ConnectionSettings => c !== undefined),
      maxLagMs: values.DATABASE_REPLICA_MAX_LAG_MS,
      readYourWritesMs: values.DATABASE_REPLICA_READ_YOUR_WRITES_MS,
      checkIntervalMs: values.DATABASE_REPLICA_CHECK_INTERVAL_MS,
    },
    pool: {
      max: values.DATABASE_POOL_MAX,
      connectionTimeoutMs: values.DATABASE_CONNECTION_TIMEOUT_MS,
      idleTimeoutMs: values.DATABASE_IDLE_TIMEOUT_MS,
      maxLifetimeSeconds: values.DATABASE_MAX_LIFETIME_SECONDS,
      statementTimeoutMs: values.DATABASE_STATEMENT_TIMEOUT_MS,
      ...(values.DATABASE_QUERY_TIMEOUT_MS === undefined ? {} : { queryTimeoutMs: values.DATABASE_QUERY_TIMEOUT_MS }),
      idleInTransactionTimeoutMs: values.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      applicationName: values.DATABASE_APPLICATION_NAME,
      keepAliveInitialDelayMs: values.DATABASE_KEEPALIVE_INITIAL_DELAY_MS,
      preparedStatements: values.DATABASE_PREPARED_STATEMENTS,
      preparedStatementsMax: values.DATABASE_PREPARED_STATEMENTS_MAX,
      pooler: values.DATABASE_POOLER,
      poolerPreparedStatements: values.DATABASE_POOLER_PREPARED_STATEMENTS,
    },
    migrations: {
      lockTimeoutMs: values.MIGRATION_LOCK_TIMEOUT_MS,
      statementTimeoutMs: values.MIGRATION_STATEMENT_TIMEOUT_MS,
      lockWaitMs: values.MIGRATION_LOCK_WAIT_MS,
    },
    queryLog: {
      slowQueryMs: values.DATABASE_SLOW_QUERY_MS,
      logParameters: values.DATABASE_LOG_PARAMETERS,
    },
  };
}

/**
 * Parses a `postgres://` URL into connection settings, filling gaps from the `PG*` variables.
 * Throws a `ConfigError` naming `variable` (the URL itself is never echoed: it may hold a password).
 *
 * @example
 * ```ts
 * const settings = parseConnectionUrl('postgres://postgres@127.0.0.1:5432/app');
 * ```
 */
export function parseConnectionUrl(
  url: string,
  variable = 'connectionString',
  env: Env = {},
  kind: 'primary' | 'replica' = 'primary',
): ConnectionSettings {
  const issues: ConfigIssue[] = [];
  const settings = connectionFrom(variable, { ...env, [variable]: url }, undefined, issues, readTlsEnv(env, issues), kind);
  if (issues.length > 0 || !settings) throw new ConfigError(issues);
  return settings;
}

/** What `resolveConfig()` (and so `createDatabase()`) takes; everything is optional. */
export interface ConfigOptions extends CredentialOptions {
  /** A full configuration (from `loadConfig()`); skips reading the environment. */
  config?: Config;
  /** A `postgres://` URL that takes precedence over `DATABASE_URL` (or over `config.connection`). */
  connectionString?: string;
  /** The environment to read when `config` is not given (default `process.env`). */
  env?: Env;
  /** Pool settings that take precedence over the configured ones (within the ranges of their variables). */
  pool?: Partial<PoolSettings> | null;
  /** Queries at least this slow are logged at warn level. Default `DATABASE_SLOW_QUERY_MS` (500). */
  slowQueryMs?: number;
  /** Include parameter values in query log entries. Default `DATABASE_LOG_PARAMETERS` (false). */
  logParameters?: boolean;
  /**
   * Read replicas (hot standbys), over `DATABASE_REPLICA_URLS`: their `postgres://` URLs, or the
   * URLs with the routing settings (over `DATABASE_REPLICA_MAX_LAG_MS`, ...). A URL without a
   * password connects with the primary's credentials when it names the same user. See docs/replicas.md.
   */
  replicas?: readonly string[] | ReplicaOptions | null;
}

/** `createDatabase({ replicas })` in full; each field over its environment variable. */
export interface ReplicaOptions {
  /** The standbys' `postgres://` URLs (over `DATABASE_REPLICA_URLS`; `[]` turns replicas off). */
  urls?: readonly string[];
  /** Over `DATABASE_REPLICA_MAX_LAG_MS` (5000). */
  maxLagMs?: number;
  /** Over `DATABASE_REPLICA_READ_YOUR_WRITES_MS` (2000). */
  readYourWritesMs?: number;
  /** Over `DATABASE_REPLICA_CHECK_INTERVAL_MS` (1000). */
  checkIntervalMs?: number;
}

/**
 * The configuration `createDatabase()` runs with, in one pass: `config`, else the environment;
 * `connectionString` over either (over a given `config`, the URL's own TLS settings win, else the
 * config's apply); the credentials by their precedence (`password` option, then the configured
 * password, then `passwordProvider`); then the pool and query-log options. `warnings` says what
 * was given but is not used.
 *
 * @example
 * ```ts
 * const { config } = resolveConfig({ connectionString: 'postgres://app@db:5432/app', pool: { max: 5 } });
 * ```
 */
export function resolveConfig(given?: ConfigOptions | null): { config: Config; warnings: string[] } {
  const options = given ?? {};
  const env = options.env ?? process.env;
  const base = options.config ?? loadConfig(options.connectionString ? { ...env, DATABASE_URL: options.connectionString } : env);
  let connection = base.connection;
  if (options.config && options.connectionString) {
    connection = parseConnectionUrl(options.connectionString);
    if (connection.ssl === undefined && base.connection.ssl !== undefined) connection.ssl = base.connection.ssl;
  }
  const credentials = withCredentials(connection, options);
  const warnings = credentials.ignoredProvider
    ? ['passwordProvider is not used: a password is configured (option, DATABASE_URL, DATABASE_PASSWORD_FILE or PGPASSWORD)']
    : [];
  const config: Config = {
    ...base,
    connection: credentials.connection,
    replicas: replicaSettings(base.replicas, options.replicas, credentials.connection, env),
    pool: { ...base.pool, ...poolOverrides(options.pool) },
    queryLog: {
      slowQueryMs: options.slowQueryMs ?? base.queryLog.slowQueryMs,
      logParameters: options.logParameters ?? base.queryLog.logParameters,
    },
  };
  return { config, warnings };
}

const replicaOptionsSchema = z.strictObject({
  urls: z.array(z.string({ error: 'must be a postgres:// URL' })).readonly(),
  maxLagMs: z.number().int().min(0).max(86_400_000),
  readYourWritesMs: z.number().int().min(0).max(86_400_000),
  checkIntervalMs: z.number().int().min(50).max(3_600_000),
});

/**
 * The replicas `createDatabase()` runs with: `options.replicas` over the configured ones, field
 * by field. A standby is a copy of the primary, roles and passwords included: a replica URL with
 * no password of its own, naming the primary's user, connects with the primary's credentials.
 */
function replicaSettings(
  configured: ReplicaSettings | undefined,
  given: ConfigOptions['replicas'],
  primary: ConnectionSettings,
  env: Env,
): ReplicaSettings {
  const defaults = { connections: [], maxLagMs: 5000, readYourWritesMs: 2000, checkIntervalMs: 1000 };
  const base: ReplicaSettings = configured ?? defaults;
  let settings = base;
  if (given) {
    const fields = Array.isArray(given) ? { urls: given } : (given as ReplicaOptions);
    const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    const result = replicaOptionsSchema.partial().safeParse(defined);
    if (!result.success) {
      throw new ConfigError(
        result.error.issues.map((issue) =>
          issue.code === 'unrecognized_keys'
            ? { variable: `replicas.${issue.keys.join(', replicas.')}`, message: 'is not a replica setting' }
            : { variable: `replicas.${issue.path.join('.')}`, message: issue.message },
        ),
      );
    }
    const { urls, ...tunables } = result.data;
    const issues: ConfigIssue[] = [];
    const tls = readTlsEnv(env, issues);
    const connections = urls?.map((url, i) =>
      connectionFrom(`replicas[${i}]`, { ...env, [`replicas[${i}]`]: url }, undefined, issues, tls, 'replica'),
    );
    if (issues.length > 0) throw new ConfigError(issues);
    settings = { ...base, ...tunables, connections: connections ? (connections as ConnectionSettings[]) : base.connections };
  }
  return {
    ...settings,
    connections: settings.connections.map((replica) =>
      replica.password === undefined && replica.user === primary.user
        ? withCredentials(replica, { password: primary.password, passwordProvider: primary.passwordProvider }).connection
        : replica,
    ),
  };
}

/**
 * `DATABASE_REPLICA_URLS`: URLs separated by commas or white space. A comma inside one URL (a
 * libpq multi-host URL) would split it; the fragment is then refused as not a URL.
 */
function replicaUrls(raw: string | undefined, variable: string, issues: ConfigIssue[]): string[] {
  const text = blankToUndefined(raw);
  if (text === undefined) return [];
  const urls = text.split(/[\s,]+/).filter((part) => part !== '');
  const stray = urls.filter((url) => !/^postgres(ql)?:\/\//i.test(url));
  if (stray.length > 0) {
    issues.push({
      variable,
      message:
        'must be postgres:// URLs separated by commas or spaces, one standby each (a multi-host URL is not supported: list each standby as its own URL)',
    });
    return [];
  }
  return urls;
}

/** libpq's `target_session_attrs` values. */
const SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;

/**
 * libpq's multi-host and `target_session_attrs` in a URL, checked for what it is used as: the
 * primary (`DATABASE_URL`, `DATABASE_MIGRATION_URL`) takes `any`, `read-write` and `primary` (the
 * last two are enforced on every new connection); a replica takes `any`, `read-only`, `standby`
 * and `prefer-standby` (every replica is checked to be a standby before it serves a read).
 * Everything else is refused, saying what to use instead: nothing is silently ignored.
 */
function checkLibpqHosts(
  url: string,
  query: URLSearchParams,
  variable: string,
  kind: 'primary' | 'replica',
  issues: ConfigIssue[],
): { ok: boolean; targetSessionAttrs?: 'read-write' | 'primary' } {
  const authority = url.replace(/^[a-z]+:\/\//i, '').split(/[/?#]/)[0] ?? '';
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  if (hosts.includes(',') || (query.get('host') ?? '').includes(',') || (query.get('port') ?? '').includes(',')) {
    issues.push({
      variable,
      message:
        kind === 'primary'
          ? 'lists several hosts (a libpq multi-host URL), which node-postgres cannot fail over between; name the primary ' +
            'alone (or one name that follows it: a DNS record or proxy your failover updates), and list the standbys in DATABASE_REPLICA_URLS'
          : 'lists several hosts (a libpq multi-host URL); give each standby its own URL',
    });
    return { ok: false };
  }
  const attrs = query.get('target_session_attrs');
  if (attrs === null) return { ok: true };
  if (!(SESSION_ATTRS as readonly string[]).includes(attrs)) {
    issues.push({ variable, message: `target_session_attrs=${attrs} is not one of libpq's values (${SESSION_ATTRS.join(', ')})` });
    return { ok: false };
  }
  if (kind === 'primary') {
    if (attrs === 'read-write' || attrs === 'primary') return { ok: true, targetSessionAttrs: attrs };
    if (attrs === 'any') return { ok: true };
    issues.push({
      variable,
      message: `target_session_attrs=${attrs} asks for a standby, but this is the primary's URL, which takes the writes; use any, read-write or primary here, and list standbys in DATABASE_REPLICA_URLS (or createDatabase({ replicas }))`,
    });
    return { ok: false };
  }
  if (attrs === 'read-write' || attrs === 'primary') {
    issues.push({
      variable,
      message: `target_session_attrs=${attrs} asks for the primary, but this is a replica's URL; the primary goes in DATABASE_URL (replicas take any, read-only, standby or prefer-standby)`,
    });
    return { ok: false };
  }
  return { ok: true };
}

/** The ranges of the environment's pool tunables, for the same settings given in code. */
const poolOverrideSchema = z
  .strictObject({
    max: z.number().int().min(1).max(10_000),
    connectionTimeoutMs: z.number().int().min(1).max(600_000),
    idleTimeoutMs: z.number().int().min(0).max(86_400_000),
    maxLifetimeSeconds: z.number().int().min(0).max(604_800),
    statementTimeoutMs: z.number().int().min(0).max(86_400_000),
    queryTimeoutMs: z.number().int().min(0).max(86_400_000),
    idleInTransactionTimeoutMs: z.number().int().min(0).max(86_400_000),
    applicationName: z.string().trim().min(1).max(63),
    keepAliveInitialDelayMs: z.number().int().min(0).max(3_600_000),
    preparedStatements: z.boolean(),
    preparedStatementsMax: z.number().int().min(1).max(10_000),
    pooler: z.enum(POOLERS),
    poolerPreparedStatements: z.boolean(),
  })
  .partial();

/** `options.pool`, checked: a `ConfigError` names each bad setting (`pool.max`, ...). Absent (undefined) settings are left out. */
function poolOverrides(pool: Partial<PoolSettings> | null | undefined): Partial<PoolSettings> {
  const given = Object.fromEntries(Object.entries(pool ?? {}).filter(([, value]) => value !== undefined));
  const result = poolOverrideSchema.safeParse(given);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? { variable: `pool.${issue.keys.join(', pool.')}`, message: 'is not a pool setting' }
        : { variable: `pool.${issue.path.join('.')}`, message: issue.message },
    ),
  );
}

function connectionFrom(
  variable: string,
  env: Env,
  filePassword: string | undefined,
  issues: ConfigIssue[],
  tls: TlsEnv,
  kind: 'primary' | 'replica' = 'primary',
): ConnectionSettings | undefined {
  const url = blankToUndefined(env[variable]);
  let parsed: ReturnType<typeof parseConnectionString> = { host: null, database: null };
  let urlSslMode: SslMode | undefined;
  let targetSessionAttrs: 'read-write' | 'primary' | undefined;
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//i.test(url)) {
      issues.push({ variable, message: 'must be a postgres:// or postgresql:// URL (postgres://user:password@host:5432/database)' });
      return undefined;
    }
    // Checked before parsing: pg-connection-string would read an sslrootcert file itself.
    const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
    const fileParams = ['sslrootcert', 'sslcert', 'sslkey', 'sslpassword'].filter((name) => query.has(name));
    if (fileParams.length > 0) {
      issues.push({
        variable,
        message: `${fileParams.join(', ')} in the URL is not supported; use DATABASE_SSL=verify-full with DATABASE_SSL_CA_FILE (client certificates are not supported)`,
      });
      return undefined;
    }
    const hosts = checkLibpqHosts(url, query, variable, kind, issues);
    if (!hosts.ok) return undefined;
    targetSessionAttrs = hosts.targetSessionAttrs;
    const sslmode = query.get('sslmode') ?? undefined;
    if (sslmode !== undefined) {
      if (!isSslMode(sslmode)) {
        issues.push({ variable, message: `sslmode=${sslmode} is not supported; use sslmode=disable, require or verify-full` });
        return undefined;
      }
      urlSslMode = sslmode;
      if (tls.mode !== undefined && tls.mode !== sslmode) {
        issues.push({
          variable: 'DATABASE_SSL',
          message: `is ${tls.mode} but ${variable} says sslmode=${sslmode}; remove one or make them agree`,
        });
      }
    }
    try {
      parsed = parseConnectionString(url);
    } catch {
      issues.push({ variable, message: 'is not a valid connection URL (postgres://user:password@host:5432/database)' });
      return undefined;
    }
  }
  if (filePassword !== undefined && parsed.password) {
    issues.push({
      variable: 'DATABASE_PASSWORD_FILE',
      message: `is set but ${variable} also contains a password; use one or the other`,
    });
  }
  const portText = parsed.port || blankToUndefined(env.PGPORT) || '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    issues.push({ variable: parsed.port ? variable : 'PGPORT', message: `port must be between 1 and 65535 (got "${portText}")` });
    return undefined;
  }
  const user = parsed.user || blankToUndefined(env.PGUSER) || 'postgres';
  const settings: ConnectionSettings = {
    host: parsed.host || blankToUndefined(env.PGHOST) || 'localhost',
    port,
    user,
    database: parsed.database || blankToUndefined(env.PGDATABASE) || user,
  };
  if (targetSessionAttrs) settings.targetSessionAttrs = targetSessionAttrs;
  const password = parsed.password || filePassword || env.PGPASSWORD || undefined;
  if (password !== undefined) Object.defineProperty(settings, 'password', { value: password, enumerable: false });
  const mode = tls.mode ?? urlSslMode ?? tls.pgSslMode;
  if (mode !== undefined) {
    settings.ssl = mode === 'verify-full' && tls.ca !== undefined ? { mode, ca: tls.ca, caFile: tls.caFile } : { mode };
  }
  if (
    tls.caFile !== undefined &&
    tls.ca !== undefined &&
    mode !== 'verify-full' &&
    !issues.some((i) => i.variable === 'DATABASE_SSL_CA_FILE')
  ) {
    issues.push({
      variable: 'DATABASE_SSL_CA_FILE',
      message: `is only used with DATABASE_SSL=verify-full (the ${variable} connection uses ${mode ?? 'disable'})`,
    });
  }
  return settings;
}

/** The TLS variables, validated once and applied to every connection URL. */
interface TlsEnv {
  /** `DATABASE_SSL`. */
  mode?: SslMode;
  /** `PGSSLMODE`: the lowest-precedence source, after `sslmode` in the URL. */
  pgSslMode?: SslMode;
  ca?: string;
  caFile?: string;
}

function isSslMode(value: string): value is SslMode {
  return (SSL_MODES as readonly string[]).includes(value);
}

function readTlsEnv(env: Env, issues: ConfigIssue[]): TlsEnv {
  const tls: TlsEnv = {};
  for (const variable of ['DATABASE_SSL', 'PGSSLMODE'] as const) {
    const raw = blankToUndefined(env[variable])?.trim();
    if (raw === undefined) continue;
    if (isSslMode(raw)) {
      if (variable === 'DATABASE_SSL') tls.mode = raw;
      else tls.pgSslMode = raw;
    } else {
      issues.push({ variable, message: `must be disable, require or verify-full (got "${raw}")` });
    }
  }
  const caFile = blankToUndefined(env.DATABASE_SSL_CA_FILE);
  if (caFile !== undefined) {
    tls.caFile = caFile;
    try {
      const ca = readFileSync(caFile, 'utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
        issues.push({ variable: 'DATABASE_SSL_CA_FILE', message: `"${caFile}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)` });
      } else {
        tls.ca = ca;
      }
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      issues.push({ variable: 'DATABASE_SSL_CA_FILE', message: `cannot read "${caFile}" (${reason})` });
    }
  }
  return tls;
}

function readPasswordFile(env: Env, issues: ConfigIssue[]): string | undefined {
  const file = blankToUndefined(env.DATABASE_PASSWORD_FILE);
  if (file === undefined) return undefined;
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    issues.push({ variable: 'DATABASE_PASSWORD_FILE', message: `cannot read "${file}" (${reason})` });
    return undefined;
  }
  // Secret files conventionally end with a newline that is not part of the password.
  const password = content.replace(/\r?\n$/, '');
  if (password === '') issues.push({ variable: 'DATABASE_PASSWORD_FILE', message: `"${file}" is empty` });
  return password || undefined;
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
