/**
 * The ledger table `public.schema_migrations`: one row per applied migration, written by the
 * migration's own transaction (see migrator.ts), never by Umzug's storage hooks. Only finished
 * migrations have a row (a `transaction:false` section in progress is recorded apart, see
 * progress.ts). And the one rule that compares it with the migration files (applied, pending,
 * changed, missing), which the migrator's `status()` and `database.health()` share.
 */
import type pg from 'pg';
import { MigrationError } from '../errors.js';

/** Schema-qualified, so a migration that changes `search_path` cannot move or hide the ledger. */
export const LEDGER_TABLE = 'public.schema_migrations';

export interface LedgerRow {
  name: string;
  checksum: string;
  appliedAt: Date;
  executionMs: number;
  /** The file's `-- migrate:lint-ignore` lines when it was applied (absent for rows written before the lint). */
  lintIgnores?: RecordedLintIgnore[];
}

/** A lint finding a migration accepted, as the ledger records it. */
export interface RecordedLintIgnore {
  rule: string;
  reason: string;
  line: number;
}

/** Each migration on disk or in the ledger, with its state. */
export interface MigrationStatus {
  name: string;
  /** applied; pending; changed (applied, but the file was edited since); missing (applied, file gone). */
  state: 'applied' | 'pending' | 'changed' | 'missing';
  appliedAt?: Date;
  /** The ledger's checksum for applied/changed/missing, the file's for pending. */
  checksum?: string;
  executionMs?: number;
  /** The lint findings the file accepts (`-- migrate:lint-ignore`): from the ledger when applied, from the file when pending. */
  lintIgnores?: RecordedLintIgnore[];
  /**
   * Set (by the migrator's `status()`) when a run started this migration's `transaction:false`
   * section and did not finish it: up (the migration stays pending until it finishes) or down (it
   * stays applied until it finishes). The next `up` (or `down`) resumes it.
   */
  started?: StartedSection;
}

/** A `transaction:false` section that a run started and did not finish (see progress.ts). */
export interface StartedSection {
  direction: 'up' | 'down';
  /** Statements 1..statementsDone took effect. */
  statementsDone: number;
  statements: number;
  startedAt: Date;
  /** When the last statement completed (or the section started). */
  updatedAt: Date;
  /** The `application_name` of the run that started it. */
  startedBy: string;
  /** False when the file is missing or differs from the one that was started: the next run refuses until that is fixed. */
  resumable: boolean;
}

/** What the ledger is read through: a client or a pool. */
type Queryable = Pick<pg.ClientBase, 'query'>;

/** Creates the ledger if needed. Call only while holding the migration lock (concurrent CREATE races). */
export async function ensureLedger(client: pg.ClientBase): Promise<void> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
      name         text        PRIMARY KEY,
      checksum     text        NOT NULL,
      applied_at   timestamptz NOT NULL DEFAULT now(),
      execution_ms integer     NOT NULL,
      lint_ignores jsonb
    )`);
  // Ledgers written before the lint: the column is added once (checked first, so that later runs
  // take no ACCESS EXCLUSIVE lock on the ledger that the health check reads).
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'lint_ignores' AND NOT attisdropped) AS present`,
    [LEDGER_TABLE],
  );
  if (!rows[0]?.present) await client.query(`ALTER TABLE ${LEDGER_TABLE} ADD COLUMN IF NOT EXISTS lint_ignores jsonb`);
}

/** Applied migrations ordered by name; empty when the ledger does not exist yet (nothing is created). */
export async function readLedger(client: Queryable): Promise<LedgerRow[]> {
  const exists = await client.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [LEDGER_TABLE]);
  if (!exists.rows[0]?.exists) return [];
  let rows: { name: string; checksum: string; applied_at: Date; execution_ms: number; lint_ignores: RecordedLintIgnore[] | null }[];
  try {
    // lint_ignores through to_jsonb: a ledger written before the column existed still reads.
    ({ rows } = await client.query(
      `SELECT name, checksum, applied_at, execution_ms, to_jsonb(l) -> 'lint_ignores' AS lint_ignores FROM ${LEDGER_TABLE} l ORDER BY name COLLATE "C"`,
    ));
  } catch (error) {
    // 42703 undefined_column: a table of that name from another tool (dbmate keeps only "version").
    if ((error as { code?: string }).code !== '42703') throw error;
    throw new MigrationError(
      `${LEDGER_TABLE} exists but is not this runner's ledger (it needs name, checksum, applied_at, execution_ms; ` +
        `${(error as Error).message}). Was it created by another migration tool? Rename or convert it before running ` +
        `(a dbmate ledger, schema_migrations(version), is converted by migrate up or migrate baseline).`,
      { cause: error, code: 'MIGRATION_LEDGER' },
    );
  }
  return rows.map((r) => ({
    name: r.name,
    checksum: r.checksum,
    appliedAt: r.applied_at,
    executionMs: r.execution_ms,
    ...(r.lint_ignores && r.lint_ignores.length > 0 ? { lintIgnores: r.lint_ignores } : {}),
  }));
}

/**
 * Every migration on disk (`files`) or in the ledger (`rows`), by name, with its state: pending
 * (no row), applied (checksums agree), changed (they differ) or missing (a row without a file).
 */
export function migrationStates(
  files: readonly { name: string; checksum: string; lintIgnores?: readonly RecordedLintIgnore[] }[],
  rows: readonly LedgerRow[],
): MigrationStatus[] {
  const ledger = new Map(rows.map((row) => [row.name, row]));
  const byName = new Map(files.map((file) => [file.name, file]));
  const names = [...new Set([...byName.keys(), ...ledger.keys()])].sort();
  return names.map((name): MigrationStatus => {
    const file = byName.get(name);
    const checksum = file?.checksum;
    const row = ledger.get(name);
    if (!row) {
      const ignores = file?.lintIgnores?.map(({ rule, reason, line }) => ({ rule, reason, line })) ?? [];
      return { name, state: 'pending', checksum, ...(ignores.length > 0 ? { lintIgnores: ignores } : {}) };
    }
    const state = checksum === undefined ? 'missing' : checksum === row.checksum ? 'applied' : 'changed';
    return {
      name,
      state,
      appliedAt: row.appliedAt,
      checksum: row.checksum,
      executionMs: row.executionMs,
      ...(row.lintIgnores ? { lintIgnores: row.lintIgnores } : {}),
    };
  });
}

/** $4: the file's lint-ignore lines as JSON (`RecordedLintIgnore[]`), or null when it has none. */
export const INSERT_LEDGER_ROW = `INSERT INTO ${LEDGER_TABLE} (name, checksum, applied_at, execution_ms, lint_ignores) VALUES ($1, $2, clock_timestamp(), $3, $4)`;

/**
 * The ledger's `lint_ignores` value for a file's lint-ignore lines.
 *
 * @example
 * ```ts
 * recordedLintIgnores([{ rule: 'ban-drop-column', reason: 'unused since v2', line: 1, scope: 'file' }]);
 * // '[{"rule":"ban-drop-column","reason":"unused since v2","line":1}]'
 * ```
 */
export function recordedLintIgnores(ignores: readonly RecordedLintIgnore[]): string | null {
  return ignores.length === 0 ? null : JSON.stringify(ignores.map(({ rule, reason, line }) => ({ rule, reason, line })));
}
export const DELETE_LEDGER_ROW = `DELETE FROM ${LEDGER_TABLE} WHERE name = $1`;
