/**
 * Typed errors raised by the data layer. Every error keeps the original failure as `cause` and
 * never carries a password, a password hash or a connection string in its message.
 */
import { constraintColumns } from './schema/constraints.js';

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
    super('CONFIG_INVALID', `Invalid database configuration:\n${issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n')}`, options);
    this.issues = issues;
  }
}

/** The server could not be reached or refused the connection. */
export class ConnectionError extends DataLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION_FAILED', message, options);
  }
}

/**
 * A statement, lock wait, checkout or connection attempt ran out of time. `code` is `TIMEOUT`, or
 * `POOL_EXHAUSTED` when every pool connection stayed in use (the server was not the problem).
 */
export class TimeoutError extends DataLayerError {
  constructor(message: string, options?: { cause?: unknown; code?: 'TIMEOUT' | 'POOL_EXHAUSTED' }) {
    super(options?.code ?? 'TIMEOUT', message, options);
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

/** One way an adopted database differs from what the migrations build (see `migrate baseline`). */
export interface SchemaDifference {
  /** missing: the migrations make it, the database lacks it; different: it has another definition; extra: not made by the migrations. */
  change: 'missing' | 'different' | 'extra';
  /** table, column, index, constraint, function, ... */
  kind: string;
  name: string;
  expected?: string;
  actual?: string;
  /** A missing table: how many of its own objects are missing with it. */
  dependents?: number;
}

/**
 * `migrate baseline` refused (code `MIGRATION_BASELINE_MISMATCH`): the database lacks objects the
 * migrations would create, or has them in another shape. Nothing was recorded.
 */
export class BaselineMismatchError extends MigrationError {
  /** What is missing or different (objects the migrations do not make are not a reason to refuse, and are not listed). */
  readonly differences: readonly SchemaDifference[];

  constructor(message: string, differences: readonly SchemaDifference[]) {
    super(message, { code: 'MIGRATION_BASELINE_MISMATCH' });
    this.differences = differences;
  }
}

/** A placeholder row that `migrate adopt-legacy` cannot map: its table, its id and why. */
export interface LegacyRowProblem {
  /** users, business_evaluations or agent_executions. */
  table: string;
  /** The row's id, as text. */
  id: string;
  problem: string;
}

/**
 * `migrate adopt-legacy` refused (code `MIGRATION_ADOPT_REFUSED`): placeholder rows that cannot be
 * mapped onto the current schema (a duplicate email once normalised, an agent execution of a
 * missing evaluation, ...). Nothing was changed (or, when the copy of a resumed run refused,
 * nothing was copied).
 */
export class LegacyAdoptionError extends MigrationError {
  /** Every row that cannot be mapped, in table then id order. */
  readonly problems: readonly LegacyRowProblem[];

  constructor(message: string, problems: readonly LegacyRowProblem[]) {
    super(message, { code: 'MIGRATION_ADOPT_REFUSED' });
    this.problems = problems;
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
  /** 23502: NOT NULL violated. */
  notNullViolation: '23502',
  /** 23503: a foreign key points at nothing, or a referenced row is still referenced. */
  foreignKeyViolation: '23503',
  /** 23505: a unique constraint or index was violated. */
  uniqueViolation: '23505',
  /** 23514: a CHECK constraint was violated. */
  checkViolation: '23514',
  /** 22P02: text that is not a valid value of the type (a malformed uuid, an unknown enum label). */
  invalidTextRepresentation: '22P02',
  /** 40001: a serializable (or repeatable read) transaction lost a conflict; retry it whole. */
  serializationFailure: '40001',
  /** 40P01: the transaction was chosen as a deadlock victim; retry it whole. */
  deadlockDetected: '40P01',
  /** 25006: a write in a read-only transaction, which is every transaction on a hot standby. */
  readOnlySqlTransaction: '25006',
} as const;

/** node-postgres' client-side query timeout (`query_timeout`): the server did not answer in time. */
export const QUERY_READ_TIMEOUT_MESSAGE = 'Query read timeout';

/**
 * Whether `error` came from the PostgreSQL server (a protocol error message: it has a severity
 * and a five-character SQLSTATE), as opposed to a socket error (`ECONNRESET`, `EPIPE`, ...) or one
 * raised by node-postgres itself.
 */
export function isServerError(error: unknown): error is Error & { code: string; severity: string } {
  const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
  return typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * Whether an error means the session is gone, so the connection must not be reused: FATAL or
 * PANIC from the server, a connection exception (08xxx) or shutdown (57P0x), a socket error
 * (`ECONNRESET`, `EPIPE`, `ETIMEDOUT`, ...: Node's system errors carry `syscall`), the socket
 * closing, or a client-side query timeout (the answer may still arrive on that connection).
 */
export function isSessionFatal(error: unknown): boolean {
  const { severity, code, message, syscall } = (error ?? {}) as { severity?: string; code?: string; message?: string; syscall?: string };
  if (severity === 'FATAL' || severity === 'PANIC') return true;
  if (isServerError(error)) return code!.startsWith('08') || code!.startsWith('57P0');
  if (code?.startsWith('08') || code?.startsWith('57P0')) return true;
  if (typeof syscall === 'string' || (typeof code === 'string' && /^E[A-Z]+$/.test(code))) return true;
  return !code && /Connection terminated|not queryable|ECONNRESET|EPIPE|Query read timeout/i.test(message ?? '');
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
  const reason = specificReason(code, text) ?? (code && reasons[code]) ?? text;
  return new ConnectionError(`could not connect to ${target}: ${reason}`, { cause: error });
}

/** Node's certificate verification failures (tls.connect), as opposed to network or protocol errors. */
const CERTIFICATE_ERRORS =
  /^(?:ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_(?:HAS_EXPIRED|NOT_YET_VALID|UNTRUSTED|REJECTED|SIGNATURE_FAILURE)|INVALID_CA)$/;

/** TLS and missing-password failures in words that name the setting to change (DATABASE_SSL, DATABASE_SSL_CA_FILE, ...). */
function specificReason(code: string | undefined, text: string): string | undefined {
  if (code && CERTIFICATE_ERRORS.test(code)) {
    return (
      `TLS certificate verification failed (${text}); with DATABASE_SSL=verify-full the server's certificate must be ` +
      `signed by a CA in DATABASE_SSL_CA_FILE (or Node's CA bundle when it is unset) and name the host connected to`
    );
  }
  if (/server does not support SSL/i.test(text)) {
    return 'the server does not accept TLS connections, but DATABASE_SSL (or sslmode) requires TLS';
  }
  if (/client password must be a string|password must be a string/i.test(text) && !code) {
    // node-postgres' wording when the server asks for a password and there is none.
    return 'the server asks for a password and none is configured (DATABASE_URL, DATABASE_PASSWORD_FILE, PGPASSWORD or a passwordProvider)';
  }
  if (code === PgErrorCode.invalidAuthorization && /no encryption/i.test(text)) {
    return 'the server accepts this client only over TLS (pg_hba.conf hostssl); set DATABASE_SSL=require or verify-full';
  }
  return undefined;
}

/**
 * A password provider (AWS Secrets Manager, ...) could not supply the password. The message names
 * the source (the secret's id, never its value) and the cause.
 */
export class CredentialsError extends DataLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CREDENTIALS_FAILED', message, options);
  }
}

/** One invalid input field. */
export interface ValidationIssue {
  /** The field's path, dotted (`insights.risks.0`), or `(root)` for the input itself. */
  path: string;
  /** Why it was rejected; never contains the value. */
  message: string;
}

/**
 * The input was rejected before anything was written (by validation, or by a CHECK or NOT NULL
 * constraint as the second line). `issues` lists every failing field.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof ValidationError) return reply.status(400).send({ issues: e.issues }); }
 * ```
 */
export class ValidationError extends DataLayerError {
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[], options?: { cause?: unknown; subject?: string }) {
    const subject = options?.subject ? ` ${options.subject}` : '';
    super('VALIDATION_FAILED', `Invalid${subject} input: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, options);
    this.issues = issues;
  }
}

/** The row asked for does not exist (or is soft-deleted, for reads that hide those). */
export class NotFoundError extends DataLayerError {
  readonly entity: string;
  readonly id: string | undefined;

  constructor(entity: string, id?: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', id === undefined ? `${entity} not found` : `${entity} ${id} not found`, options);
    this.entity = entity;
    this.id = id;
  }
}

/** A unique constraint was violated: `fields` (camelCase) name what must be unique; values are never included. */
export class ConflictError extends DataLayerError {
  readonly table: string | undefined;
  readonly fields: readonly string[];
  readonly constraint: string | undefined;

  constructor(details: { table?: string; fields: readonly string[]; constraint?: string }, options?: { cause?: unknown }) {
    const what = details.fields.length > 0 ? details.fields.join(', ') : (details.constraint ?? 'a unique value');
    super('CONFLICT', `${details.table ?? 'row'}: ${what} already exists${details.constraint ? ` (${details.constraint})` : ''}`, options);
    this.table = details.table;
    this.fields = details.fields;
    this.constraint = details.constraint;
  }
}

/** A foreign key was violated: the referenced row does not exist, or the row is still referenced. */
export class InvalidReferenceError extends DataLayerError {
  readonly table: string | undefined;
  readonly fields: readonly string[];
  readonly constraint: string | undefined;

  constructor(
    details: { table?: string; fields: readonly string[]; constraint?: string; stillReferenced?: boolean },
    options?: { cause?: unknown },
  ) {
    const what = details.fields.join(', ') || details.constraint || 'a reference';
    super(
      'INVALID_REFERENCE',
      details.stillReferenced
        ? `${details.table ?? 'row'} is still referenced (${details.constraint ?? what})`
        : `${details.table ?? 'row'}: ${what} refers to a row that does not exist${details.constraint ? ` (${details.constraint})` : ''}`,
      options,
    );
    this.table = details.table;
    this.fields = details.fields;
    this.constraint = details.constraint;
  }
}

/** A status change that the workflow does not allow from the row's current status (or a lost race for it). */
export class InvalidTransitionError extends DataLayerError {
  readonly entity: string;
  readonly id: string;
  readonly from: string | undefined;
  readonly to: string;

  constructor(
    details: { entity: string; id: string; from?: string; to: string; reason?: string },
    options?: { cause?: unknown; code?: string },
  ) {
    const from = details.from === undefined ? '' : ` from ${details.from}`;
    super(
      options?.code ?? 'INVALID_TRANSITION',
      `${details.entity} ${details.id}: cannot move${from} to ${details.to}${details.reason ? ` (${details.reason})` : ''}`,
      options,
    );
    this.entity = details.entity;
    this.id = details.id;
    this.from = details.from;
    this.to = details.to;
  }
}

/**
 * A worker's write carried a fencing token (`workerId`, `attempt`) that is no longer current: the
 * run's lease expired and another claim started a later attempt, the worker released it, or the
 * run ended. Nothing was written. `code` is `STALE_ATTEMPT`; a subclass of
 * `InvalidTransitionError`, so code that catches lost races catches it too. `currentAttempt` and
 * `status` are the evaluation's now (undefined when it no longer exists).
 *
 * @example
 * ```ts
 * try { await completeEvaluation(database.worker, id, { workerId, attempt, results }); }
 * catch (e) { if (e instanceof StaleAttemptError) return; // another worker owns the run now: drop this result
 * }
 * ```
 */
export class StaleAttemptError extends InvalidTransitionError {
  /** The evaluation whose attempt the write was fenced by. */
  readonly evaluationId: string;
  /** The attempt the write carried. */
  readonly attempt: number;
  /** The evaluation's current attempt. */
  readonly currentAttempt: number | undefined;
  /** The evaluation's status now. */
  readonly status: string | undefined;

  constructor(
    details: {
      entity: string;
      id: string;
      evaluationId: string;
      workerId: string;
      attempt: number;
      currentAttempt?: number | undefined;
      status?: string | undefined;
      claimedBy?: string | null | undefined;
      to: string;
    },
    options?: { cause?: unknown },
  ) {
    const now =
      details.status === undefined
        ? 'the evaluation no longer exists'
        : details.status !== 'analyzing'
          ? `the evaluation is ${details.status} at attempt ${details.currentAttempt}`
          : details.currentAttempt !== details.attempt
            ? `attempt ${details.currentAttempt} holds the run now`
            : `another worker holds attempt ${details.attempt}`;
    super(
      {
        entity: details.entity,
        id: details.id,
        ...(details.status === undefined ? {} : { from: details.status }),
        to: details.to,
        reason: `attempt ${details.attempt} of ${details.workerId} is no longer current: ${now}`,
      },
      { ...options, code: 'STALE_ATTEMPT' },
    );
    this.evaluationId = details.evaluationId;
    this.attempt = details.attempt;
    this.currentAttempt = details.currentAttempt;
    this.status = details.status;
  }
}

/** A transaction lost a serialization conflict or a deadlock (40001, 40P01) and may be retried whole. */
export class SerializationError extends DataLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SERIALIZATION_FAILURE', message, options);
  }
}

/** Any other database failure; `sqlState` is PostgreSQL's code when there is one. */
export class QueryError extends DataLayerError {
  readonly sqlState: string | undefined;

  constructor(message: string, sqlState: string | undefined, options?: { cause?: unknown }) {
    super('QUERY_FAILED', message, options);
    this.sqlState = sqlState;
  }
}

/** The fields of a node-postgres error that the mapping reads (none of them holds a value except `detail`). */
interface PgErrorFields {
  code?: string;
  message?: string;
  table?: string;
  column?: string;
  constraint?: string;
  detail?: string;
}

/**
 * The one place that turns a database error into a typed error. Parameter values are never
 * copied into the message: PostgreSQL's `detail` ("Key (email)=(...)") is read for column names only.
 * Errors that are already typed pass through; a lost session (server, socket or client-side
 * timeout) is a `ConnectionError`; only server errors are read for a SQLSTATE, and what
 * node-postgres raises itself otherwise (a value it cannot parse, such as an unsafe int8) passes
 * through.
 */
export function mapDatabaseError(error: unknown, node?: string): unknown {
  if (error instanceof DataLayerError || !(error instanceof Error)) return error;
  const e = error as Error & PgErrorFields;
  if (isSessionFatal(error)) return new ConnectionError(`the database session ended: ${e.message}`, { cause: error });
  if (!isServerError(error)) return error;
  const code = error.code;
  const table = e.table;
  // The constraint's own columns first: under row-level security PostgreSQL omits the DETAIL line.
  const fields = [...(constraintColumns(e.constraint) ?? keyColumns(e.detail) ?? (e.column ? [camel(e.column)] : []))];
  switch (code) {
    case PgErrorCode.uniqueViolation:
      return new ConflictError({ table, fields, constraint: e.constraint }, { cause: error });
    case PgErrorCode.foreignKeyViolation:
      return new InvalidReferenceError(
        { table, fields, constraint: e.constraint, stillReferenced: /is still referenced/.test(e.detail ?? '') },
        { cause: error },
      );
    case PgErrorCode.checkViolation:
      return new ValidationError([{ path: e.constraint ?? 'check', message: `violates check constraint ${e.constraint ?? ''}`.trim() }], {
        cause: error,
        subject: table,
      });
    case PgErrorCode.notNullViolation:
      return new ValidationError([{ path: e.column ? camel(e.column) : 'column', message: 'is required' }], {
        cause: error,
        subject: table,
      });
    case PgErrorCode.invalidTextRepresentation:
      // PostgreSQL quotes the bad value in this message, so it is replaced.
      return new ValidationError([{ path: '(value)', message: 'is not a valid value for its type' }], { cause: error });
    case PgErrorCode.serializationFailure:
    case PgErrorCode.deadlockDetected:
      return new SerializationError(
        code === PgErrorCode.deadlockDetected
          ? 'the transaction was a deadlock victim; retry it'
          : 'the transaction lost a serialization conflict; retry it',
        { cause: error },
      );
    case PgErrorCode.queryCanceled:
      return new TimeoutError(
        /statement timeout/.test(e.message) ? 'the statement ran longer than statement_timeout' : 'the statement was cancelled',
        {
          cause: error,
        },
      );
    case PgErrorCode.lockNotAvailable:
      return new TimeoutError('could not get a lock in time (lock_timeout or NOWAIT)', { cause: error });
    case PgErrorCode.readOnlySqlTransaction:
      return new ReadOnlyNodeError(node, e.message, { cause: error });
    default:
      // Data exceptions (class 22) quote the offending value at the end of the message.
      return new QueryError(`database error ${code}: ${code.startsWith('22') ? e.message.replace(/: ".*"$/s, '') : e.message}`, code, {
        cause: error,
      });
  }
}

/**
 * A write reached a node that only reads (SQLSTATE 25006): a hot standby (a read replica, or a
 * primary URL that leads to one), or a transaction opened read-only (`readOnly: true`). Nothing
 * was written. `node` names the server (`postgres://user@host:port/database`, never a password).
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof ReadOnlyNodeError) logger.error({ node: e.node }, 'DATABASE_URL must point at the primary'); }
 * ```
 */
export class ReadOnlyNodeError extends DataLayerError {
  /** The server that refused the write, when known. */
  readonly node: string | undefined;

  constructor(node: string | undefined, reason: string, options?: { cause?: unknown }) {
    super(
      'READ_ONLY_NODE',
      `${node ?? 'the server'} is read-only and refused a write (${reason}): writes go to the primary (DATABASE_URL), ` +
        'not to a hot standby (DATABASE_REPLICA_URLS) or a transaction opened with readOnly: true',
      options,
    );
    this.node = node;
  }
}

/** Column names from a detail like `Key (evaluation_id, agent_type)=(..., ...) already exists.` */
function keyColumns(detail: string | undefined): string[] | undefined {
  const match = /^Key \(([^)]*)\)=/.exec(detail ?? '');
  return match?.[1] ? match[1].split(',').map((c) => camel(c.trim().replace(/^"|"$/g, ''))) : undefined;
}

function camel(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * A query or checkout after `database.close()` began: the handle is shutting down or closed and
 * will not open connections again. Create a new one with `createDatabase()` if you need one.
 */
export class DatabaseClosedError extends DataLayerError {
  constructor(message = 'the database handle is closed: close() was called, so no new queries are accepted') {
    super('DATABASE_CLOSED', message);
  }
}

/**
 * The reason a queue worker's handler is aborted (`context.signal.reason`) when `worker.stop()`
 * ran out of its grace period: the run was given back to the queue and the handler's outcome will
 * not be written.
 */
export class WorkerStoppedError extends DataLayerError {
  constructor(message = 'the worker stopped before the handler finished: its run was released to the queue') {
    super('WORKER_STOPPED', message);
  }
}
