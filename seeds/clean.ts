/** Emptying a development database: every project table, keeping the schema and the ledger. */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../src/schema/generated.js';

/** Tables `cleanDatabase()` never empties: the migration ledger. */
export const KEPT_TABLES = ['schema_migrations'] as const;

/**
 * Truncates every table in the public schema except schema_migrations, in one statement
 * (RESTART IDENTITY, CASCADE), and returns how many rows each held.
 *
 * @example
 * ```ts
 * const emptied = await cleanDatabase(database.owner);
 * ```
 */
export async function cleanDatabase(db: Kysely<DB>): Promise<{ table: string; rows: number }[]> {
  return db.transaction().execute(async (trx) => {
    const { rows: tables } = await sql<{ table: string }>`
      SELECT tablename AS table FROM pg_tables
      WHERE schemaname = 'public' AND NOT (tablename = ANY(${[...KEPT_TABLES]}::text[]))
      ORDER BY tablename`.execute(trx);
    const emptied: { table: string; rows: number }[] = [];
    for (const { table } of tables) {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(`public.${table}`)}`.execute(trx);
      emptied.push({ table, rows: rows[0]?.n ?? 0 });
    }
    if (tables.length > 0) {
      await sql`TRUNCATE ${sql.join(tables.map((t) => sql.table(`public.${t.table}`)))} RESTART IDENTITY CASCADE`.execute(trx);
    }
    return emptied;
  });
}
