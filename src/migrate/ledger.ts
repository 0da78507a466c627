/**
 * The ledger table `public.schema_migrations`: one row per applied migration. Rows are written
 * by the migration's own transaction (see runner.ts), never by Umzug's storage hooks.
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
}

/** Creates the ledger if needed. Call only while holding the migration lock (concurrent CREATE races). */
export async function ensureLedger(client: pg.ClientBase): Promise<void> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
      name         text        PRIMARY KEY,
      checksum     text        NOT NULL,
      applied_at   timestamptz NOT NULL DEFAULT now(),
      execution_ms integer     NOT NULL
    )`);
}

/** Applied migrations ordered by name; empty when the ledger does not exist yet (nothing is created). */
export async function readLedger(client: pg.ClientBase): Promise<LedgerRow[]> {
  const exists = await client.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [LEDGER_TABLE]);
  if (!exists.rows[0]?.exists) return [];
  let rows: { name: string; checksum: string; applied_at: Date; execution_ms: number }[];
  try {
    ({ rows } = await client.query(`SELECT name, checksum, applied_at, execution_ms FROM ${LEDGER_TABLE} ORDER BY name COLLATE "C"`));
  } catch (error) {
    // 42703 undefined_column: a table of that name from another tool (dbmate keeps only "version").
    if ((error as { code?: string }).code !== '42703') throw error;
    throw new MigrationError(
      `${LEDGER_TABLE} exists but is not this runner's ledger (it needs name, checksum, applied_at, execution_ms; ` +
        `${(error as Error).message}). Was it created by another migration tool? Rename or convert it before running.`,
      { cause: error, code: 'MIGRATION_LEDGER' },
    );
  }
  return rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at, executionMs: r.execution_ms }));
}

export const INSERT_LEDGER_ROW = `INSERT INTO ${LEDGER_TABLE} (name, checksum, applied_at, execution_ms) VALUES ($1, $2, clock_timestamp(), $3)`;
export const DELETE_LEDGER_ROW = `DELETE FROM ${LEDGER_TABLE} WHERE name = $1`;
