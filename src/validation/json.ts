/**
 * JSONB payloads: what can be stored exactly as jsonb and read back as it was written. Checked by
 * walking the value iteratively (no recursion, so a payload nested thousands of levels deep is
 * refused by rule instead of overflowing the stack), before anything is serialised, and returned
 * as given (never rebuilt, so an own `__proto__` or `constructor` key is stored like any other).
 */
import { z } from 'zod';
import type { JsonObject } from '../schema/json.js';
import { MAX_JSON_BYTES } from './common.js';
import { shapeGuard } from './payload-guards.js';

/** The deepest nesting of objects and arrays a payload may have, the payload itself counted as 1. */
export const MAX_JSON_DEPTH = 64;

/** One reason a value cannot be stored exactly, at `path` below the payload. */
export interface JsonProblem {
  path: (string | number)[];
  message: string;
}

const NUL = 'must not contain the NUL character (\\u0000)';
const LONE_SURROGATE = 'must be well-formed Unicode (no lone surrogate)';

/** What a non-JSON value is, for a message that says what to send instead. */
function notJson(value: unknown): string {
  if (value instanceof Date) return 'must be a JSON value, not a Date (send an ISO 8601 string)';
  if (typeof value === 'object') return `must be a plain JSON object or array, not a ${value?.constructor?.name ?? 'class instance'}`;
  return `must be a JSON value (string, finite number, boolean, null, array or object), not ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`;
}

/**
 * Everything that keeps `value` (a payload's content) from being stored exactly as jsonb: values
 * JSON cannot hold (undefined, functions, symbols, bigints, NaN, Infinity, Dates, class
 * instances, array holes, symbol keys), cycles, nesting deeper than `maxDepth`, text jsonb
 * refuses (NUL, lone surrogates: reported once, at the payload), and more than `maxBytes` of JSON.
 * Empty when it can be stored.
 *
 * @example
 * ```ts
 * jsonProblems({ a: { b: undefined } }); // [{ path: ['a', 'b'], message: 'must be a JSON value (...), not undefined' }]
 * ```
 */
export function jsonProblems(value: unknown, maxBytes = MAX_JSON_BYTES, maxDepth = MAX_JSON_DEPTH): JsonProblem[] {
  // Most payloads are fine: a quick recursive pass says so without building anything; only a
  // payload it refuses is walked again, to say where and why.
  if (isStorableJson(value, maxBytes, maxDepth)) return [];
  return problemsOf(value, maxBytes, maxDepth);
}

/** The running totals of one walk (an object per call, so a getter that validates too cannot mix two walks). */
interface Totals {
  values: number;
  /** At most this many bytes of JSON: each string counted as if every character were escaped as \uXXXX. */
  bound: number;
  nul: boolean;
  lone: boolean;
}

/** Counts `s` as JSON text (see `Totals.bound`) and notes NUL and lone surrogates. */
function countText(totals: Totals, s: string): void {
  totals.nul ||= s.includes('\u0000');
  // hasLoneSurrogate, inlined: a call into another module is a getter under tsx's loader.
  totals.lone ||= !(s as string & { isWellFormed(): boolean }).isWellFormed();
  totals.bound += 6 * s.length + 3;
}

/**
 * The deepest `maxDepth` the quick pass recurses to; a deeper limit (never the default) takes the
 * iterative walk, which cannot overflow the stack.
 */
const QUICK_MAX_DEPTH = 256;

/**
 * Whether `jsonProblems(value, maxBytes, maxDepth)` finds nothing, worked out by a recursive pass
 * that stops at the first problem and allocates no frames or paths. A cycle is never followed
 * forever: it nests past `maxDepth`, which is a refusal here too. Exported for the test that
 * proves the two agree.
 */
export function isStorableJson(value: unknown, maxBytes = MAX_JSON_BYTES, maxDepth = MAX_JSON_DEPTH): boolean {
  if (maxDepth > QUICK_MAX_DEPTH) return problemsOf(value, maxBytes, maxDepth).length === 0;
  const totals: Totals = { values: 0, bound: 0, nul: false, lone: false };
  if (!storable(value, 1, totals, maxBytes, maxDepth) || totals.nul || totals.lone) return false;
  return totals.bound <= maxBytes || Buffer.byteLength(JSON.stringify(value), 'utf8') <= maxBytes;
}

/** One value of the quick pass: the same rules as `problemsOf`, in the same order. */
function storable(v: unknown, depth: number, totals: Totals, maxBytes: number, maxDepth: number): boolean {
  if (++totals.values > maxBytes) return false;
  if (typeof v === 'string') {
    countText(totals, v);
    return true;
  }
  totals.bound += 25;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v === 'boolean' || v === null) return true;
  if (typeof v !== 'object' || depth > maxDepth) return false;
  if (Array.isArray(v)) {
    if (Object.getOwnPropertySymbols(v).length > 0) return false;
    for (let i = 0; i < v.length; i++) {
      // A hole reads as undefined, which is refused as well.
      if (!storable((v as unknown[])[i], depth + 1, totals, maxBytes, maxDepth)) return false;
    }
    return true;
  }
  const prototype: unknown = Object.getPrototypeOf(v);
  if ((prototype !== Object.prototype && prototype !== null) || Object.getOwnPropertySymbols(v).length > 0) return false;
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    countText(totals, key);
    if (!storable((v as Record<string, unknown>)[key], depth + 1, totals, maxBytes, maxDepth)) return false;
  }
  return true;
}

/** `jsonProblems`' walk: iterative, every problem at its path. */
function problemsOf(value: unknown, maxBytes: number, maxDepth: number): JsonProblem[] {
  const problems: JsonProblem[] = [];
  const at = (frame: Visit, message: string, key?: string | number): void => {
    const path = pathOf(frame);
    problems.push({ path: key === undefined ? path : [...path, key], message });
  };
  const totals: Totals = { values: 0, bound: 0, nul: false, lone: false };
  // Depth-first with explicit frames; `leave` frames take a container off the current path. A
  // frame knows its parent and key, so a path is built only for a value that has a problem.
  const stack: (Visit | { leave: object })[] = [{ value, depth: 1 }];
  const onPath = new Set<object>();
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      onPath.delete(frame.leave);
      continue;
    }
    // Every value takes at least one byte of JSON: past maxBytes of them, the payload is too large.
    if (++totals.values > maxBytes) return [{ path: [], message: `must be at most ${maxBytes} bytes as JSON` }];
    const { value: v, depth } = frame;
    if (typeof v === 'string') {
      countText(totals, v);
      continue;
    }
    totals.bound += 25; // a number's longest form, a literal, or a container's brackets and commas
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) at(frame, 'must be a finite number');
      continue;
    }
    if (typeof v === 'boolean' || v === null) continue;
    if (typeof v !== 'object') {
      at(frame, notJson(v));
      continue;
    }
    if (onPath.has(v)) {
      at(frame, 'must not contain a cycle (an object or array inside itself)');
      continue;
    }
    if (depth > maxDepth) return [...problems, { path: [], message: `must be at most ${maxDepth} levels deep` }];
    const isArray = Array.isArray(v);
    const prototype: unknown = Object.getPrototypeOf(v);
    if (!isArray && prototype !== Object.prototype && prototype !== null) {
      at(frame, notJson(v));
      continue;
    }
    if (Object.getOwnPropertySymbols(v).length > 0) at(frame, 'must not have symbol keys (JSON drops them)');
    onPath.add(v);
    stack.push({ leave: v });
    if (isArray) {
      for (let i = v.length - 1; i >= 0; i--) {
        if (i in v) stack.push({ value: (v as unknown[])[i], parent: frame, key: i, depth: depth + 1 });
        else at(frame, 'must not be a hole in an array (JSON turns it into null)', i);
      }
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        countText(totals, key);
        stack.push({ value: (v as Record<string, unknown>)[key], parent: frame, key, depth: depth + 1 });
      }
    }
  }
  // Only a payload that could be too large is serialised to measure it exactly.
  if (problems.length === 0 && totals.bound > maxBytes && Buffer.byteLength(JSON.stringify(value), 'utf8') > maxBytes) {
    problems.push({ path: [], message: `must be at most ${maxBytes} bytes as JSON` });
  }
  if (totals.nul) problems.push({ path: [], message: NUL });
  if (totals.lone) problems.push({ path: [], message: LONE_SURROGATE });
  return problems;
}

/** A value to visit: where it is (its container's frame and its key there) and how deep. */
interface Visit {
  value: unknown;
  parent?: Visit;
  key?: string | number;
  depth: number;
}

function pathOf(frame: Visit): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: Visit | undefined = frame; at?.parent; at = at.parent) path.push(at.key!);
  return path.reverse();
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A JSON object payload of at most `maxBytes` (and `MAX_JSON_DEPTH` levels), returned as given:
 * see `jsonProblems` for what is refused, each problem reported at its path.
 *
 * @example
 * ```ts
 * const schema = z.strictObject({ contains: jsonObject(16 * 1024) });
 * ```
 */
export function jsonObject(maxBytes = MAX_JSON_BYTES) {
  return checkedObject(maxBytes);
}

/**
 * A JSONB payload checked twice: as JSON (`jsonProblems`: depth, size, cycles, text jsonb refuses,
 * values JSON cannot hold) and, when that holds, by its shape (`schema`, from src/schema/json.ts).
 * Returned as given, not as zod rebuilt it, so what is stored is exactly what was sent.
 *
 * @example
 * ```ts
 * const completeAgentRunSchema = z.strictObject({ outputData: payload(agentOutputDataSchema) });
 * ```
 */
export function payload<T>(schema: z.ZodType<T>, maxBytes = MAX_JSON_BYTES): z.ZodType<T, T> {
  return checkedObject(maxBytes, schema) as unknown as z.ZodType<T, T>;
}

/**
 * Whether `value` is a payload `payload(shape, maxBytes)` accepts, as far as the shape's guard
 * (payload-guards.ts) can tell without zod: false for a shape without a guard, and for any value
 * its guard refuses, which zod must then check. For the fast paths of whole inputs (`withFastPath`).
 */
export function isPayload(value: unknown, shape: z.ZodType, maxBytes = MAX_JSON_BYTES): boolean {
  const guard = shapeGuard(shape);
  return guard !== undefined && isObject(value) && isStorableJson(value, maxBytes) && guard(value);
}

function checkedObject(maxBytes: number, shape?: z.ZodType) {
  const guard = shape && shapeGuard(shape);
  return z.custom<JsonObject>(isObject, { error: 'must be a JSON object' }).superRefine((value, ctx) => {
    const problems = jsonProblems(value, maxBytes);
    for (const problem of problems) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    if (problems.length > 0 || !shape || guard?.(value) === true) return;
    const parsed = shape.safeParse(value);
    if (!parsed.success)
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
}
