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
