/**
 * Environment -> validated `Config`. Every problem is reported at once, naming the variable;
 * secret values never appear in an error or in `describeConnection()`.
 */
import { readFileSync } from 'node:fs';
import { parse as parseConnectionString } from 'pg-connection-string';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';

/** Where and as whom to connect. The password is kept out of `JSON.stringify` and `util.inspect`. */
export interface ConnectionSettings {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
}

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
  /** Server-side `idle_in_transaction_session_timeout` (0 = none). */
  idleInTransactionTimeoutMs: number;
  /** `application_name`, shown in `pg_stat_activity`. */
  applicationName: string;
  /** Delay before TCP keepalive probes start on an idle socket. */
  keepAliveInitialDelayMs: number;
}

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

/** The validated configuration. */
export interface Config {
  connection: ConnectionSettings;
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
    .pipe(z.number().int().min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }));

/** Tunables: name -> [schema, default]. The defaults are documented in `.env.example`. */
const tunables = {
  DATABASE_POOL_MAX: [int(1, 10_000), '20'],
  DATABASE_CONNECTION_TIMEOUT_MS: [int(1, 600_000), '5000'],
  DATABASE_IDLE_TIMEOUT_MS: [int(0, 86_400_000), '10000'],
  DATABASE_MAX_LIFETIME_SECONDS: [int(0, 604_800), '1800'],
  DATABASE_STATEMENT_TIMEOUT_MS: [int(0, 86_400_000), '30000'],
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: [int(0, 86_400_000), '60000'],
  DATABASE_KEEPALIVE_INITIAL_DELAY_MS: [int(0, 3_600_000), '10000'],
  DATABASE_APPLICATION_NAME: [
    z.string().trim().min(1, { error: 'must not be empty' }).max(63, { error: 'must be at most 63 characters' }),
    'ai-validation-data-layer',
  ],
  MIGRATION_LOCK_TIMEOUT_MS: [int(0, 86_400_000), '5000'],
  MIGRATION_STATEMENT_TIMEOUT_MS: [int(0, 86_400_000), '900000'],
  MIGRATION_LOCK_WAIT_MS: [int(0, 86_400_000), '300000'],
  DATABASE_SLOW_QUERY_MS: [int(0, 86_400_000), '500'],
  DATABASE_LOG_PARAMETERS: [
    z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1'),
    'false',
  ],
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
  let connection: ConnectionSettings | undefined;
  if (!isDatabaseConfigured(env)) {
    issues.push({
      variable: 'DATABASE_URL',
      message: 'is not set; set DATABASE_URL, or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE',
    });
  } else {
    connection = connectionFrom('DATABASE_URL', env, filePassword, issues);
  }
  const migrationConnection = blankToUndefined(env.DATABASE_MIGRATION_URL)
    ? connectionFrom('DATABASE_MIGRATION_URL', env, undefined, issues)
    : connection;

  if (issues.length > 0 || !connection || !migrationConnection) throw new ConfigError(issues);
  return {
    connection,
    migrationConnection,
    pool: {
      max: values.DATABASE_POOL_MAX,
      connectionTimeoutMs: values.DATABASE_CONNECTION_TIMEOUT_MS,
      idleTimeoutMs: values.DATABASE_IDLE_TIMEOUT_MS,
      maxLifetimeSeconds: values.DATABASE_MAX_LIFETIME_SECONDS,
      statementTimeoutMs: values.DATABASE_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: values.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      applicationName: values.DATABASE_APPLICATION_NAME,
      keepAliveInitialDelayMs: values.DATABASE_KEEPALIVE_INITIAL_DELAY_MS,
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
export function parseConnectionUrl(url: string, variable = 'connectionString', env: Env = {}): ConnectionSettings {
  const issues: ConfigIssue[] = [];
  const settings = connectionFrom(variable, { ...env, [variable]: url }, undefined, issues);
  if (!settings) throw new ConfigError(issues);
  return settings;
}

/**
 * A printable form of connection settings: `postgres://user@host:port/database`, never the password.
 *
 * @example
 * ```ts
 * console.log(`connected to ${describeConnection(config.connection)}`);
 * ```
 */
export function describeConnection(settings: ConnectionSettings): string {
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `postgres://${encodeURIComponent(settings.user)}@${host}:${settings.port}/${encodeURIComponent(settings.database)}`;
}

/** A connection URL with its password, for tools that only take a URL (pg_dump, codegen). */
export function toConnectionUrl(settings: ConnectionSettings): string {
  const host = settings.host.startsWith('/') ? 'localhost' : settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const auth = settings.password === undefined
    ? encodeURIComponent(settings.user)
    : `${encodeURIComponent(settings.user)}:${encodeURIComponent(settings.password)}`;
  const socket = settings.host.startsWith('/') ? `?host=${encodeURIComponent(settings.host)}` : '';
  return `postgres://${auth}@${host}:${settings.port}/${encodeURIComponent(settings.database)}${socket}`;
}

function connectionFrom(
  variable: string,
  env: Env,
  filePassword: string | undefined,
  issues: ConfigIssue[],
): ConnectionSettings | undefined {
  const url = blankToUndefined(env[variable]);
  let parsed: ReturnType<typeof parseConnectionString> = { host: null, database: null };
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//i.test(url)) {
      issues.push({ variable, message: 'must be a postgres:// or postgresql:// URL (postgres://user:password@host:5432/database)' });
      return undefined;
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
  const password = parsed.password || filePassword || env.PGPASSWORD || undefined;
  if (password !== undefined) Object.defineProperty(settings, 'password', { value: password, enumerable: false });
  return settings;
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
