/**
 * JSONB payloads: what can be stored exactly as jsonb and read back as it was written. Checked by
 * walking the value iteratively (no recursion, so a payload nested thousands of levels deep is
 * refused by rule instead of overflowing the stack), before anything is serialised, and returned
 * as given (never rebuilt, so an own `__proto__` or `constructor` key is stored like any other).
 */
import { z } from 'zod';
import type { JsonObject } from '../schema/json.js';
import { hasLoneSurrogate, MAX_JSON_BYTES } from './common.js';

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
  const problems: JsonProblem[] = [];
  const at = (frame: Visit, message: string, key?: string | number): void => {
    const path = pathOf(frame);
    problems.push({ path: key === undefined ? path : [...path, key], message });
  };
  let nul = false;
  let lone = false;
  // At most this many bytes of JSON (each string as if every character were escaped as \uXXXX):
  // only a payload that could be too large is serialised to measure it exactly.
  let bound = 0;
  const text = (s: string): void => {
    nul ||= s.includes('\u0000');
    lone ||= hasLoneSurrogate(s);
    bound += 6 * s.length + 3;
  };
  // Depth-first with explicit frames; `leave` frames take a container off the current path. A
  // frame knows its parent and key, so a path is built only for a value that has a problem.
  const stack: (Visit | { leave: object })[] = [{ value, depth: 1 }];
  const onPath = new Set<object>();
  let values = 0;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      onPath.delete(frame.leave);
      continue;
    }
    // Every value takes at least one byte of JSON: past maxBytes of them, the payload is too large.
    if (++values > maxBytes) return [{ path: [], message: `must be at most ${maxBytes} bytes as JSON` }];
    const { value: v, depth } = frame;
    if (typeof v === 'string') {
      text(v);
      continue;
    }
    bound += 25; // a number's longest form, a literal, or a container's brackets and commas
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
        text(key);
        stack.push({ value: (v as Record<string, unknown>)[key], parent: frame, key, depth: depth + 1 });
      }
    }
  }
  if (problems.length === 0 && bound > maxBytes && Buffer.byteLength(JSON.stringify(value), 'utf8') > maxBytes) {
    problems.push({ path: [], message: `must be at most ${maxBytes} bytes as JSON` });
  }
  if (nul) problems.push({ path: [], message: NUL });
  if (lone) problems.push({ path: [], message: LONE_SURROGATE });
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

function checkedObject(maxBytes: number, shape?: z.ZodType) {
  return z.custom<JsonObject>(isObject, { error: 'must be a JSON object' }).superRefine((value, ctx) => {
    const problems = jsonProblems(value, maxBytes);
    for (const problem of problems) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    if (problems.length > 0 || !shape) return;
    const parsed = shape.safeParse(value);
    if (!parsed.success)
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
}
