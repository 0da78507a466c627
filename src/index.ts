/**
 * The public API of the data layer. Everything a service imports comes from here; anything not
 * exported here is internal and may change.
 */
export { createDatabase } from './db/database.js';
export type { CreateDatabaseOptions, Database } from './db/database.js';
export { ACTOR_SETTING } from './db/transaction.js';
export type { TransactionOptions } from './db/transaction.js';
export type { QueryStats } from './db/query-log.js';

export { describeConnection, isDatabaseConfigured, loadConfig, parseConnectionUrl } from './config.js';
export type { Config, ConnectionSettings, Env, MigrationSettings, PoolSettings, QueryLogConfig } from './config.js';

export {
  ConfigError,
  ConflictError,
  ConnectionError,
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

export { listAuditEntries } from './repositories/audit-log.js';
export type { AuditEntry, ListAuditEntriesInput } from './repositories/audit-log.js';

export { createMigrator, defaultMigrationsDir } from './migrate/index.js';
export type { MigrationResult, MigrationStatus, Migrator, MigratorOptions } from './migrate/index.js';

export type * from './db/schema.generated.js';
export type * from './db/json-types.js';
