/**
 * Shared pieces of the input schemas: the parse step that turns zod issues into a
 * `ValidationError`, ids, JSONB payloads with a size cap, and pagination limits.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** The largest JSONB payload accepted, as UTF-8 JSON text. Larger documents belong in object storage. */
export const MAX_JSON_BYTES = 256 * 1024;

/** A row id (uuid). */
export const id = z.uuid({ error: 'must be a UUID' });

/** A JSON value: what survives JSON.stringify and jsonb unchanged. */
export const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.string(), z.number().refine(Number.isFinite, 'must be a finite number'), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
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

/** Page size for list functions: 1 to 100, default 20. */
export const limit = z.number().int({ error: 'must be a whole number' }).min(1).max(100).default(20);

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
