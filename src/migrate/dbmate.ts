/**
 * A ledger written by dbmate: the same file format and the same table name as ours,
 * `public.schema_migrations`, but one column, `version` (the files' timestamps). Recognised by its
 * columns, read as applied migrations, and converted (under the migration lock) into this runner's
 * ledger, the dbmate table kept beside it as `schema_migrations_dbmate`.
 */
import type pg from 'pg';
import { MigrationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MigrationFile } from './files.js';
import { ensureLedger, INSERT_LEDGER_ROW, LEDGER_TABLE, recordedLintIgnores, type LedgerRow } from './ledger.js';

/** Where the converted dbmate table is kept (in `public`, beside the new ledger). */
export const DBMATE_ARCHIVE = 'schema_migrations_dbmate';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Whether `public.schema_migrations` is dbmate's: a `version` column and no `name` column. */
export async function isDbmateLedger(client: Queryable): Promise<boolean> {
  const { rows } = await client.query<{ columns: string[] | null }>(
    `SELECT array_agg(attname::text) AS columns FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [LEDGER_TABLE],
  );
  const columns = rows[0]?.columns ?? [];
  return columns.includes('version') && !columns.includes('name');
}

/**
 * dbmate's applied versions as ledger rows for `files` (checksums: the files' own, since dbmate
 * keeps none). Throws a `MigrationError` (`MIGRATION_LEDGER`) naming versions no file has.
 *
 * @example
 * ```ts
 * if (await isDbmateLedger(client)) rows = await dbmateLedgerRows(client, loadMigrations(dir));
 * ```
 */
export async function dbmateLedgerRows(client: Queryable, files: readonly MigrationFile[]): Promise<LedgerRow[]> {
  const { rows } = await client.query<{ version: string }>(`SELECT version::text AS version FROM ${LEDGER_TABLE} ORDER BY 1`);
  const byVersion = new Map(files.map((f) => [f.version, f]));
  const unknown = rows.map((r) => r.version.trim()).filter((v) => !byVersion.has(v));
  if (unknown.length > 0) {
    throw new MigrationError(
      `${LEDGER_TABLE} is a dbmate ledger recording version${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}, ` +
        `which no migration file has; restore the file${unknown.length === 1 ? '' : 's'} (from version control) before converting it. Nothing was changed.`,
      { code: 'MIGRATION_LEDGER', file: `${unknown[0]}_*.sql` },
    );
  }
  const now = new Date();
  return rows
    .map((r) => byVersion.get(r.version.trim())!)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => ({
      name: f.name,
      checksum: f.checksum,
      appliedAt: now,
      executionMs: 0,
      ...(f.lintIgnores.length > 0 ? { lintIgnores: f.lintIgnores.map(({ rule, reason, line }) => ({ rule, reason, line })) } : {}),
    }));
}

/**
 * Converts a dbmate ledger into this runner's, in one transaction: dbmate's table is renamed to
 * `public.schema_migrations_dbmate` (its primary key too, so the new ledger can take the name),
 * the ledger is created and gets one row per dbmate version. Returns the names recorded. Call
 * only while holding the migration lock.
 *
 * @example
 * ```ts
 * if (await isDbmateLedger(client)) await convertDbmateLedger(client, files, logger);
 * ```
 */
export async function convertDbmateLedger(client: pg.ClientBase, files: readonly MigrationFile[], logger: Logger): Promise<string[]> {
  await client.query('BEGIN');
  try {
    await client.query(`LOCK TABLE ${LEDGER_TABLE} IN ACCESS EXCLUSIVE MODE`);
    const rows = await dbmateLedgerRows(client, files);
    const archived = await client.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [`public.${DBMATE_ARCHIVE}`]);
    if (archived.rows[0]?.exists) {
      throw new MigrationError(
        `${LEDGER_TABLE} is a dbmate ledger, but public.${DBMATE_ARCHIVE}, where converting keeps it, exists already; ` +
          'rename or drop one of them. Nothing was changed.',
        { code: 'MIGRATION_LEDGER' },
      );
    }
    await client.query(`ALTER TABLE ${LEDGER_TABLE} RENAME TO ${DBMATE_ARCHIVE}`);
    // Constraint names (and their indexes) would collide with the new ledger's schema_migrations_pkey.
    const { rows: constraints } = await client.query<{ conname: string }>(
      `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND conname LIKE 'schema\\_migrations%' ORDER BY 1`,
      [`public.${DBMATE_ARCHIVE}`],
    );
    for (const { conname } of constraints) {
      const renamed = `${DBMATE_ARCHIVE}${conname.slice('schema_migrations'.length)}`;
      await client.query(
        `ALTER TABLE public.${DBMATE_ARCHIVE} RENAME CONSTRAINT "${conname.replace(/"/g, '""')}" TO "${renamed.replace(/"/g, '""')}"`,
      );
    }
    await ensureLedger(client);
    for (const row of rows) {
      await client.query(INSERT_LEDGER_ROW, [row.name, row.checksum, 0, recordedLintIgnores(row.lintIgnores ?? [])]);
    }
    await client.query('COMMIT');
    logger.info(
      { converted: rows.length },
      `converted the dbmate ledger: ${rows.length} migration${rows.length === 1 ? '' : 's'} recorded in ${LEDGER_TABLE} ` +
        `(checksums of the files as they are now); dbmate's table is kept as public.${DBMATE_ARCHIVE}`,
    );
    return rows.map((r) => r.name);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
