/**
 * The SQL migration runner: dbmate-format files in `migrations/`, applied by Umzug under an
 * advisory lock, with a checksummed ledger (`schema_migrations`) written in each migration's
 * own transaction, after a lint of the pending files (`migrator.lint()`, src/migrate/lint/).
 */
export { createMigrator, type MigrationResult, type Migrator, type MigratorOptions } from './migrator.js';
export type { AdoptLegacyResult } from './adopt.js';
export type { BaselineResult } from './baseline.js';
export type { MigrationStatus, RecordedLintIgnore } from './ledger.js';
export type { LintFinding, LintReport, SizeThresholds } from './lint/index.js';
export { defaultMigrationsDir } from './paths.js';
