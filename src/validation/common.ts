/**
 * Shared pieces of the input schemas: the parse step that turns zod issues into a
 * `ValidationError`, ids, text rules that mirror PostgreSQL's, JSONB payloads with a size cap,
 * pagination limits, and the exhaustive lists of enum labels.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** The largest JSONB payload accepted, as UTF-8 JSON text. Larger documents belong in object storage. */
export const MAX_JSON_BYTES = 256 * 1024;

/** A row id (uuid). */
export const id = z.uuid({ error: 'must be a UUID' });

/** A JSON value: what survives JSON.stringify and jsonb unchanged. */
export const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    z.string(),
    z.number().refine(Number.isFinite, 'must be a finite number'),
    z.boolean(),
    z.null(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
);

// JSON.stringify writes NUL as \u0000 and a lone surrogate as \udXXX, and a backslash in the data
// as \\: an escape is the real thing only after an even number of backslashes (the text "\u0000"
// is fine). jsonb refuses both; text would silently turn a lone surrogate into U+FFFD.
const jsonEscape = (hex: string) => new RegExp(String.raw`(?:^|[^\\])(?:\\\\)*\\u(?:${hex})`, 'i');
const NUL_ESCAPE = jsonEscape('0000');
const LONE_SURROGATE_ESCAPE = jsonEscape('d[89a-f][0-9a-f]{2}');

/**
 * A JSON object of at most `maxBytes` once serialised. PostgreSQL's jsonb refuses the NUL
 * character (\u0000) and lone surrogates in strings, so they are rejected here with a clear message instead.
 */
export function jsonObject(maxBytes = MAX_JSON_BYTES) {
  return z.record(z.string(), jsonValue).superRefine((value, ctx) => {
    const text = JSON.stringify(value);
    if (Buffer.byteLength(text, 'utf8') > maxBytes) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${maxBytes} bytes as JSON` });
    }
    if (NUL_ESCAPE.test(text)) ctx.addIssue({ code: 'custom', message: 'must not contain the NUL character (\\u0000)' });
    if (LONE_SURROGATE_ESCAPE.test(text)) ctx.addIssue({ code: 'custom', message: 'must be well-formed Unicode (no lone surrogate)' });
  });
}

// --- text, as PostgreSQL counts and stores it: `char_length` counts code points (not UTF-16
// units), `btrim(x)` strips spaces only, and `text` cannot hold the NUL character.

/** PostgreSQL's `char_length`: code points. */
export function charLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** PostgreSQL's one-argument `btrim`: strips leading and trailing spaces (U+0020) only. */
export function btrim(value: string): string {
  return value.replace(/^ +| +$/g, '');
}

/**
 * Whether `value` holds a lone UTF-16 surrogate: not Unicode, so it cannot be stored as sent
 * (node-postgres encodes it as U+FFFD, silently changing the text).
 */
export function hasLoneSurrogate(value: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value);
}

/**
 * A text column with a CHECK of the form `char_length(btrim(x)) >= min AND char_length(x) <= max`.
 * NUL is rejected here because PostgreSQL refuses it in text (it would fail with a less clear error),
 * and lone surrogates because they would be stored as U+FFFD.
 */
export function boundedText(min: number, max: number) {
  return z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
    if (value.includes('\u0000')) ctx.addIssue({ code: 'custom', message: 'must not contain the NUL character (\\u0000)' });
    if (hasLoneSurrogate(value)) ctx.addIssue({ code: 'custom', message: 'must be well-formed Unicode (no lone surrogate)' });
    if (charLength(btrim(value)) < min) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at least ${min} character${min === 1 ? '' : 's'}, not counting leading and trailing spaces`,
      });
    }
    if (charLength(value) > max) ctx.addIssue({ code: 'custom', message: `must be at most ${max} characters` });
  });
}

/** Page size for list functions: 1 to 100, default 20. */
export const limit = z.number().int({ error: 'must be a whole number' }).min(1).max(100).default(20);

/**
 * A row id passed as its own argument (`getUser(db, id)`), checked as a UUID and reported under
 * `field`, the argument's name, with the input's other issues when merged by `withKeys`.
 *
 * @example
 * ```ts
 * const key = parseId(id, 'id', 'user'); // ValidationError { path: 'id', message: 'must be a UUID' }
 * ```
 */
export function parseId(value: unknown, field: string, subject: string): string {
  const result = id.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({ path: field, message: issue.message })),
    { subject, cause: result.error },
  );
}

/** Positional arguments merged into an options object, so one parse reports every field. */
export function withKeys(input: unknown, keys: Record<string, unknown>): unknown {
  return typeof input === 'object' && input !== null && !Array.isArray(input) ? { ...input, ...keys } : input;
}

/**
 * The labels of a database enum as a list that must name every label of the generated union and
 * nothing else: a label added to or removed from the enum (and so from the generated type), or
 * from the list, fails the typecheck at the list.
 *
 * @example
 * ```ts
 * export const IDEA_STATUSES = enumLabels<IdeaStatus>()(['draft', 'submitted', 'evaluating', 'completed', 'archived']);
 * ```
 */
export function enumLabels<E extends string>() {
  return <const L extends readonly E[]>(labels: L & MissingLabels<E, L[number]>): L => labels;
}

/** Nothing when `L` covers `E`; else a property the list cannot have, named after what it misses. */
type MissingLabels<E, L> = [Exclude<E, L>] extends [never] ? unknown : { 'missing enum labels': Exclude<E, L> };

/**
 * Validates `input` against `schema`, returning the parsed value or throwing a `ValidationError`
 * that lists every failing field path (never the values).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({ path: issue.path.length > 0 ? issue.path.join('.') : '(root)', message: issue.message })),
    { subject, cause: result.error },
  );
}
