/**
 * Keyset pagination for the list functions: every list returns a `Page<T>`, and the newest-first
 * lists share one query tail (`newestFirst`, then `toPage`). Cursors themselves are made and checked in
 * `validation/cursor.ts`.
 */
import { sql, type SelectQueryBuilder } from 'kysely';
import { encodeCursor } from '../validation/cursor.js';

/** One page of a list: pass `nextCursor` back as `cursor` for the next; it is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The tables listed newest first, each keyed by (created_at, id). */
export type NewestFirstTable = 'users' | 'businessIdeas' | 'evaluations' | 'agentResults';

/** The key column a newest-first query selects beside each row (stripped from the items). */
interface KeyColumn {
  cursorCreatedAt: string;
}

/**
 * `query` as one page of a newest-first list: it selects each row's sort key, continues strictly
 * after `after` (a cursor's key; none on the first page), orders by (created_at, id) descending,
 * and reads `take` rows (the page's limit plus one, to know whether another page follows).
 * Column names come from code only; `after`'s values and `take` are parameters, so a compiled
 * query (compiled.ts) can pass placeholders for them. `toPage` makes the page of its rows.
 *
 * @example
 * ```ts
 * const rows = await newestFirst(db.selectFrom('users').select(USER_COLUMNS), 'users', cursor, limit + 1).execute();
 * return toPage(rows, limit);
 * ```
 */
export function newestFirst<DBT, TB extends keyof DBT, O extends { id: string }>(
  query: SelectQueryBuilder<DBT, TB, O>,
  table: NewestFirstTable,
  after: { createdAt: string; id: string } | undefined,
  take: number,
): SelectQueryBuilder<DBT, TB, O & KeyColumn> {
  const createdAt = sql.ref(`${table}.createdAt`);
  const id = sql.ref(`${table}.id`);
  return query
    .select(sql<string>`to_char(${createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursorCreatedAt'))
    .$if(after !== undefined, (qb) =>
      qb.where(sql<boolean>`(${createdAt}, ${id}) < (${after!.createdAt}::timestamptz, ${after!.id}::uuid)`),
    )
    .orderBy(createdAt, 'desc')
    .orderBy(id, 'desc')
    .limit(take) as unknown as SelectQueryBuilder<DBT, TB, O & KeyColumn>;
}

/**
 * `limit + 1` rows of a newest-first query -> a page: the first `limit` items without their key
 * column, and a cursor after the last of them when more rows exist.
 */
export function toPage<R extends { id: string } & KeyColumn>(rows: readonly R[], limit: number): Page<Omit<R, keyof KeyColumn>> {
  return pageOf(
    rows,
    limit,
    (row) => encodeCursor({ createdAt: row.cursorCreatedAt, id: row.id }),
    ({ cursorCreatedAt: _key, ...item }) => item,
  );
}

/**
 * `limit + 1` rows in page order -> a page: the first `limit` (as `item` makes them), and the
 * cursor `cursorOf` makes from the last of them when more rows exist.
 */
export function pageOf<R, T = R>(
  rows: readonly R[],
  limit: number,
  cursorOf: (row: R) => string,
  item: (row: R) => T = (row) => row as unknown as T,
): Page<T> {
  const last = rows[limit - 1];
  return { items: rows.slice(0, limit).map(item), nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
