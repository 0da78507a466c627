/**
 * The public API of the data layer. Everything a service imports comes from here; anything not
 * exported here is internal and may change. docs/library.md walks through it.
 */

// The handle: createDatabase() and the four calling paths the repositories take.
export { createDatabase } from './db/database.js';
export type { CreateDatabaseOptions, Database, DatabaseStats, PrimaryPaths } from './db/database.js';
export type { ReplicaHealth, ReplicaStatus, RoutingStats } from './db/replicas.js';
export type { Executor, Scope } from './repositories/executor.js';
export { ROLE_TABLES } from './schema/roles.js';
export type { Role, RoleDB } from './schema/roles.js';
export { ACTOR_SETTING, USER_SETTING } from './db/transaction.js';
export type { TransactionOptions } from './db/transaction.js';

// The repositories, one namespace per table of functions and their input types:
// `users.createUser(database.anonymous, input)`.
export * as users from './repositories/users.js';
export * as businessIdeas from './repositories/business-ideas.js';
export * as evaluations from './repositories/evaluations.js';
export * as agentResults from './repositories/agent-results.js';
export * as auditLog from './repositories/audit-log.js';
export type { Page } from './repositories/page.js';
// The rows they return; their input types are in the namespaces (`users.CreateUserInput`).
export type { User, UserCredentials } from './repositories/users.js';
export type { BusinessIdea, IdeaStats } from './repositories/business-ideas.js';
export type { Evaluation, EvaluationWithAgentResults } from './repositories/evaluations.js';
export type { AgentResult, ScoreStats, ScoreSummary } from './repositories/agent-results.js';
export type { AuditEntry } from './repositories/audit-log.js';

// The queue's worker loop: wake-ups by LISTEN/NOTIFY, leases renewed, runs released on stop.
export { createWorker } from './queue/worker.js';
export type { CreateWorkerOptions, Worker, WorkerContext, WorkerEvent, WorkerHandler, WorkerStats } from './queue/worker.js';
export type { Lease, LeaseToken } from './queue/lease.js';
export { EVALUATION_QUEUE_CHANNEL } from './queue/listener.js';

// The schema: generated table types and enum unions, JSONB payload types and their runtime schemas
// (the repositories validate every payload with them on write), the enum label lists.
export type * from './schema/generated.js';
export type * from './schema/json.js';
export { agentInputDataSchema, agentInsightsSchema, agentOutputDataSchema, evaluationResultsSchema } from './schema/json.js';
export { IDEA_STATUSES } from './validation/business-ideas.js';
export { EVALUATION_PRIORITIES, EVALUATION_STATUSES } from './validation/evaluations.js';
export { KNOWN_AGENT_TYPES } from './validation/agent-results.js';
export { MAX_JSON_BYTES } from './validation/common.js';

// Kysely, for queries and transactions of your own on `database.db` (kysely is a peer dependency:
// these are the very copy the handles are typed with).
export { sql } from 'kysely';
export type { Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';

// Errors: one base class, a stable `code` each, PostgreSQL's error as `cause`.
export {
  BaselineMismatchError,
  ConfigError,
  ConflictError,
  ConnectionError,
  CredentialsError,
  DatabaseClosedError,
  DataLayerError,
  InvalidReferenceError,
  InvalidTransitionError,
  LegacyAdoptionError,
  MigrationError,
  NotFoundError,
  PgErrorCode,
  QueryError,
  ReadOnlyNodeError,
  SerializationError,
  StaleAttemptError,
  TimeoutError,
  ValidationError,
  WorkerStoppedError,
} from './errors.js';
export type { ConfigIssue, LegacyRowProblem, SchemaDifference, ValidationIssue } from './errors.js';

// Configuration, connections and credentials.
export { isDatabaseConfigured, loadConfig, parseConnectionUrl, resolveConfig } from './config.js';
export type {
  Config,
  ConfigOptions,
  Env,
  MigrationSettings,
  PoolSettings,
  QueryLogConfig,
  ReplicaOptions,
  ReplicaSettings,
} from './config.js';
export { describeConnection, SSL_MODES, withCredentials } from './connection.js';
export type { ConnectionSettings, CredentialOptions, PasswordProvider, SslMode, TlsSettings } from './connection.js';
export { createCachedPasswordProvider } from './credentials/password-provider.js';
export type { CachedPasswordProviderOptions } from './credentials/password-provider.js';
export { createAwsSecretsManagerPasswordProvider } from './credentials/aws-secrets-manager.js';
export type { AwsSecretsManagerPasswordProviderOptions, SecretsManagerClientLike } from './credentials/aws-secrets-manager.js';

// Operations: health, metrics, logging.
export { createHealthHandler } from './db/health-handler.js';
export type { HealthHandlerOptions } from './db/health-handler.js';
export type { HealthOptions, HealthReport, MigrationHealth } from './db/health.js';
export { QUERY_DURATION_BUCKETS_MS } from './db/metrics.js';
export type { DurationHistogram, PoolGauges } from './db/metrics.js';
export type { QueryStats } from './db/query-log.js';
export { silentLogger, stderrLogger } from './logger.js';
export type { Logger } from './logger.js';

// Migrations, for a deploy step that runs them from code.
export { createMigrator, defaultMigrationsDir } from './migrate/index.js';
export type {
  AdoptLegacyResult,
  BaselineResult,
  LintFinding,
  LintReport,
  MigrationResult,
  MigrationStatus,
  Migrator,
  MigratorOptions,
  RecordedLintIgnore,
  SizeThresholds,
} from './migrate/index.js';
