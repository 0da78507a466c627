/**
 * Shared pieces of the input schemas: the parse step that turns zod issues into a
 * `ValidationError`, ids, text rules that mirror PostgreSQL's, pagination limits, and the
 * exhaustive lists of enum labels. JSONB payloads are checked in json.ts.
 */
import { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../errors.js';

/** The largest JSONB payload accepted, as UTF-8 JSON text. Larger documents belong in object storage. */
export const MAX_JSON_BYTES = 256 * 1024;

/**
 * The earliest instant PostgreSQL's timestamptz holds (4714-11-24 BC, proleptic Gregorian, UTC).
 * Its latest (294276 AD) is beyond what a JS `Date` can hold, so every valid `Date` is below it.
 */
export const EARLIEST_TIMESTAMP_MS = Date.UTC(-4713, 10, 24);

/** A row id (uuid). */
export const id = z.uuid({ error: 'must be a UUID' });
const UUID_PATTERN = z.regexes.uuid();

/**
 * A client's key for a write it may retry after a lost connection (`*_idempotency_key_length_check`,
 * migration 20261201090000): 1 to 200 characters. A retry with the same key returns the first
 * outcome instead of writing twice.
 */
export function idempotencyKey() {
  return boundedText(IDEMPOTENCY_KEY_LENGTH.min, IDEMPOTENCY_KEY_LENGTH.max);
}
/** The idempotency key's length bounds, for the fast paths (`fitsText`). */
export const IDEMPOTENCY_KEY_LENGTH = { min: 1, max: 200 } as const;

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
  // ES2024's String.prototype.isWellFormed (Node 20+; not yet in this project's lib setting).
  return !(value as string & { isWellFormed(): boolean }).isWellFormed();
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
  // The common case without zod's machinery: the same pattern z.uuid() checks.
  if (typeof value === 'string' && UUID_PATTERN.test(value)) return value;
  const result = id.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({ path: field, message: issue.message })),
    { subject, cause: result.error },
  );
}

/**
 * Positional arguments merged into an options object, so one parse reports every field. Absent
 * options (`undefined` or `null`) are no options.
 */
export function withKeys(input: unknown, keys: Record<string, unknown>): unknown {
  if (input === undefined || input === null) return { ...keys };
  return typeof input === 'object' && !Array.isArray(input) ? { ...input, ...keys } : input;
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
  const quick = fastPaths.get(schema)?.(input);
  if (quick !== undefined) return quick as z.output<S>;
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(issuesOf(result.error), { subject, cause: result.error });
}

/** What a fast path answers: the value the schema would parse `input` to, or undefined to let zod parse it. */
export type FastPath<S extends z.ZodType> = (input: unknown) => z.output<S> | undefined;

const fastPaths = new WeakMap<z.ZodType, (input: unknown) => unknown>();

/**
 * `schema`, with a hand-written check that `parseInput` tries first: for an input the check
 * accepts it returns the check's value without running zod; for any other, zod parses it and
 * builds the error. So a fast path must never accept what the schema refuses, and must return what
 * the schema would (defaults applied); test/unit/validation.fast-paths.test.ts proves each agrees
 * with its schema on random inputs. For the inputs of the hot writes only, where zod's parse of a
 * small object cost more than the statement's own client work.
 *
 * @example
 * ```ts
 * export const claimNextSchema = withFastPath(z.strictObject({ workerId, leaseSeconds }), (input) =>
 *   isInput(input, CLAIM_KEYS) && fitsText(input.workerId, 1, 200) ? { workerId: input.workerId, leaseSeconds: 300 } : undefined);
 * ```
 */
export function withFastPath<S extends z.ZodType>(schema: S, fast: FastPath<S>): S {
  fastPaths.set(schema, fast);
  return schema;
}

/** The fast path `withFastPath` gave `schema`, if any: for the tests that prove it agrees with the schema. */
export function fastPathOf<S extends z.ZodType>(schema: S): FastPath<S> | undefined {
  return fastPaths.get(schema) as FastPath<S> | undefined;
}

/** A plain object (as `withKeys` makes) whose keys are all in `allowed`: what a strict object's fast path takes. */
export function isInput(input: unknown, allowed: ReadonlySet<string>): input is Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) return false;
  for (const key in input) if (!allowed.has(key)) return false;
  return true;
}

/** Whether `value` is text `boundedText(min, max)` accepts, without building an error. */
export function fitsText(value: unknown, min: number, max: number): value is string {
  if (typeof value !== 'string' || value.includes('\u0000') || hasLoneSurrogate(value)) return false;
  // UTF-16 units count at least the code points, and at most twice as many.
  if (value.length > max && charLength(value) > max) return false;
  const trimmed = value.charCodeAt(0) === 32 || value.charCodeAt(value.length - 1) === 32 ? btrim(value) : value;
  return trimmed.length >= 2 * min || charLength(trimmed) >= min;
}

/** Whether `value` is a UUID `id` accepts. */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/** A zod error's issues as `ValidationError` issues: a dotted path each (`(root)` for the input itself). */
export function issuesOf(error: z.ZodError): ValidationIssue[] {
  return fieldIssues(error.issues, []).map(({ path, message }) => ({ path: path.length > 0 ? path.join('.') : '(root)', message }));
}

/**
 * `issues` under `prefix`, with a failed union replaced by its one option of the input's kind:
 * `{ agentType, inputData: 'text' }` is refused at `runs.0.inputData`, not as a whole `runs.0`.
 */
function fieldIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      // The option of the input's kind: not refused for its type; failing that, the one that got inside it.
      const ofKind = issue.errors.filter((option) => !option.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
      const inside = ofKind.filter((option) => option.some((inner) => inner.path.length > 0));
      const chosen = ofKind.length === 1 ? ofKind[0] : inside.length === 1 ? inside[0] : undefined;
      if (chosen) return fieldIssues(chosen, path);
    }
    return [{ path, message: issue.message }];
  });
}
