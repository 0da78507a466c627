/**
 * The SQL migration runner: dbmate-format files in `migrations/`, applied by Umzug under an
 * advisory lock, with a checksummed ledger (`schema_migrations`) written in each migration's
 * own transaction.
 */
export {
  createMigrator,
  type MigrationResult,
  type MigrationStatus,
  type Migrator,
  type MigratorOptions,
} from './migrator.js';
export { defaultMigrationsDir } from './paths.js';
