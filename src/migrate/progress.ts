/**
 * The progress of `transaction:false` sections: `data_layer_migrate.progress`, one row per section
 * that a run started and has not finished. The row is written before the section's first statement,
 * updated as each statement completes (in the statement's own transaction where PostgreSQL allows
 * one), and deleted in the transaction that writes (or deletes) the migration's ledger row. So
 * after a killed or failed run it says exactly which statements took effect, and the next run
 * resumes from there.
 *
 * It is a companion of the ledger, not part of it: `public.schema_migrations` keeps holding only
 * finished migrations, so `readLedger`, the health check and older versions of this runner never
 * mistake a half-applied migration for an applied one. It lives in a schema of its own, created on
 * first use and dropped again when no section is in progress, so a database that never had an
 * interrupted `transaction:false` section carries no trace of it, the application roles cannot see
 * it (no USAGE), and codegen (which reads `public`) does not pick it up.
 */
import type pg from 'pg';
import { MigrationError } from '../errors.js';
import type { Logger } from '../logger.js';

export const PROGRESS_SCHEMA = 'data_layer_migrate';
export const PROGRESS_TABLE = `${PROGRESS_SCHEMA}.progress`;
const SCHEMA_COMMENT = 'created by the data-layer migration runner: transaction:false migrations in progress; dropped when none is';

/** A `transaction:false` section a run started and did not finish. */
export interface ProgressRow {
  name: string;
  direction: 'up' | 'down';
  /** The checksum of the file when the section started: the run resumes only over the same file. */
  checksum: string;
  /** Statements in the section. */
  statements: number;
  /** Statements 1..statementsDone took effect; the next one had not, or (re-runnable ones only) may have. */
  statementsDone: number;
  startedAt: Date;
  updatedAt: Date;
  /** The `application_name` of the run that started it. */
  startedBy: string;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Whether the progress table exists (reads only the catalog, so it needs no privilege on the schema). */
async function progressTableExists(client: Queryable): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND c.relname = 'progress' AND c.relkind = 'r') AS exists`,
    [PROGRESS_SCHEMA],
  );
  return rows[0]?.exists === true;
}

/** Sections in progress, by name; empty when the table does not exist (nothing is created). */
export async function readProgress(client: Queryable): Promise<ProgressRow[]> {
  if (!(await progressTableExists(client))) return [];
  const { rows } = await client.query<{
    name: string;
    direction: 'up' | 'down';
    checksum: string;
    statements: number;
    statements_done: number;
    started_at: Date;
    updated_at: Date;
    started_by: string;
  }>(
    `SELECT name, direction, checksum, statements, statements_done, started_at, updated_at, started_by
       FROM ${PROGRESS_TABLE} ORDER BY name COLLATE "C"`,
  );
  return rows.map((r) => ({
    name: r.name,
    direction: r.direction,
    checksum: r.checksum,
    statements: r.statements,
    statementsDone: r.statements_done,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    startedBy: r.started_by,
  }));
}

/**
 * Creates the schema and table if needed. Call only while holding the migration lock. A role that
 * may not create schemas gets an error saying what to grant; nothing of the section has run then.
 */
export async function ensureProgressTable(client: pg.ClientBase, file: string): Promise<void> {
  try {
    const { rows } = await client.query<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists', [
      PROGRESS_SCHEMA,
    ]);
    if (!rows[0]?.exists) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${PROGRESS_SCHEMA}`);
      await client.query(`COMMENT ON SCHEMA ${PROGRESS_SCHEMA} IS '${SCHEMA_COMMENT}'`);
    }
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
        name            text        PRIMARY KEY,
        direction       text        NOT NULL CHECK (direction IN ('up', 'down')),
        checksum        text        NOT NULL,
        statements      integer     NOT NULL,
        statements_done integer     NOT NULL DEFAULT 0 CHECK (statements_done BETWEEN 0 AND statements),
        started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        started_by      text        NOT NULL
      )`);
  } catch (error) {
    throw new MigrationError(
      `${file}: cannot create ${PROGRESS_TABLE}, where the runner records which statements of a transaction:false section took effect ` +
        `(${(error as Error).message}); nothing of the section was run. The migration role needs CREATE on the database, ` +
        `or create the schema for it once: CREATE SCHEMA ${PROGRESS_SCHEMA} AUTHORIZATION <migration role>.`,
      { file, cause: error, code: 'MIGRATION_LEDGER' },
    );
  }
}

export const INSERT_PROGRESS = `INSERT INTO ${PROGRESS_TABLE} (name, direction, checksum, statements, started_by) VALUES ($1, $2, $3, $4, $5)`;
export const UPDATE_PROGRESS = `UPDATE ${PROGRESS_TABLE} SET statements_done = $2, updated_at = clock_timestamp() WHERE name = $1`;
export const DELETE_PROGRESS = `DELETE FROM ${PROGRESS_TABLE} WHERE name = $1`;

/**
 * Drops the progress table when it holds no row, and its schema when the runner created it and
 * nothing else is in it. Best effort: a failure leaves an empty table the next run drops.
 */
export async function dropProgressTableIfEmpty(client: pg.ClientBase, lockTimeoutMs: number, logger: Logger): Promise<void> {
  if (!(await progressTableExists(client))) return;
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('lock_timeout', $1, true)", [`${lockTimeoutMs}ms`]);
    await client.query(`LOCK TABLE ${PROGRESS_TABLE} IN ACCESS EXCLUSIVE MODE`);
    const { rows } = await client.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${PROGRESS_TABLE}) AS empty`);
    if (rows[0]?.empty) {
      await client.query(`DROP TABLE ${PROGRESS_TABLE}`);
      const own = await client.query<{ ours: boolean }>(
        `SELECT obj_description(oid, 'pg_namespace') = $2 AND NOT EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = n.oid)
                AND NOT EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = n.oid) AND NOT EXISTS (SELECT 1 FROM pg_type WHERE typnamespace = n.oid) AS ours
           FROM pg_namespace n WHERE nspname = $1`,
        [PROGRESS_SCHEMA, SCHEMA_COMMENT],
      );
      if (own.rows[0]?.ours) await client.query(`DROP SCHEMA ${PROGRESS_SCHEMA}`);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    logger.debug({ err }, `could not drop the empty ${PROGRESS_TABLE}`);
  }
}
