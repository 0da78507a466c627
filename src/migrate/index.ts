/**
 * The SQL migration runner: dbmate-format files in `migrations/`, applied by Umzug under an
 * advisory lock, with a checksummed ledger (`schema_migrations`) written in each migration's
 * own transaction.
 */
export { createMigrator, type MigrationResult, type Migrator, type MigratorOptions } from './migrator.js';
export type { MigrationStatus } from './ledger.js';
export { defaultMigrationsDir } from './paths.js';
