/**
 * Typed errors raised by the data layer. Every error keeps the original failure as `cause` and
 * never carries a password, a password hash or a connection string in its message.
 */

/** Base class: `instanceof DataLayerError` catches everything this library throws on purpose. */
export class DataLayerError extends Error {
  /** A stable, machine-readable code (`CONFIG_INVALID`, `MIGRATION_FAILED`, ...). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One invalid or missing configuration variable. */
export interface ConfigIssue {
  /** The environment variable (or option) at fault, e.g. `DATABASE_POOL_MAX`. */
  variable: string;
  /** Why it was rejected; never contains a secret value. */
  message: string;
}

/**
 * The configuration could not be loaded. `issues` names every variable at fault.
 *
 * @example
 * ```ts
 * try { loadConfig(); } catch (e) { if (e instanceof ConfigError) console.error(e.issues); }
 * ```
 */
export class ConfigError extends DataLayerError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(
      'CONFIG_INVALID',
      `Invalid database configuration:\n${issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n')}`,
      options,
    );
    this.issues = issues;
  }
}

/** The server could not be reached or refused the connection. */
export class ConnectionError extends DataLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION_FAILED', message, options);
  }
}

/** A statement, lock wait or connection attempt ran out of time. */
export class TimeoutError extends DataLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TIMEOUT', message, options);
  }
}

/** A migration file is malformed, was edited after it ran, is missing, or failed to apply. */
export class MigrationError extends DataLayerError {
  /** The migration file at fault, when there is one. */
  readonly file: string | undefined;

  constructor(message: string, options?: { cause?: unknown; file?: string; code?: string }) {
    super(options?.code ?? 'MIGRATION_FAILED', message, options);
    this.file = options?.file;
  }
}

/** PostgreSQL SQLSTATE codes this library reacts to (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const PgErrorCode = {
  /** 28000: the role may not log in, or pg_hba.conf rejected the connection. */
  invalidAuthorization: '28000',
  /** 28P01: wrong password. */
  invalidPassword: '28P01',
  /** 3D000: the database does not exist. */
  invalidCatalogName: '3D000',
  /** 53300: the server has no connection slots left. */
  tooManyConnections: '53300',
  /** 55P03: lock_timeout expired, or NOWAIT found the row locked. */
  lockNotAvailable: '55P03',
  /** 57014: statement_timeout expired or the query was cancelled. */
  queryCanceled: '57014',
  /** 57P01: the backend was terminated (pg_terminate_backend, shutdown). */
  adminShutdown: '57P01',
  /** 57P03: the server is starting up or shutting down. */
  cannotConnectNow: '57P03',
} as const;

/**
 * Whether an error means the session is gone (FATAL/PANIC from the server, a connection
 * exception, or the socket closing), so the connection must not be reused.
 */
export function isSessionFatal(error: unknown): boolean {
  const { severity, code, message } = (error ?? {}) as { severity?: string; code?: string; message?: string };
  if (severity === 'FATAL' || severity === 'PANIC') return true;
  if (code?.startsWith('08') || code?.startsWith('57P0')) return true;
  return !code && /Connection terminated|not queryable|ECONNRESET|EPIPE/i.test(message ?? '');
}

/**
 * Turns a failed connection attempt into a `ConnectionError` or `TimeoutError` whose message names
 * the server (`target`, from `describeConnection`, so never a password) and what went wrong.
 */
export function connectError(error: unknown, target: string, timeoutMs: number): DataLayerError {
  if (error instanceof DataLayerError) return error;
  const { code, message } = error as { code?: string; message?: string };
  const text = message ?? String(error);
  if (/timeout/i.test(text) && !code) {
    return new TimeoutError(`could not connect to ${target} within ${timeoutMs} ms (DATABASE_CONNECTION_TIMEOUT_MS)`, { cause: error });
  }
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused: is the server running and listening on that host and port?',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed (temporary)',
    ECONNRESET: 'the connection was reset by the server',
    [PgErrorCode.invalidPassword]: 'password authentication failed',
    [PgErrorCode.invalidAuthorization]: 'the server rejected this role or client (pg_hba.conf)',
    [PgErrorCode.invalidCatalogName]: 'the database does not exist',
    [PgErrorCode.tooManyConnections]: 'the server has no connection slots left (max_connections)',
    [PgErrorCode.cannotConnectNow]: 'the server is starting up or shutting down',
  };
  const reason = (code && reasons[code]) ?? text;
  return new ConnectionError(`could not connect to ${target}: ${reason}`, { cause: error });
}

/** A PostgreSQL server (embedded or in a container) could not be started, reused or stopped. */
export class ServerError extends DataLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SERVER_FAILED', message, options);
  }
}
