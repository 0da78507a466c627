/**
 * The public API of the data layer. Everything a service imports comes from here; anything not
 * exported here is internal and may change.
 */
export { createDatabase } from './db/database.js';
export type { CreateDatabaseOptions, Database } from './db/database.js';
export { ACTOR_SETTING, USER_SETTING } from './db/transaction.js';
export type { TransactionOptions } from './db/transaction.js';
export type { QueryStats } from './db/query-log.js';
export type { DatabaseStats } from './db/database.js';
export { QUERY_DURATION_BUCKETS_MS } from './db/metrics.js';
export type { DurationHistogram, PoolGauges } from './db/metrics.js';
export type { HealthOptions, HealthReport, MigrationHealth } from './db/health.js';
export { createHealthHandler } from './http/health-handler.js';
export type { HealthHandlerOptions } from './http/health-handler.js';

export { isDatabaseConfigured, loadConfig, parseConnectionUrl } from './config.js';
export type { Config, Env, MigrationSettings, PoolSettings, QueryLogConfig } from './config.js';
export { describeConnection } from './connection.js';
export type { ConnectionSettings } from './connection.js';

export {
  ConfigError,
  ConflictError,
  ConnectionError,
  DatabaseClosedError,
  DataLayerError,
  InvalidReferenceError,
  InvalidTransitionError,
  MigrationError,
  NotFoundError,
  PgErrorCode,
  QueryError,
  SerializationError,
  TimeoutError,
  ValidationError,
} from './errors.js';
export type { ConfigIssue, ValidationIssue } from './errors.js';

export { silentLogger, stderrLogger } from './logger.js';
export type { Logger } from './logger.js';

/**
 * The repositories, one namespace per table. Every function takes a `Kysely<DB>` or a
 * `Transaction<DB>` first; `createDatabase()` also exposes them bound to its pool.
 *
 * @example
 * ```ts
 * import { createDatabase, users } from '@ai-validation/data-layer';
 * const database = createDatabase();
 * await database.transaction((trx) => users.createUser(trx, { email, name, passwordHash }));
 * ```
 */
export * as users from './repositories/users.js';
export * as businessIdeas from './repositories/business-ideas.js';
export * as evaluations from './repositories/evaluations.js';
export * as agentResults from './repositories/agent-results.js';
export * as auditLog from './repositories/audit-log.js';
export type { CreateUserInput, ListUsersInput, UpdateUserInput, User, UserCredentials } from './repositories/users.js';
export type { BusinessIdea, CreateIdeaInput, IdeaStats, ListIdeasInput, UpdateIdeaContentInput } from './repositories/business-ideas.js';
export type * from './repositories/evaluations.js';
export type * from './repositories/agent-results.js';
export type { AuditEntry, ListAuditEntriesInput } from './repositories/audit-log.js';
export type { Page } from './repositories/pagination.js';
export { KNOWN_AGENT_TYPES } from './validation/agent-results.js';
export { IDEA_STATUSES } from './validation/business-ideas.js';
export { EVALUATION_PRIORITIES, EVALUATION_STATUSES } from './validation/evaluations.js';
export { MAX_JSON_BYTES } from './validation/common.js';

export { createMigrator, defaultMigrationsDir } from './migrate/index.js';
export type { MigrationResult, MigrationStatus, Migrator, MigratorOptions } from './migrate/index.js';

export type * from './schema/generated.js';
export type * from './schema/json.js';

// --- credentials and TLS (README "Credentials and rotation", "TLS") ---
export { SSL_MODES, withCredentials } from './connection.js';
export type { CredentialOptions, PasswordProvider, SslMode, TlsSettings } from './connection.js';
export { CredentialsError } from './errors.js';
export { createCachedPasswordProvider } from './credentials/password-provider.js';
export type { CachedPasswordProviderOptions } from './credentials/password-provider.js';
export { createAwsSecretsManagerPasswordProvider } from './credentials/aws-secrets-manager.js';
export type { AwsSecretsManagerPasswordProviderOptions, SecretsManagerClientLike } from './credentials/aws-secrets-manager.js';
