/**
 * Opaque page cursors: what a list returns as `nextCursor` and takes back as `cursor`. Each holds
 * the last row's sort key as base64url JSON; anything not made here (tampered, truncated,
 * foreign) is a `ValidationError` naming `cursor`, before any query.
 *
 * Newest-first lists sort by (created_at, id) and keep created_at as text with microseconds,
 * straight from PostgreSQL: a JS `Date` has only milliseconds, and rows created within the same
 * millisecond would otherwise be repeated or skipped at a page boundary. The audit log pages by
 * its sequence id, and an evaluation's agent results by their agent type (unique per evaluation).
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** The sort key of a newest-first list: created_at as ISO 8601 UTC with microseconds, and the row id. */
export interface CursorKey {
  createdAt: string;
  id: string;
}

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A cursor is small; anything much longer was not made here. */
const MAX_CURSOR_LENGTH = 200;

/**
 * Whether an ISO 8601 UTC instant names a real date and time that PostgreSQL takes: `Date.parse`
 * would roll 2026-02-30 over into March instead of refusing it, and accepts year 0, which
 * PostgreSQL's ISO input does not have (1 BC is `0001-01-01 BC`).
 */
function isCalendarInstant(iso: string): boolean {
  const ms = Date.parse(iso);
  return !iso.startsWith('0000') && !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === iso.slice(0, 19);
}

const encode = (payload: object): string => Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');

/** The cursor's JSON object, or undefined when it is not one of ours. */
function payloadOf(cursor: string): Record<string, unknown> | undefined {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

/**
 * Encodes a newest-first sort key as an opaque cursor.
 *
 * @example
 * ```ts
 * encodeCursor({ createdAt: '2026-11-25T09:00:00.123456Z', id: '0b6e...' }); // 'eyJ0Ijoi...'
 * ```
 */
export function encodeCursor(key: CursorKey): string {
  return encode({ t: key.createdAt, i: key.id });
}

function tryDecode(cursor: string): CursorKey | undefined {
  const payload = payloadOf(cursor);
  if (!payload) return undefined;
  const { t, i, ...rest } = payload;
  if (Object.keys(rest).length > 0 || typeof t !== 'string' || typeof i !== 'string') return undefined;
  if (!ISO_MICROS.test(t) || !isCalendarInstant(t) || !UUID.test(i)) return undefined;
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

/** Encodes a position in the audit log (its sequence id) as an opaque cursor. */
export function encodeSequenceCursor(id: number): string {
  return encode({ n: id });
}

function tryDecodeSequence(cursor: string): number | undefined {
  const payload = payloadOf(cursor);
  if (!payload) return undefined;
  const { n, ...rest } = payload;
  return Object.keys(rest).length === 0 && Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : undefined;
}

/** Encodes the last unique text key of a page (an agent type) as an opaque cursor. */
export function encodeKeyCursor(key: string): string {
  return encode({ k: key });
}

/** A zod schema for a `cursor` input field that `decode` turns into its key. */
function cursorSchema<K>(decode: (cursor: string) => K | undefined) {
  return z.string({ error: 'must be a cursor string from a previous page' }).transform((value, ctx): K => {
    const key = decode(value);
    if (key !== undefined) return key;
    ctx.addIssue({ code: 'custom', message: 'is not a valid cursor' });
    return z.NEVER;
  });
}

/** The `cursor` field of a newest-first list, parsed into its `CursorKey`. */
export const cursor = cursorSchema(tryDecode);

/** The `cursor` field of the audit log, parsed into the sequence id it continues after. */
export const sequenceCursor = cursorSchema(tryDecodeSequence);

/**
 * The `cursor` field of a list ordered by a unique text key, parsed into the key it continues
 * after; a key that `key` refuses (one no row could have) is not a valid cursor.
 */
export function keyCursor(key: z.ZodType<string>) {
  return cursorSchema((cursor): string | undefined => {
    const payload = payloadOf(cursor);
    if (!payload) return undefined;
    const { k, ...rest } = payload;
    return Object.keys(rest).length === 0 && key.safeParse(k).success ? (k as string) : undefined;
  });
}
