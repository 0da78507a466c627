/**
 * The live size of the tables a migration touches, from the catalog: `pg_class.reltuples` (the
 * planner's row estimate) and `pg_total_relation_size` (heap, indexes and TOAST on disk).
 */
import type pg from 'pg';
import type { SizeLookup } from './lint.js';
import type { TableSize } from './types.js';

/** An index resolves to its table, so `DROP INDEX i` is graded by the table `i` is on. */
const SIZE_QUERY = `
  SELECT r.name, t.oid::regclass::text AS "table", t.reltuples::float8 AS rows, pg_total_relation_size(t.oid)::float8 AS bytes
    FROM unnest($1::text[]) AS r(name)
    LEFT JOIN pg_index i ON i.indexrelid = to_regclass(r.name)
    JOIN pg_class t ON t.oid = coalesce(i.indrelid, to_regclass(r.name))`;

/**
 * A `SizeLookup` over `client` (names resolve through its `search_path`). A name that does not
 * resolve (the table does not exist yet, or the name is invalid) maps to null.
 *
 * @example
 * ```ts
 * const sizes = await tableSizeLookup(client)(['business_ideas']);
 * sizes.get('business_ideas'); // { table: 'business_ideas', rows: 1000, bytes: 491520 }
 * ```
 */
export function tableSizeLookup(client: Pick<pg.ClientBase, 'query'>): SizeLookup {
  return async (relations) => {
    const result = new Map<string, TableSize | null>(relations.map((r) => [r, null]));
    // to_regclass raises on a syntactically invalid name; those stay null.
    const valid = relations.filter((r) => /^("[^"]+"|[^".\s]+)(\.("[^"]+"|[^".\s]+))?$/.test(r));
    if (valid.length === 0) return result;
    const { rows } = await client.query<{ name: string; table: string; rows: number; bytes: number }>(SIZE_QUERY, [valid]);
    for (const row of rows) {
      // reltuples is -1 until the table is first vacuumed or analyzed (PostgreSQL 14+; 0 before).
      result.set(row.name, { table: row.table, rows: row.rows < 0 ? null : row.rows, bytes: row.bytes });
    }
    return result;
  };
}
