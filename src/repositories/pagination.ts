/**
 * Keyset pagination shared by the list functions: an opaque cursor holding the last row's sort
 * key (created_at, id), the WHERE clause that continues after it, and the page assembly.
 *
 * The cursor keeps created_at as text with microseconds, straight from PostgreSQL: a JS `Date`
 * has only milliseconds, and rows created within the same millisecond would otherwise be
 * repeated or skipped at a page boundary.
 *
 * ```ts
 * const rows = await db.selectFrom('users')
 *   .select(['id', 'email', cursorKeySelection('users.createdAt')])
 *   .$if(key !== undefined, (qb) => qb.where(afterCursor('users.createdAt', 'users.id', key!)))
 *   .orderBy('users.createdAt', 'desc').orderBy('users.id', 'desc')
 *   .limit(limit + 1)
 *   .execute();
 * return toPage(rows, limit);
 * ```
 */
import { sql, type AliasedRawBuilder, type RawBuilder } from 'kysely';
import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** One page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The sort key a cursor carries: created_at as ISO 8601 UTC with microseconds, and the row id. */
export interface CursorKey {
  createdAt: string;
  id: string;
}

/** The name of the extra column list queries select to build the next cursor (stripped from items). */
export const CURSOR_KEY_COLUMN = 'cursorCreatedAt';

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A cursor is small; anything much longer was not made by encodeCursor. */
const MAX_CURSOR_LENGTH = 200;

/**
 * Encodes a sort key as an opaque cursor (base64url JSON).
 *
 * @example
 * ```ts
 * encodeCursor({ createdAt: '2026-11-25T09:00:00.123456Z', id: '0b6e...' }); // 'eyJ0Ijoi...'
 * ```
 */
export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify({ t: key.createdAt, i: key.id }), 'utf8').toString('base64url');
}

/** Decodes a cursor, or returns undefined when it was not made by `encodeCursor` (tampered, truncated, foreign). */
function tryDecode(cursor: string): CursorKey | undefined {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { t, i, ...rest } = parsed as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || typeof t !== 'string' || typeof i !== 'string') return undefined;
  if (!ISO_MICROS.test(t) || Number.isNaN(Date.parse(t)) || !UUID.test(i)) return undefined;
  return { createdAt: t, id: i.toLowerCase() };
}

/**
 * Decodes a cursor made by `encodeCursor`; anything else is a `ValidationError` naming `cursor`.
 *
 * @example
 * ```ts
 * const key = decodeCursor(input.cursor); // { createdAt: '2026-...Z', id: '...' }
 * ```
 */
export function decodeCursor(cursor: string): CursorKey {
  const key = tryDecode(cursor);
  if (!key) throw new ValidationError([{ path: 'cursor', message: 'is not a valid cursor' }], { subject: 'pagination' });
  return key;
}

/**
 * A zod schema for a `cursor` input field: a string made by `encodeCursor`, parsed into its
 * `CursorKey`. Used inside list-filter schemas so a bad cursor is reported with the other issues.
 */
export const cursor = z
  .string({ error: 'must be a cursor string from a previous page' })
  .transform((value, ctx): CursorKey => {
    const key = tryDecode(value);
    if (key) return key;
    ctx.addIssue({ code: 'custom', message: 'is not a valid cursor' });
    return z.NEVER;
  });

/**
 * Selects `column` (a timestamptz) as the cursor's text form, named `cursorCreatedAt`. Column
 * names come from code only; the result goes through `toPage`, which removes it from the items.
 */
export function cursorKeySelection(column: string): AliasedRawBuilder<string, typeof CURSOR_KEY_COLUMN> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(CURSOR_KEY_COLUMN);
}

/**
 * The keyset condition for a (created_at DESC, id DESC) order: rows strictly after `key`.
 * Values are parameters; the column names come from code only.
 */
export function afterCursor(createdAtColumn: string, idColumn: string, key: CursorKey): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(createdAtColumn)}, ${sql.ref(idColumn)}) < (${key.createdAt}::timestamptz, ${key.id}::uuid)`;
}

/**
 * Turns `limit + 1` rows (each with `cursorCreatedAt` and `id`) into a page: the first `limit`
 * items without the cursor column, and a cursor after the last one when more rows exist.
 */
export function toPage<R extends { id: string; cursorCreatedAt: string }>(rows: readonly R[], limit: number): Page<Omit<R, 'cursorCreatedAt'>> {
  const items = rows.slice(0, limit).map(({ cursorCreatedAt: _key, ...item }) => item);
  const last = rows[limit - 1];
  const nextCursor = rows.length > limit && last ? encodeCursor({ createdAt: last.cursorCreatedAt, id: last.id }) : null;
  return { items, nextCursor };
}
