/**
 * The machinery of the property-based tests in test/properties/ (issue 9, item 4): hostile input
 * arbitraries, the oracles that say which inputs the contract refuses by name, the fixture world
 * the arbitraries draw real ids from, and the runner that calls a repository function and judges
 * its outcome.
 *
 * The contract every property checks (docs/library.md, "Errors"):
 * - each outcome is a valid result (checked per function: row shapes, and for writes the row read
 *   back equals what was written) or a documented typed error: `ValidationError` (non-empty
 *   `issues` of `{ path, message }`, messages never quoting an input value), `NotFoundError`,
 *   `InvalidTransitionError`, `ConflictError` or `InvalidReferenceError`. Anything else
 *   (`QueryError`, `TypeError`, `RangeError`, a raw pg error, a non-Error) is a failure;
 * - a refused call (anything thrown) wrote nothing: `max(id)` of `audit_log`, which the triggers
 *   of migration 20261125090200 append to for every insert, update and delete on users,
 *   business_ideas, evaluations and agent_results, is the same after as before (reads must not
 *   move it even when they succeed);
 * - the inputs the contract is explicit about are refused as a `ValidationError` that names the
 *   field (its path is the field or inside it), and inputs it calls valid are never refused by
 *   that field's name: JSON payloads (deeper than the documented depth, larger than
 *   `MAX_JSON_BYTES`, cyclic, non-JSON values such as undefined, functions, bigint, symbols, NaN,
 *   Infinity, Dates and class instances, NUL or lone surrogates; and, where src/schema/json.ts
 *   exports a payload type's runtime schema, valid JSON not of that type), instants (outside PostgreSQL's
 *   timestamptz range, invalid, impossible calendar dates) and cursors (anything the library did
 *   not make, impossible dates included); a required input object that is null or missing is a
 *   `ValidationError`; an optional options object that is null behaves like an absent one.
 *
 * Inputs are generated as *specs*: plain data, with recipes (`{ '@@': 'deep', depth: 2000, ... }`)
 * for what fast-check should not print or build itself (thousands of levels of nesting, cycles,
 * own `__proto__` keys, strings of 300 KB, real row ids, forged cursors). Each run builds fresh
 * values from its spec (so a counterexample prints as its recipe, and a cycle is never shared
 * between runs), resolving `ref` recipes to rows of the fixture world.
 *
 * Settings, read once here:
 * - `PROPERTY_RUNS` (default 1000): cases per property. CI runs the default; set
 *   `PROPERTY_RUNS=10000` for the long run.
 * - `PROPERTY_SEED` (default 20261125): the base seed; each property's seed is derived from it and
 *   the property's name, and printed with its outcome counts.
 * - `PROPERTY_SURVEY=1`: do not stop at the first failure: run every case, then print each class of
 *   failure with its count and a shrunk counterexample (slower; for triage).
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { sql } from 'kysely';
import { ConflictError, InvalidReferenceError, InvalidTransitionError, NotFoundError, ValidationError } from '../../src/errors.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as auditLog from '../../src/repositories/audit-log.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import type { Executor, Scope } from '../../src/repositories/executor.js';
import * as users from '../../src/repositories/users.js';
import * as common from '../../src/validation/common.js';
import { MAX_JSON_DEPTH } from '../../src/validation/json.js';
import * as payloadTypes from '../../src/schema/json.js';
import { IDEA_STATUSES } from '../../src/validation/business-ideas.js';
import { EVALUATION_PRIORITIES, EVALUATION_STATUSES } from '../../src/validation/evaluations.js';
import { KNOWN_AGENT_TYPES } from '../../src/validation/agent-results.js';
import type { UsedTestDatabase } from './database.js';

// -----------------------------------------------------------------------------------------------
// Settings
// -----------------------------------------------------------------------------------------------

function intSetting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be a whole number of at least ${min}, not "${raw}"`);
  return value;
}

/** Cases per property: 1,000 by default (CI), `PROPERTY_RUNS=10000` for the long run. */
export const PROPERTY_RUNS = intSetting('PROPERTY_RUNS', 1000, 1);
/** The base seed (reproducible by default). */
export const PROPERTY_SEED = intSetting('PROPERTY_SEED', 20261125, -(2 ** 31));
/** Survey mode: every failure class with its count and a shrunk counterexample. */
export const PROPERTY_SURVEY = process.env.PROPERTY_SURVEY === '1';
/** The vitest timeout of one property: generous for the default run, scaled for the long one. */
export const PROPERTY_TIMEOUT_MS = (PROPERTY_SURVEY ? 4 : 1) * (60_000 + PROPERTY_RUNS * 120);

/** The JSON size cap (bytes of UTF-8 JSON text), from the library. */
export const MAX_JSON_BYTES = common.MAX_JSON_BYTES;
/** The cap on a finder's `contains` document (src/validation/agent-results.ts, findByInsightsSchema). */
export const MAX_CONTAINS_BYTES = 16 * 1024;
/**
 * The documented JSON depth limit (src/validation/json.ts): the deepest nesting of objects and
 * arrays a payload may have, the payload itself counted as 1.
 */
export const JSON_DEPTH_LIMIT: number = MAX_JSON_DEPTH;

// -----------------------------------------------------------------------------------------------
// Specs and recipes
// -----------------------------------------------------------------------------------------------

/** What the arbitraries generate: plain data, possibly holding recipes. */
export type Spec = unknown;

const R = '@@';
type Recipe = { [R]: string } & Record<string, unknown>;

export function recipe(kind: string, fields: Record<string, unknown> = {}): Recipe {
  return { [R]: kind, ...fields };
}

function isRecipe(value: unknown): value is Recipe {
  return isPlainObject(value) && typeof value[R] === 'string';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/** In an object spec: the key is left out altogether. */
export const ABSENT = recipe('absent');

/** Defines an own, enumerable data property, whatever the key (`__proto__` included). */
function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export type Kind = 'user' | 'idea' | 'evaluation' | 'agentResult';
export const STATES = {
  user: ['live', 'deleted'],
  idea: ['draft', 'submitted', 'evaluating', 'completed', 'archived', 'deleted'],
  evaluation: ['pending', 'analyzing', 'expired', 'completed', 'failed'],
  agentResult: ['pending', 'running', 'completed', 'failed'],
} as const satisfies Record<Kind, readonly string[]>;

export type CursorFamily = 'newest' | 'sequence' | 'key';

/** The worker id the fixture world's claimed evaluations are held by. */
export const FIXTURE_WORKER = 'property-worker';

let uniqueCounter = 0;
const unique = (): number => ++uniqueCounter;

interface BuildContext {
  refs: ReadonlyMap<string, string>;
  world: World;
}

const refKey = (r: Recipe): string => `${String(r.kind)}:${String(r.state)}:${String(r.pick)}`;

/** The value a spec stands for, built afresh. */
function build(spec: Spec, ctx: BuildContext): unknown {
  if (Array.isArray(spec)) return spec.map((item) => build(item, ctx));
  if (isRecipe(spec)) return buildRecipe(spec, ctx);
  if (isPlainObject(spec)) {
    const out = {};
    for (const key of Object.keys(spec)) {
      const item = spec[key];
      if (item === ABSENT || (isRecipe(item) && item[R] === 'absent')) continue;
      define(out, key, build(item, ctx));
    }
    return out;
  }
  return spec;
}

/** The value a spec that names no fixture row (no `ref`) stands for: payloads and hostile values, for unit tests. */
export function buildSpec(spec: Spec): unknown {
  return build(spec, { refs: new Map(), world: undefined as unknown as World });
}

class Point {
  constructor(
    readonly x = 1,
    readonly y = 2,
  ) {}
}

function buildRecipe(r: Recipe, ctx: BuildContext): unknown {
  switch (r[R]) {
    case 'absent':
      return undefined;
    case 'deep': {
      // Built iteratively: `depth` containers, the outermost first (an object unless all arrays).
      const depth = r.depth as number;
      let value = build(r.leaf, ctx);
      for (let level = depth; level >= 1; level--) {
        const array = r.container === 'array' || (r.container === 'mixed' && level % 2 === 0);
        value = array ? [value] : { d: value };
      }
      return value;
    }
    case 'cycle': {
      const root: Record<string, unknown> = { name: 'cyclic' };
      switch (r.shape) {
        case 'self':
          root.self = root;
          break;
        case 'array':
          root.list = [1, root];
          break;
        case 'nested':
          root.a = { b: { c: { back: root } } };
          break;
        case 'inner': {
          const inner: Record<string, unknown> = { v: 1 };
          inner.again = inner;
          root.inner = inner;
          break;
        }
        case 'viaProto':
          // Hidden behind an own __proto__ key, which a careless copy drops together with the cycle.
          define(root, '__proto__', { loop: root });
          break;
      }
      return root;
    }
    case 'shared': {
      // The same object twice, no cycle: valid JSON (JSON.stringify writes it twice).
      const shared = { v: 1, list: ['x'] };
      return { a: shared, b: [shared, shared], c: { shared } };
    }
    case 'own': {
      const out = build(r.rest ?? {}, ctx) as object;
      const value = build(r.value, ctx);
      // As JSON.parse makes it when the value is JSON; Object.defineProperty otherwise (the same own property).
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch {
        text = undefined;
      }
      if (r.how === 'json' && text !== undefined && isPlainObject(out) && Object.keys(out).length === 0) {
        return JSON.parse(`{${JSON.stringify(r.key)}:${text}}`) as unknown;
      }
      define(out, r.key as string, value);
      return out;
    }
    case 'merge': {
      const out = build(r.base, ctx);
      if (typeof out !== 'object' || out === null) return out;
      const extra = r.extra as [string, Spec][];
      for (const [key, value] of extra) define(out, key, build(value, ctx));
      return out;
    }
    case 'repeat':
      return (r.unit as string).repeat(r.times as number);
    case 'sized': {
      // A JSON object of exactly `bytes` bytes of UTF-8 JSON text: {"p":"xxx..."}.
      return { p: 'x'.repeat((r.bytes as number) - 8) };
    }
    case 'date': {
      if (typeof r.ms === 'number') return new Date(r.ms);
      const date = new Date(Date.UTC(2000, (r.month as number | undefined) ?? 0, 15, 12));
      date.setUTCFullYear(r.year as number);
      return date;
    }
    case 'special':
      return special(r.what as string);
    case 'ref': {
      const id = ctx.refs.get(refKey(r));
      if (id === undefined) throw new Error(`unresolved ref ${refKey(r)}`);
      return refForm(r.kind === 'userEmail' ? (ctx.world.emailOf(id) ?? 'gone@example.test') : id, r.form as string | undefined);
    }
    case 'mainUser':
      return refForm(ctx.world.mainUser.id, r.form as string | undefined);
    case 'hostEvaluation':
      return ctx.world.hostEvaluation;
    case 'hostIdea':
      return ctx.world.hostIdea;
    case 'uniqueEmail':
      return refForm(`prop-${unique()}-${Date.now().toString(36)}@example.test`, r.form as string | undefined);
    case 'uniqueAgentType':
      return `agent-${Date.now().toString(36)}-${unique()}`;
    case 'cursor': {
      const payload = build(r.payload, ctx);
      const text = typeof payload === 'string' && r.raw === true ? payload : JSON.stringify(payload);
      const encoded = Buffer.from(text, 'utf8').toString(r.encoding === 'base64' ? 'base64' : 'base64url');
      return r.tamper ? tamper(encoded, r.tamper as string) : encoded;
    }
    case 'realCursor': {
      const list = ctx.world.cursors[r.family as CursorFamily];
      const cursor = list[(r.pick as number) % list.length] ?? '';
      return r.tamper ? tamper(cursor, r.tamper as string) : cursor;
    }
    default:
      throw new Error(`unknown recipe ${String(r[R])}`);
  }
}

function refForm(value: string, form: string | undefined): string {
  switch (form) {
    case 'upper':
      return value.toUpperCase();
    case 'padded':
      return ` ${value} `;
    case 'nul':
      return `${value}\u0000`;
    case 'braced':
      return `{${value}}`;
    case 'truncated':
      return value.slice(0, -1);
    default:
      return value;
  }
}

function tamper(cursor: string, how: string): string {
  switch (how) {
    case 'truncate':
      return cursor.slice(0, Math.max(1, cursor.length - 3));
    case 'flip':
      return cursor.length > 0 ? `${cursor.slice(0, 4)}${cursor[4] === 'A' ? 'B' : 'A'}${cursor.slice(5)}` : 'A';
    case 'pad':
      return `${cursor}==`;
    case 'append':
      return `${cursor}x`;
    case 'upper':
      return cursor.toUpperCase();
    case 'space':
      return ` ${cursor}`;
    default:
      return cursor;
  }
}

function special(what: string): unknown {
  switch (what) {
    case 'undefined':
      return undefined;
    case 'function':
      return function payloadFunction() {
        return 1;
      };
    case 'symbol':
      return Symbol('payload');
    case 'bigint':
      return 10n;
    case 'map':
      return new Map([['a', 1]]);
    case 'set':
      return new Set([1]);
    case 'class':
      return new Point();
    case 'buffer':
      return Buffer.from('abc');
    case 'typedArray':
      return new Uint8Array([1, 2]);
    case 'regexp':
      return /x/g;
    case 'error':
      return new Error('payload error');
    case 'boxed':
      return new String('boxed');
    case 'date':
      return new Date(Date.UTC(2026, 0, 1));
    case 'toJSON':
      return { toJSON: () => 'replaced' };
    case 'nullProto':
      return Object.assign(Object.create(null) as object, { a: 1 });
    case 'promise':
      return Promise.resolve(1);
    default:
      throw new Error(`unknown special ${what}`);
  }
}

/** The refs a spec holds (recipes included), to resolve before building. */
function collectRefs(spec: Spec, out: Recipe[]): void {
  if (Array.isArray(spec)) {
    for (const item of spec) collectRefs(item, out);
  } else if (isPlainObject(spec)) {
    if (isRecipe(spec) && spec[R] === 'ref') out.push(spec);
    for (const key of Object.keys(spec)) collectRefs(spec[key], out);
  }
}

// -----------------------------------------------------------------------------------------------
// Arbitraries
// -----------------------------------------------------------------------------------------------

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
/** A hostile value shrinks towards the first (valid) choice, so counterexamples keep only what matters. */
const CROSS = { withCrossShrink: true };

/** Strings that are unusual in every way a caller can make them. */
const weirdStrings = fc.constantFrom(
  '',
  ' ',
  '   padded on both sides   ',
  '\t\n\r',
  '\u202Eevil\u202C \u200F\u05E2\u05D1\u05E8\u05D9\u05EA',
  '\u0645\u0631\u062D\u0628\u0627 \u200F',
  '\u{1F680} \u{1F469}\u200D\u{1F4BB} \u{1F44D}\u{1F3FD} \u{1F1EA}\u{1F1FA}',
  'Cafe\u0301 Z\u0324\u0354\u0367a\u0308',
  'zero\u200Bwidth\u200C\u200D\uFEFF',
  "'; DROP TABLE users; --",
  '$$ SELECT 1 $$',
  '\\u0000 is text, not NUL',
  '%_% \\% \\_',
  'null',
  'undefined',
  'NaN',
  '[object Object]',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '2026-02-30T00:00:00.000000Z',
  '0000-00-00T00:00:00Z',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '12345678-1234-1234-1234-123456789012',
);

const nulString = fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}\u0000${b}`);
const loneSurrogate = fc.constantFrom('\uD800', '\uDFFF', 'lone \uD83D high', 'lone \uDE80 low', 'reversed \uDC00\uD800 pair');
const longString = fc
  .record({
    unit: fc.constantFrom('a', ' ', 'word ', '\u{1F680}', 'e\u0301', 'x\u0000'),
    times: fc.constantFrom(101, 201, 255, 513, 1001, 5001, 10_001, 100_001, 300_000),
  })
  .map((r) => recipe('repeat', r));

export const hostileString: fc.Arbitrary<Spec> = fc.oneof(
  w(3, fc.string({ maxLength: 24 })),
  w(3, fc.string({ unit: 'grapheme', maxLength: 24 })),
  w(2, fc.string({ unit: 'binary', maxLength: 16 })),
  w(2, nulString),
  w(2, loneSurrogate),
  w(3, weirdStrings),
  w(1, longString),
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    NaN,
    Infinity,
    -Infinity,
    -0,
    0,
    1,
    -1,
    0.5,
    1e21,
    -1e21,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 63,
    1e-7,
    99.999,
    100.001,
  ),
  fc.double(),
  fc.integer(),
  fc.integer({ min: -5, max: 1005 }),
);

export const specialValue: fc.Arbitrary<Spec> = fc
  .constantFrom(
    'undefined',
    'function',
    'symbol',
    'bigint',
    'map',
    'set',
    'class',
    'buffer',
    'typedArray',
    'regexp',
    'error',
    'boxed',
    'date',
    'toJSON',
    'nullProto',
    'promise',
  )
  .map((what) => recipe('special', { what }));

/** Dates: valid ones (inside and outside PostgreSQL's range), invalid ones, years ±300000. */
export const dateSpec: fc.Arbitrary<Spec> = fc.oneof(
  w(
    3,
    fc.integer({ min: 1970, max: 2100 }).map((year) => recipe('date', { year })),
  ),
  w(
    1,
    fc.constantFrom(NaN, 0, 8.64e15, -8.64e15, 8.64e15 + 1).map((ms) => recipe('date', { ms })),
  ),
  w(
    2,
    fc
      .constantFrom(-300_000, -271_000, -10_000, -4800, -4714, -4713, -4712, -4700, -1, 0, 1, 9999, 10_000, 275_000, 294_276, 300_000)
      .map((year) => recipe('date', { year })),
  ),
);

const pad = (n: number, width = 2): string => String(Math.abs(n)).padStart(width, '0');

/** ISO 8601 strings: valid instants, impossible calendar dates and times, odd forms. */
export const isoString: fc.Arbitrary<string> = fc.oneof(
  w(
    4,
    fc
      .record({
        year: fc.oneof(fc.integer({ min: 1970, max: 2100 }), fc.constantFrom(0, 1, 1999, 2024, 2026, 9999)),
        month: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 13)),
        day: fc.oneof(fc.integer({ min: 1, max: 28 }), fc.constantFrom(0, 29, 30, 31, 32)),
        hour: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.constantFrom(24, 25)),
        minute: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constant(60)),
        second: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constantFrom(60, 61)),
        fraction: fc.constantFrom('', '.5', '.123', '.123456', '.123456789'),
        zone: fc.constantFrom('Z', '+00:00', '-05:30', '+14:00', 'z', '', '+0100', '+99:00'),
      })
      .map((p) => `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.fraction}${p.zone}`),
  ),
  w(
    1,
    fc.constantFrom(
      '2026-02-30T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '2026-04-31T00:00:00.000Z',
      '+300000-01-01T00:00:00.000Z',
      '-300000-01-01T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
      '-271821-04-20T00:00:00.000Z',
      '-004714-01-01T00:00:00.000Z',
      '+010000-01-01T00:00:00.000Z',
      '2026-01-01',
      '2026-01-01T00:00',
      'yesterday',
      '',
    ),
  ),
);

/** Own keys that a careless object copy turns into something else, or drops. */
const dangerousKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__');

const jsonKey: fc.Arbitrary<string> = fc.oneof(
  w(8, fc.string({ maxLength: 8 })),
  w(2, dangerousKey),
  w(1, fc.string({ unit: 'grapheme', maxLength: 8 })),
  w(1, fc.constantFrom('', ' ', '\u{1F680}', 'a.b', '0', "'; --", '"quoted"', '\\u0000')),
);

const jsonScalar: fc.Arbitrary<Spec> = fc.oneof(
  w(3, fc.string({ unit: 'grapheme', maxLength: 16 })),
  w(1, weirdStrings),
  w(2, fc.integer()),
  w(1, fc.double({ noNaN: true, noDefaultInfinity: true })),
  w(1, fc.constantFrom(0, -0, 1e21, 5e-324, Number.MAX_VALUE, 0.1, 100)),
  w(1, fc.boolean()),
  w(1, fc.constant(null)),
);

/** JSON values (as specs), with own dangerous keys at any level. */
const { jsonValueSpec } = fc.letrec<{ jsonValueSpec: Spec }>((tie) => ({
  jsonValueSpec: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    w(5, jsonScalar),
    w(1, fc.array(tie('jsonValueSpec'), { maxLength: 4 })),
    w(2, fc.dictionary(jsonKey, tie('jsonValueSpec'), { maxKeys: 4, noNullPrototype: true })),
    w(
      1,
      fc
        .record({ key: dangerousKey, value: tie('jsonValueSpec'), how: fc.constantFrom('json', 'define') })
        .map((r) => recipe('own', { ...r, rest: {} })),
    ),
  ),
}));

const jsonObjectSpec: fc.Arbitrary<Spec> = fc.dictionary(jsonKey, jsonValueSpec, { maxKeys: 6, noNullPrototype: true });

/** A value that is not JSON, or JSON that PostgreSQL's jsonb cannot hold. */
const badJsonValue: fc.Arbitrary<Spec> = fc.oneof(
  specialValue,
  dateSpec,
  fc.constantFrom(NaN, Infinity, -Infinity),
  nulString,
  loneSurrogate,
  fc.bigInt(),
);

/** Where a bad value sits in a payload. */
const badPayload: fc.Arbitrary<Spec> = fc
  .record({ key: jsonKey, bad: badJsonValue, where: fc.constantFrom('top', 'nested', 'array', 'underProto', 'key') })
  .map(({ key, bad, where }) => {
    switch (where) {
      case 'top':
        return { [key]: bad, ok: 1 };
      case 'nested':
        return { a: { b: [{ [key]: bad }] } };
      case 'array':
        return { list: [1, 'two', bad] };
      case 'underProto':
        // The subtree of an own __proto__ key must be validated like any other.
        return recipe('own', { key: '__proto__', value: { [key]: bad }, how: 'define', rest: { ok: 1 } });
      default:
        // NUL or a lone surrogate in a key.
        return { [`k\u0000${key}`]: 1, [`\uD800${key}`]: 2 };
    }
  });

export const deepSpec: fc.Arbitrary<Spec> = fc
  .record({
    depth: fc.constantFrom(
      2,
      16,
      JSON_DEPTH_LIMIT - 2,
      JSON_DEPTH_LIMIT - 1,
      JSON_DEPTH_LIMIT,
      JSON_DEPTH_LIMIT + 1,
      JSON_DEPTH_LIMIT + 2,
      100,
      1000,
      2000,
      4000,
      10_000,
      200_000,
    ),
    container: fc.constantFrom('object', 'mixed', 'array'),
    leaf: fc.constantFrom(1, 'leaf', null, 'nul\u0000'),
  })
  .map((r) => recipe('deep', r));

export const cycleSpec: fc.Arbitrary<Spec> = fc
  .constantFrom('self', 'array', 'nested', 'inner', 'viaProto')
  .map((shape) => recipe('cycle', { shape }));

const sizedSpec: fc.Arbitrary<Spec> = fc
  .constantFrom(
    MAX_CONTAINS_BYTES,
    MAX_CONTAINS_BYTES + 1,
    100_000,
    MAX_JSON_BYTES - 1,
    MAX_JSON_BYTES,
    MAX_JSON_BYTES + 1,
    300_000,
    1_100_000,
  )
  .map((bytes) => recipe('sized', { bytes }));

/** Objects with own `__proto__`, `constructor` or `prototype` keys, as JSON.parse or defineProperty make them. */
export const ownKeyObject: fc.Arbitrary<Spec> = fc
  .record({ key: dangerousKey, value: jsonValueSpec, how: fc.constantFrom('json', 'define'), rest: jsonObjectSpec })
  .map((r) => recipe('own', r));

const anythingOptions = {
  maxDepth: 2,
  maxKeys: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withTypedArray: true,
  withSparseArray: true,
  withUnicodeString: true,
} as const;

/** Anything a caller might pass by mistake or malice. */
export const hostile: fc.Arbitrary<Spec> = fc.oneof(
  w(3, fc.constantFrom(null, undefined)),
  w(3, hostileString),
  w(2, hostileNumber),
  w(1, fc.boolean()),
  w(3, fc.anything(anythingOptions)),
  w(1, specialValue),
  w(1, dateSpec),
  w(1, isoString),
  w(1, fc.uuid()),
  w(1, ownKeyObject),
  w(1, cycleSpec),
  w(1, deepSpec),
  w(1, fc.array(fc.oneof(hostileString, hostileNumber, fc.constant(null)), { maxLength: 3 })),
);

/** A JSON payload position: mostly objects (valid or subtly not), and every kind of hostile value. */
export const payloadSpec: fc.Arbitrary<Spec> = fc.oneof(
  w(10, jsonObjectSpec),
  w(3, ownKeyObject),
  w(3, badPayload),
  w(1, deepSpec),
  w(1, cycleSpec),
  w(1, fc.constant(recipe('shared'))),
  w(1, sizedSpec),
  w(2, hostile),
);

// Payloads of the types src/schema/json.ts declares, with arbitrary (and hostile) JSON in their
// open-ended parts (`details`, `parameters`, `context`): these are what can be stored, so they
// carry the own `__proto__` and `constructor` keys that must come back exactly.
const payloadText: fc.Arbitrary<Spec> = fc.oneof(w(4, fc.string({ unit: 'grapheme', maxLength: 12 })), w(1, weirdStrings));
const fraction = fc.double({ min: 0, max: 1, noNaN: true });
const percent = fc.double({ min: 0, max: 100, noNaN: true });
const isoInstant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }).map((ms) => new Date(ms).toISOString());
const severityLabel = fc.constantFrom('low', 'medium', 'high');
const maybe = (arbitrary: fc.Arbitrary<Spec>): fc.Arbitrary<Spec> => fc.oneof(w(1, fc.constant(ABSENT)), w(1, arbitrary));
/** The open-ended part of a typed payload: any JSON object, or one that JSON cannot hold. */
const openJson: fc.Arbitrary<Spec> = fc.oneof(
  w(6, jsonObjectSpec),
  w(3, ownKeyObject),
  w(2, badPayload),
  w(1, deepSpec),
  w(1, cycleSpec),
  w(1, fc.constant(recipe('shared'))),
  w(1, sizedSpec),
);

export const outputDataSpec: fc.Arbitrary<Spec> = fc.record(
  {
    version: fc.constant(1),
    summary: payloadText,
    findings: fc.array(fc.record({ topic: payloadText, statement: payloadText, confidence: maybe(fraction) }, { noNullPrototype: true }), {
      maxLength: 2,
    }),
    details: maybe(openJson),
  },
  { noNullPrototype: true },
);

export const insightsSpec: fc.Arbitrary<Spec> = fc.record(
  {
    version: fc.constant(1),
    items: fc.array(
      fc.record(
        {
          kind: fc.constantFrom('strength', 'weakness', 'opportunity', 'threat', 'recommendation'),
          title: payloadText,
          impact: maybe(severityLabel),
        },
        { noNullPrototype: true },
      ),
      { maxLength: 2 },
    ),
    metrics: maybe(fc.dictionary(jsonKey, fc.oneof(fc.integer(), fc.string({ maxLength: 6 })), { maxKeys: 3, noNullPrototype: true })),
  },
  { noNullPrototype: true },
);

export const inputDataSpec: fc.Arbitrary<Spec> = fc.record(
  {
    idea: maybe(fc.record({ title: payloadText, description: payloadText, context: maybe(openJson) }, { noNullPrototype: true })),
    model: maybe(payloadText),
    promptVersion: maybe(payloadText),
    parameters: maybe(openJson),
  },
  { noNullPrototype: true },
);

export const resultsSpec: fc.Arbitrary<Spec> = fc.record(
  {
    version: fc.constant(1),
    overallScore: percent,
    recommendation: fc.constantFrom('strong-go', 'go', 'pivot', 'no-go'),
    confidence: fraction,
    summary: payloadText,
    agentScores: fc.array(
      fc.record(
        {
          agentType: fc.constantFrom(...KNOWN_AGENT_TYPES),
          score: fc.oneof(percent, fc.constant(null)),
          weight: fraction,
          status: fc.constantFrom('completed', 'failed'),
        },
        { noNullPrototype: true },
      ),
      { maxLength: 3 },
    ),
    strengths: fc.array(payloadText, { maxLength: 2 }),
    risks: fc.array(
      fc.record({ title: payloadText, severity: severityLabel, description: maybe(payloadText) }, { noNullPrototype: true }),
      {
        maxLength: 2,
      },
    ),
    nextSteps: fc.array(fc.oneof(w(8, payloadText), w(1, badJsonValue)), { maxLength: 2 }),
    generatedAt: isoInstant,
  },
  { noNullPrototype: true },
);

/** A typed payload position: mostly payloads of its type, else any payload (the wrong shape, hostile JSON). */
export function typedPayload(ofType: fc.Arbitrary<Spec>): fc.Arbitrary<Spec> {
  return fc.oneof(w(3, ofType), w(2, payloadSpec));
}

/** `valid` most of the time; otherwise absent, null or hostile. */
export function field(valid: fc.Arbitrary<Spec>, validWeight = 12): fc.Arbitrary<Spec> {
  return fc.oneof(CROSS, w(validWeight, valid), w(1, fc.constant(ABSENT)), w(1, fc.constant(null)), w(2, hostile));
}

/** An optional field: absent as often as valid; sometimes null or hostile. */
export function optional(valid: fc.Arbitrary<Spec>): fc.Arbitrary<Spec> {
  return fc.oneof(CROSS, w(6, fc.constant(ABSENT)), w(6, valid), w(1, fc.constant(null)), w(2, hostile));
}

/** An optional options argument: absent, null, or an input object. */
export function options(fields: Record<string, fc.Arbitrary<Spec>>): fc.Arbitrary<Spec> {
  return fc.oneof(CROSS, w(3, fc.constant(undefined)), w(1, fc.constant(null)), w(8, inputObject(fields)));
}

/** `valid` most of the time, else hostile (a positional argument: never absent). */
export function arg(valid: fc.Arbitrary<Spec>, validWeight = 6): fc.Arbitrary<Spec> {
  return fc.oneof(CROSS, w(validWeight, valid), w(2, hostile));
}

/** Extra own keys on an input object: unknown ones and the dangerous ones. */
const extraKeys: fc.Arbitrary<[string, Spec][]> = fc.array(fc.tuple(fc.oneof(dangerousKey, fc.string({ maxLength: 8 })), hostile), {
  minLength: 1,
  maxLength: 2,
});

/**
 * An input object: the given fields (each usually valid), sometimes extra keys; or, at times, the
 * whole object replaced by null, undefined or anything else.
 */
export function inputObject(fields: Record<string, fc.Arbitrary<Spec>>, wholeWeight = 1): fc.Arbitrary<Spec> {
  const object = fc
    .tuple(fc.record(fields, { noNullPrototype: true }), fc.oneof(w(12, fc.constant(undefined)), w(1, extraKeys)))
    .map(([base, extra]) => (extra ? recipe('merge', { base, extra }) : base));
  return fc.oneof(CROSS, w(10, object), w(wholeWeight, fc.constantFrom(null, undefined)), w(wholeWeight, hostile));
}

/** A reference to a fixture row of `kind` in one of `states` (some written differently). */
export function ref(kind: Kind | 'userEmail', states: readonly string[]): fc.Arbitrary<Spec> {
  return fc
    .record({
      kind: fc.constant(kind),
      state: fc.constantFrom(...states),
      pick: fc.nat(40),
      form: fc.oneof(w(12, fc.constant('exact')), w(1, fc.constantFrom('upper', 'padded', 'nul', 'braced', 'truncated'))),
    })
    .map((r) => recipe('ref', r));
}

/** An id argument: mostly real rows of `kind`, else random UUIDs and hostile values. */
export function idOf(kind: Kind, states: readonly string[] = STATES[kind]): fc.Arbitrary<Spec> {
  return fc.oneof(CROSS, w(10, ref(kind, states)), w(1, fc.uuid()), w(3, hostile));
}

/** A cursor argument for a list of `family`: real ones, other lists', forged and tampered ones, hostile values. */
export function cursorOf(family: CursorFamily): fc.Arbitrary<Spec> {
  const families: CursorFamily[] = ['newest', 'sequence', 'key'];
  const real = (fam: CursorFamily) =>
    fc
      .record({ family: fc.constant(fam), pick: fc.nat(10), tamper: fc.oneof(w(8, fc.constant(undefined)), w(1, tamperHow)) })
      .map((r) => recipe('realCursor', r.tamper ? r : { family: r.family, pick: r.pick }));
  return fc.oneof(
    w(4, real(family)),
    w(1, fc.constantFrom(...families.filter((f) => f !== family)).chain(real)),
    w(4, forgedCursor),
    w(2, hostile),
  );
}

const tamperHow = fc.constantFrom('truncate', 'flip', 'pad', 'append', 'upper', 'space');

const microsTimestamp: fc.Arbitrary<Spec> = fc.oneof(
  w(
    4,
    fc
      .record({
        year: fc.oneof(fc.integer({ min: 1970, max: 2100 }), fc.constantFrom(0, 1, 2024, 2026, 9999)),
        month: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 13, 99)),
        day: fc.oneof(fc.integer({ min: 1, max: 28 }), fc.constantFrom(0, 29, 30, 31, 32, 99)),
        hour: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.constantFrom(24, 25, 99)),
        minute: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constantFrom(60, 99)),
        second: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constantFrom(60, 61)),
        micros: fc.integer({ min: 0, max: 999_999 }),
      })
      .map((p) => `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}.${pad(p.micros, 6)}Z`),
  ),
  w(
    1,
    fc.constantFrom(
      '2026-02-30T00:00:00.000000Z',
      '2025-02-29T12:00:00.000000Z',
      '0000-01-01T00:00:00.000000Z',
      '0001-01-01T00:00:00.000000Z',
      '9999-12-31T23:59:59.999999Z',
      '2026-11-31T00:00:00.000000Z',
      '2026-01-01T00:00:00.000Z',
    ),
  ),
  w(1, hostileString),
);

/** Cursors made by hand: base64url JSON with impossible dates, wrong types, extra keys; not base64url; not JSON. */
const forgedCursor: fc.Arbitrary<Spec> = fc.oneof(
  w(
    5,
    fc
      .record({ t: microsTimestamp, i: fc.oneof(w(3, fc.uuid()), w(3, ref('idea', ['draft'])), w(1, hostileString)) })
      .map((payload) => recipe('cursor', { payload })),
  ),
  w(
    2,
    fc.record({ n: fc.oneof(fc.nat(), hostileNumber, hostileString) }).map((payload) => recipe('cursor', { payload })),
  ),
  w(
    2,
    fc
      .record({ k: fc.oneof(fc.constantFrom(...KNOWN_AGENT_TYPES, 'agent-1', ''), hostileString) })
      .map((payload) => recipe('cursor', { payload })),
  ),
  w(
    1,
    fc
      .record({ t: microsTimestamp, i: fc.uuid(), extra: fc.oneof(hostileString, hostileNumber) })
      .map((payload) => recipe('cursor', { payload })),
  ),
  w(
    1,
    fc
      .oneof(fc.constantFrom('[]', 'null', '"x"', '1', '{', '{"t":1}'), fc.string())
      .map((payload) => recipe('cursor', { payload, raw: true })),
  ),
  w(
    1,
    fc.record({ t: microsTimestamp, i: fc.uuid() }).map((payload) => recipe('cursor', { payload, encoding: 'base64' })),
  ),
  w(
    1,
    fc.record({ payload: fc.record({ t: microsTimestamp, i: fc.uuid() }), tamper: tamperHow }).map((r) => recipe('cursor', r)),
  ),
);

/**
 * The handle a property's call gets. The path is drawn at run time from those the property
 * offers, and no one handle type is every path's, so it is `never`, which every repository
 * function takes: the property's choice of paths, not the compiler, keeps the calls right.
 */
export type AnyPath = never;

/** The calling paths a property may take; owner most of the time. */
export type PathName = 'owner' | 'user' | 'worker' | 'anonymous';
export function pathOf(...paths: PathName[]): fc.Arbitrary<PathName> {
  return fc.oneof(...paths.map((p) => w(p === 'owner' ? 3 : 1, fc.constant(p))));
}

// Valid values for the common fields.
export const validLimit = fc.oneof(w(3, fc.integer({ min: 1, max: 5 })), w(1, fc.integer({ min: 1, max: 100 })));
export const validEmail: fc.Arbitrary<Spec> = fc.oneof(
  w(
    4,
    fc.constantFrom('exact', 'upper', 'padded').map((form) => recipe('uniqueEmail', { form })),
  ),
  w(1, fc.emailAddress()),
);
export const validName: fc.Arbitrary<Spec> = fc.oneof(
  w(4, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
  w(1, fc.constantFrom('Ada Lovelace', '\u{1F680}'.repeat(100), " O'Brien ")),
);
export const validPasswordHash: fc.Arbitrary<Spec> = fc.stringMatching(/^[\x21-\x7e]{16,40}$/);
export const validTitle: fc.Arbitrary<Spec> = fc.string({ unit: 'grapheme', minLength: 3, maxLength: 60 });
export const validDescription: fc.Arbitrary<Spec> = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 50, maxLength: 120 }),
  fc.constantFrom('A property-test description that is comfortably longer than fifty characters.'),
);
export const validWorkerId: fc.Arbitrary<Spec> = fc.oneof(
  w(3, fc.constant(FIXTURE_WORKER)),
  w(1, fc.string({ minLength: 1, maxLength: 40 })),
);
export const validErrorMessage: fc.Arbitrary<Spec> = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 });
export const validAgentType: fc.Arbitrary<Spec> = fc.oneof(
  w(3, fc.constant(recipe('uniqueAgentType'))),
  w(1, fc.constantFrom(...KNOWN_AGENT_TYPES)),
  w(1, fc.stringMatching(/^[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,4}){0,3}$/)),
);
/** Idempotency keys (1 to 200 characters): a few repeated ones, so that some calls are retries. */
export const validIdempotencyKey: fc.Arbitrary<Spec> = fc.oneof(
  fc.constantFrom('retry-1', 'retry-2', 'k'),
  fc.string({ minLength: 1, maxLength: 12 }),
);
export const validScore: fc.Arbitrary<Spec> = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100),
  fc.constant(null),
);
export const ideaStatus = fc.constantFrom(...IDEA_STATUSES);
export const evaluationStatus = fc.constantFrom(...EVALUATION_STATUSES);
export const evaluationPriority = fc.constantFrom(...EVALUATION_PRIORITIES);

// -----------------------------------------------------------------------------------------------
// Oracles
// -----------------------------------------------------------------------------------------------

/** What the contract says of one input field: refused by name, never refused by name, or either. */
export type Verdict = 'valid' | 'invalid' | 'either';
export interface FieldVerdict {
  /** The issue path that must (or must not) name it: the field, or a path inside it. */
  name: string;
  verdict: Verdict;
  why: string;
}

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC_UUID =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/i;

export function uuidVerdict(name: string, value: unknown): FieldVerdict {
  if (typeof value === 'string' && RFC_UUID.test(value)) return { name, verdict: 'valid', why: 'a UUID' };
  if (typeof value === 'string' && UUID_SHAPE.test(value))
    return { name, verdict: 'either', why: 'UUID-shaped, unusual version or variant' };
  return { name, verdict: 'invalid', why: `not a UUID (${kindOf(value)})` };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : 'a Date';
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length} characters` : `the string ${JSON.stringify(value)}`;
  return typeof value;
}

/**
 * The contract's verdict on a JSON payload. Invalid: not a plain object at the top, a cycle, a
 * non-JSON value anywhere (undefined, function, bigint, symbol, NaN, Infinity, a Date, a Map, a
 * class instance ...), NUL or a lone surrogate in a string or key, more than `MAX_JSON_DEPTH`
 * levels of objects and arrays (the payload object is level 1), more than `maxBytes` bytes as JSON, or (with
 * `nonEmpty`) no key. Either: own dangerous keys (`__proto__`, `constructor`, ...: stored exactly
 * or refused by name), null-prototype objects, sparse arrays, symbol keys. Valid: everything else.
 */
export function jsonVerdict(
  name: string,
  value: unknown,
  options: { maxBytes: number; nonEmpty?: boolean; optional?: boolean; nullable?: boolean },
): FieldVerdict {
  const verdict = (v: Verdict, why: string): FieldVerdict => ({ name, verdict: v, why });
  if (value === undefined) return options.optional ? verdict('valid', 'absent') : verdict('invalid', 'missing');
  // null: allowed where the field is nullable; where it is optional, absent or refused by name; else refused.
  if (value === null) {
    if (options.nullable) return verdict('valid', 'null where null is allowed');
    return options.optional ? verdict('either', 'null for an optional payload') : verdict('invalid', 'null for a required payload');
  }
  if (typeof value !== 'object' || Array.isArray(value)) return verdict('invalid', `not a JSON object (${kindOf(value)})`);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null) return verdict('either', 'a null-prototype object');
  if (proto !== Object.prototype) return verdict('invalid', `not a plain object (${value.constructor?.name ?? 'unknown'})`);
  let either: string | undefined;
  const onPath = new Set<object>();
  const stack: { value: unknown; depth: number; exit?: boolean }[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (frame.exit) {
      onPath.delete(v as object);
      continue;
    }
    switch (typeof v) {
      case 'string':
        if (v.includes('\u0000')) return verdict('invalid', 'a string holds NUL');
        if (common.hasLoneSurrogate(v)) return verdict('invalid', 'a string holds a lone surrogate');
        continue;
      case 'number':
        if (!Number.isFinite(v)) return verdict('invalid', `a non-finite number (${v})`);
        continue;
      case 'boolean':
        continue;
      case 'object':
        break;
      default:
        return verdict('invalid', `a non-JSON value (${typeof v})`);
    }
    if (v === null) continue;
    const obj = v;
    if (onPath.has(obj)) return verdict('invalid', 'a cycle');
    if (frame.depth > JSON_DEPTH_LIMIT) return verdict('invalid', `nested deeper than ${JSON_DEPTH_LIMIT} levels`);
    let children: unknown[];
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) if (!(i in obj)) either ??= 'a sparse array';
      children = [...obj];
    } else {
      const p: unknown = Object.getPrototypeOf(obj);
      if (p === null) {
        either ??= 'a null-prototype object inside';
      } else if (p !== Object.prototype) {
        return verdict('invalid', `a ${obj.constructor?.name ?? 'non-plain object'} inside`);
      }
      if (Object.getOwnPropertySymbols(obj).length > 0) either ??= 'symbol keys';
      const keys = Object.keys(obj);
      for (const key of keys) {
        if (key.includes('\u0000')) return verdict('invalid', 'a key holds NUL');
        if (common.hasLoneSurrogate(key)) return verdict('invalid', 'a key holds a lone surrogate');
        if (['__proto__', 'constructor', 'prototype'].includes(key)) either ??= `an own ${key} key`;
      }
      children = keys.map((key) => (obj as Record<string, unknown>)[key]);
    }
    onPath.add(obj);
    stack.push({ value: obj, depth: frame.depth, exit: true });
    for (const child of children) stack.push({ value: child, depth: frame.depth + 1 });
  }
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > options.maxBytes) return verdict('invalid', `${bytes} bytes as JSON, more than ${options.maxBytes}`);
  if (options.nonEmpty && Object.keys(value).length === 0) return verdict('invalid', 'no key');
  return either ? verdict('either', either) : verdict('valid', `a JSON object of ${bytes} bytes`);
}

/** The payload shapes src/schema/json.ts declares (and exports as runtime schemas, once it does). */
export type PayloadShape = 'evaluationResultsSchema' | 'agentInputDataSchema' | 'agentOutputDataSchema' | 'agentInsightsSchema';

function declaredShape(shape: PayloadShape): { safeParse(value: unknown): { success: boolean } } | undefined {
  const schema = (payloadTypes as unknown as Record<string, unknown>)[shape] as { safeParse?: unknown } | undefined;
  return typeof schema?.safeParse === 'function' ? (schema as { safeParse(value: unknown): { success: boolean } }) : undefined;
}

/**
 * A typed payload's verdict: `jsonVerdict`, and where that says valid, its shape. When
 * src/schema/json.ts exports the runtime schema of `shape`, the payload's type is part of the
 * contract: a payload that is valid JSON but not of its type is refused by name, one of its type
 * is never refused by name. Without the schema, any JSON object is of its type.
 */
export function payloadVerdict(
  name: string,
  value: unknown,
  shape: PayloadShape,
  options: { maxBytes: number; optional?: boolean; nullable?: boolean },
): FieldVerdict {
  const json = jsonVerdict(name, value, options);
  const schema = declaredShape(shape);
  if (json.verdict !== 'valid' || value === undefined || value === null || !schema) return json;
  return schema.safeParse(value).success
    ? { name, verdict: 'valid', why: `${json.why}, of its declared type` }
    : { name, verdict: 'invalid', why: `valid JSON, but not of the type src/schema/json.ts declares (${shape})` };
}

// Day 0 of the next month in 2001 (not a leap year) is the month's last day; February gains one in leap years.
const daysIn = (year: number, month: number): number =>
  new Date(Date.UTC(2001, month, 0)).getUTCDate() + (month === 2 && isLeap(year) ? 1 : 0);
const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/** Calendar and clock fields: 'valid', 'invalid' (impossible), or 'either' (24:00, a leap second, year 0). */
function calendarVerdict(year: number, month: number, day: number, hour: number, minute: number, second: number): Verdict {
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 24 || minute > 59 || second > 60) return 'invalid';
  if (hour === 24 || second === 60 || year === 0) return 'either';
  return 'valid';
}

/** Valid inside [-4700, 294200] (astronomical years), invalid beyond 4714 BC and 294276 AD, either between. */
function yearVerdict(year: number): Verdict {
  if (year >= -4700 && year <= 294_200) return 'valid';
  if (year < -4714 || year > 294_276) return 'invalid';
  return 'either';
}

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;
const EXTENDED_YEAR = /^([+-]\d{6})-(\d{2})-(\d{2})T/;

/**
 * An instant filter (`createdFrom`, `createdTo`): a Date or an ISO 8601 date-time with a zone.
 * Invalid: an invalid Date, one outside PostgreSQL's timestamptz range, an impossible calendar
 * date or time, a string without a zone, anything else. Either: null (absent or refused by name),
 * 24:00, leap seconds, years written with six digits inside the range.
 */
export function instantVerdict(name: string, value: unknown): FieldVerdict & { time?: number } {
  const verdict = (v: Verdict, why: string, time?: number) => ({ name, verdict: v, why, ...(time === undefined ? {} : { time }) });
  if (value === undefined) return verdict('valid', 'absent');
  if (value === null) return verdict('either', 'null');
  if (value instanceof Date) {
    const time = value.getTime();
    if (Number.isNaN(time)) return verdict('invalid', 'an invalid Date');
    const year = value.getUTCFullYear();
    return verdict(yearVerdict(year), `a Date in year ${year}`, time);
  }
  if (typeof value !== 'string') return verdict('invalid', `not an instant (${kindOf(value)})`);
  const m = ISO_INSTANT.exec(value);
  if (m) {
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    const zoneOk = m[9] === undefined || (Number(m[9]) <= 14 && Number(m[10]) <= 59);
    const v = calendarVerdict(year, month, day, hour, minute, second);
    if (v === 'invalid') return verdict('invalid', `an impossible date or time (${value})`);
    if (!zoneOk) return verdict('either', 'an unusual offset');
    return verdict(v, `an ISO instant (${value})`, Date.parse(value));
  }
  const e = EXTENDED_YEAR.exec(value);
  if (e) {
    const year = Number(e[1]);
    return yearVerdict(year) === 'invalid' ? verdict('invalid', `year ${year}`) : verdict('either', 'a six-digit year inside the range');
  }
  return verdict('invalid', `not an ISO 8601 date-time with a zone (${kindOf(value)})`);
}

const ISO_MICROS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;

/**
 * A `cursor` of a list of `family`. Valid: what the library makes (base64url JSON of the right
 * keys: newest-first `{t, i}` with a real calendar instant in microseconds and a UUID; the audit
 * log's `{n}`, a safe non-negative integer; agent results' `{k}`, an agent type). Either: null,
 * 24:00, leap seconds, year 0, non-canonical base64, key cursors that are not agent types.
 * Invalid: everything else (another list's cursor, impossible dates, extra keys, not base64url,
 * not JSON, not a string).
 */
export function cursorVerdict(value: unknown, family: CursorFamily): FieldVerdict {
  const verdict = (v: Verdict, why: string): FieldVerdict => ({ name: 'cursor', verdict: v, why });
  if (value === undefined) return verdict('valid', 'absent');
  if (value === null) return verdict('either', 'null');
  if (typeof value !== 'string') return verdict('invalid', `not a string (${kindOf(value)})`);
  if (value.length > 200 || !/^[A-Za-z0-9_-]+$/.test(value)) return verdict('invalid', 'not base64url, or too long');
  const bytes = Buffer.from(value, 'base64url');
  let payload: unknown;
  try {
    payload = JSON.parse(bytes.toString('utf8'));
  } catch {
    return verdict('invalid', 'not JSON');
  }
  if (!isPlainObject(payload)) return verdict('invalid', 'not a JSON object');
  const canonical = bytes.toString('base64url') === value && !bytes.toString('utf8').includes('\uFFFD');
  const keys = Object.keys(payload).sort().join(',');
  let v: Verdict;
  let why: string;
  if (family === 'newest') {
    const { t, i } = payload;
    const m = typeof t === 'string' ? ISO_MICROS.exec(t) : null;
    if (keys !== 'i,t' || !m || typeof i !== 'string' || !UUID_SHAPE.test(i))
      return verdict('invalid', `not a newest-first cursor (${keys})`);
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    v = calendarVerdict(year, month, day, hour, minute, second);
    why = `created_at ${String(t)}`;
  } else if (family === 'sequence') {
    const { n } = payload;
    if (keys !== 'n' || !Number.isSafeInteger(n) || (n as number) < 0) return verdict('invalid', `not an audit cursor (${keys})`);
    v = 'valid';
    why = `sequence ${String(n)}`;
  } else {
    const { k } = payload;
    if (keys !== 'k' || typeof k !== 'string' || k === '') return verdict('invalid', `not a key cursor (${keys})`);
    v = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(k) && k.length <= 64 ? 'valid' : 'either';
    why = `key ${JSON.stringify(k)}`;
  }
  if (v === 'valid' && !canonical) return verdict('either', 'a non-canonical encoding');
  return verdict(v, why);
}

// -----------------------------------------------------------------------------------------------
// Canonical JSON and result checks
// -----------------------------------------------------------------------------------------------

/** JSON text with every object's own keys sorted: equal for documents jsonb considers equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A failed check of a property, with a stable first line (its class, in survey mode). */
export class PropertyFailure extends Error {
  constructor(
    readonly kind: string,
    details: string,
  ) {
    super(`${kind}\n${details}`);
    this.name = 'PropertyFailure';
  }
}

export function expectThat(condition: boolean, kind: string, details: () => string = () => ''): asserts condition {
  if (!condition) throw new PropertyFailure(kind, details());
}

const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_SHAPE.test(value);
const isDate = (value: unknown): value is Date => value instanceof Date && !Number.isNaN(value.getTime());
const isDateOrNull = (value: unknown): boolean => value === null || isDate(value);
const isStringOrNull = (value: unknown): boolean => value === null || typeof value === 'string';
const isObjectOrNull = (value: unknown): boolean => value === null || isPlainObject(value);

/**
 * `value` is a plain object whose `fields` pass their checks. With `exact` (the default) it has no
 * other key; without, other keys are allowed (columns added later), but none naming a password.
 */
export function expectShape(value: unknown, what: string, fields: Record<string, (v: unknown) => boolean>, exact = true): void {
  expectThat(isPlainObject(value), `invalid ${what}`, () => `not a plain object: ${show(value)}`);
  const keys = Object.keys(value).sort();
  const expected = Object.keys(fields).sort();
  const fits = exact
    ? isDeepStrictEqual(keys, expected)
    : expected.every((k) => keys.includes(k)) && !keys.some((k) => /password/i.test(k));
  expectThat(fits, `invalid ${what}`, () => `keys ${keys.join(',')}, expected ${expected.join(',')}${exact ? '' : ' (and others)'}`);
  for (const [key, ok] of Object.entries(fields)) {
    expectThat(ok(value[key]), `invalid ${what}`, () => `${key} is ${show(value[key])}`);
  }
}

const oneOf =
  (labels: readonly string[]) =>
  (v: unknown): boolean =>
    typeof v === 'string' && labels.includes(v);

export function expectUser(value: unknown): asserts value is users.User {
  expectShape(value, 'user', {
    id: isUuid,
    email: (v) => typeof v === 'string',
    name: (v) => typeof v === 'string',
    createdAt: isDate,
    updatedAt: isDate,
    deletedAt: isDateOrNull,
  });
}

export function expectIdea(value: unknown): asserts value is businessIdeas.BusinessIdea {
  expectShape(
    value,
    'business idea',
    {
      id: isUuid,
      userId: isUuid,
      title: (v) => typeof v === 'string',
      description: (v) => typeof v === 'string',
      status: oneOf(IDEA_STATUSES),
      createdAt: isDate,
      updatedAt: isDate,
    },
    false,
  );
}

export function expectEvaluation(value: unknown): asserts value is evaluations.Evaluation {
  expectShape(
    value,
    'evaluation',
    {
      id: isUuid,
      businessIdeaId: isUuid,
      status: oneOf(EVALUATION_STATUSES),
      priority: oneOf(EVALUATION_PRIORITIES),
      startedAt: isDateOrNull,
      completedAt: isDateOrNull,
      results: isObjectOrNull,
      errorMessage: isStringOrNull,
      claimedBy: isStringOrNull,
      leaseExpiresAt: isDateOrNull,
      createdAt: isDate,
      updatedAt: isDate,
    },
    false,
  );
}

export function expectAgentResult(value: unknown): asserts value is agentResults.AgentResult {
  expectShape(
    value,
    'agent result',
    {
      id: isUuid,
      evaluationId: isUuid,
      agentType: (v) => typeof v === 'string',
      status: oneOf(['pending', 'running', 'completed', 'failed']),
      inputData: isPlainObject,
      outputData: isObjectOrNull,
      insights: isObjectOrNull,
      score: (v) => v === null || (typeof v === 'number' && v >= 0 && v <= 100),
      startedAt: isDateOrNull,
      completedAt: isDateOrNull,
      errorMessage: isStringOrNull,
      createdAt: isDate,
      updatedAt: isDate,
    },
    false,
  );
}

export function expectAuditEntry(value: unknown): asserts value is auditLog.AuditEntry {
  expectShape(
    value,
    'audit entry',
    {
      id: (v) => Number.isSafeInteger(v),
      tableName: oneOf(['users', 'business_ideas', 'evaluations', 'agent_results']),
      rowId: isUuid,
      operation: oneOf(['insert', 'update', 'delete']),
      actor: isStringOrNull,
      oldRow: isObjectOrNull,
      newRow: isObjectOrNull,
      changedAt: isDate,
      txid: (v) => Number.isSafeInteger(v),
    },
    false,
  );
}

/** A `Page`: `items` (each checked by `item`, at most `limit`) and `nextCursor` (string or null). */
export function expectPage<T>(
  value: unknown,
  item: (v: unknown) => void,
  limit: unknown,
  defaultLimit: number,
): asserts value is { items: T[]; nextCursor: string | null } {
  expectShape(value, 'page', { items: Array.isArray, nextCursor: (v) => v === null || (typeof v === 'string' && v !== '') });
  const page = value as { items: unknown[]; nextCursor: string | null };
  const max = typeof limit === 'number' ? limit : defaultLimit;
  expectThat(page.items.length <= max, 'invalid page', () => `${page.items.length} items, limit ${String(limit)}`);
  expectThat(
    page.nextCursor === null || page.items.length === max,
    'invalid page',
    () => `a next cursor after ${page.items.length} of ${max}`,
  );
  for (const entry of page.items) item(entry);
}

/** Newest first: createdAt descending (to the millisecond a Date holds). */
export function expectNewestFirst(items: readonly { createdAt: Date; id: string }[]): void {
  for (let i = 1; i < items.length; i++) {
    const [a, b] = [items[i - 1]!, items[i]!];
    // created_at has microseconds, a Date only milliseconds: rows of the same millisecond may be in either order.
    const ordered = a.createdAt.getTime() >= b.createdAt.getTime();
    expectThat(ordered, 'page out of order', () => `${a.id} (${a.createdAt.toISOString()}) before ${b.id} (${b.createdAt.toISOString()})`);
  }
}

/** The stored JSON (as text, parsed with JSON.parse) equals the written payload, key for key. */
export function expectSameJson(what: string, stored: unknown, written: unknown): void {
  const a = typeof stored === 'string' ? canonicalJson(JSON.parse(stored)) : canonicalJson(stored);
  const b = canonicalJson(written);
  expectThat(a === b, `${what} not stored as written`, () => `stored ${clip(a)}\nwritten ${clip(b)}`);
}

const clip = (text: string, max = 400): string => (text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text);

export function show(value: unknown): string {
  try {
    return clip(fc.stringify(value));
  } catch {
    return kindOf(value);
  }
}

/** jsonb containment (`a @> b`) for JSON documents, as PostgreSQL defines it below the top level. */
export function jsonContains(a: unknown, b: unknown): boolean {
  if (Array.isArray(b)) return Array.isArray(a) && b.every((x) => a.some((y) => jsonContains(y, x)));
  if (isPlainObject(b)) {
    return isPlainObject(a) && Object.keys(b).every((key) => Object.prototype.hasOwnProperty.call(a, key) && jsonContains(a[key], b[key]));
  }
  return a === b || (typeof a === 'number' && typeof b === 'number' && a === b);
}

// -----------------------------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------------------------

const DOCUMENTED = [ValidationError, NotFoundError, InvalidTransitionError, ConflictError, InvalidReferenceError] as const;

export function isDocumented(error: unknown): boolean {
  return DOCUMENTED.some((type) => error instanceof type);
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `a non-Error was thrown: ${show(error)}`;
  const { sqlState, code } = error as { sqlState?: string; code?: string };
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const head = `${error.name}${sqlState ? ` [${sqlState}]` : code && !code.includes('_') ? ` [${code}]` : ''}: ${clip(error.message.split('\n')[0] ?? '', 300)}`;
  const causeText = cause && typeof cause === 'object' && 'code' in cause ? ` (cause: ${String(cause.code)})` : '';
  const frames = (error.stack ?? '')
    .split('\n')
    .slice(1)
    .filter((line) => !line.includes('node_modules/fast-check') && !line.includes('node:internal'))
    .slice(0, 4)
    .map((line) => `    ${line.trim()}`)
    .join('\n');
  return `${head}${causeText}${isDocumented(error) ? '' : `\n${frames}`}`;
}

/** String values of an input (not keys), long enough to recognise in a message, and the input's keys. */
function stringsIn(inputs: readonly unknown[]): { values: string[]; keys: string[] } {
  const values = new Set<string>();
  const keys = new Set<string>();
  const seen = new Set<object>();
  const stack: unknown[] = [...inputs];
  let budget = 5000;
  while (stack.length > 0 && budget-- > 0) {
    const v = stack.pop();
    if (typeof v === 'string') values.add(v);
    else if (typeof v === 'object' && v !== null && !seen.has(v)) {
      seen.add(v);
      if (v instanceof Map || v instanceof Set || ArrayBuffer.isView(v)) continue;
      for (const key of Object.keys(v)) {
        keys.add(key);
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
  }
  // Only distinctive values: 8 characters or more, not only letters and spaces (a message's own
  // words, "received undefined", would match those), and not an enum label a message may list.
  const vocabulary = new Set<string>([...IDEA_STATUSES, ...EVALUATION_STATUSES, ...EVALUATION_PRIORITIES, ...KNOWN_AGENT_TYPES]);
  const distinctive = (s: string) => s.trim().length >= 8 && !/^[A-Za-z ]*$/.test(s) && !vocabulary.has(s);
  return { values: [...values].filter(distinctive), keys: [...keys].filter((k) => k !== '') };
}

/** A ValidationError's issues are well formed and quote no input value. */
export function expectWellFormedValidationError(error: ValidationError, inputs: readonly unknown[]): void {
  const issues = error.issues as unknown;
  expectThat(Array.isArray(issues) && issues.length > 0, 'ValidationError without issues', () => describeError(error));
  for (const issue of error.issues) {
    expectThat(
      isPlainObject(issue) &&
        typeof issue.path === 'string' &&
        issue.path !== '' &&
        typeof issue.message === 'string' &&
        issue.message !== '',
      'malformed ValidationError issue',
      () => show(issue),
    );
  }
  // Keys are names, not values: messages and paths may name them (an unknown key, a record key),
  // so a value that is part of a key proves nothing.
  const { values, keys } = stringsIn(inputs);
  const texts = [error.message, ...error.issues.map((issue) => issue.message)];
  for (const value of values.filter((v) => !keys.some((key) => key.includes(v)))) {
    const leaked = texts.some((text) => text.includes(value));
    expectThat(!leaked, 'ValidationError quotes an input value', () => `${show(value)} in ${clip(error.message)}`);
  }
}

/** The own fields of an input object (undefined when it is not an object). */
export function fieldsOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A UUID argument as the database returns it, for comparing with a returned row's id. */
export const lower = (value: unknown): unknown => (typeof value === 'string' ? value.toLowerCase() : value);

const names = (paths: readonly string[], name: string): boolean => paths.some((p) => p === name || p.startsWith(`${name}.`));

// -----------------------------------------------------------------------------------------------
// The fixture world
// -----------------------------------------------------------------------------------------------

const FIXTURE_DESCRIPTION = 'A property-test fixture idea, with a description comfortably longer than fifty characters.';
const FIXTURE_HASH = 'scrypt$property$0123456789abcdef';
const FIXTURE_OUTPUT = '{"summary": "fixture", "findings": [{"topic": "market-size", "statement": "large"}]}';
const FIXTURE_INSIGHTS = '{"fixture": true, "items": [{"kind": "threat", "impact": "high"}]}';

/**
 * Rows the arbitraries refer to by (kind, state, pick): pools of fixture rows per state, refilled
 * in small batches when a pool runs dry. A row used by a call that succeeded leaves its pools (its
 * state may have changed); a refused call wrote nothing, so its rows stay. Pools only steer how
 * often calls can succeed; no check depends on a row being in the state its pool says.
 */
export class World {
  mainUser!: { id: string; email: string };
  hostIdea!: string;
  hostEvaluation!: string;
  readonly cursors: Record<CursorFamily, string[]> = { newest: [], sequence: [], key: [] };
  private readonly pools = new Map<string, string[]>();
  private readonly emails = new Map<string, string>();
  private used: string[] = [];
  private markValue: number | undefined;

  private constructor(readonly t: UsedTestDatabase) {}

  get db(): Executor<'owner'> {
    return this.t.db;
  }

  static async create(t: UsedTestDatabase): Promise<World> {
    const world = new World(t);
    await world.init();
    return world;
  }

  private async init(): Promise<void> {
    const n = unique();
    const email = `main-${n}-${Date.now().toString(36)}@example.test`;
    const main = await this.db
      .insertInto('users')
      .values({ email, name: `Main ${n}`, passwordHash: FIXTURE_HASH })
      .returning('id')
      .executeTakeFirstOrThrow();
    this.mainUser = { id: main.id, email };
    await this.db
      .updateTable('users')
      .set({ name: `Main ${n} (renamed)` })
      .where('id', '=', main.id)
      .execute();
    const idea = await this.db
      .insertInto('businessIdeas')
      .values({ userId: main.id, title: `Host idea ${n}`, description: FIXTURE_DESCRIPTION, status: 'evaluating' })
      .returning('id')
      .executeTakeFirstOrThrow();
    this.hostIdea = idea.id;
    const evaluation = await this.db
      .insertInto('evaluations')
      .values({
        businessIdeaId: idea.id,
        status: 'analyzing',
        startedAt: sql<Date>`now()`,
        claimedBy: FIXTURE_WORKER,
        leaseExpiresAt: sql<Date>`now() + interval '1 day'`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    this.hostEvaluation = evaluation.id;
    for (const kind of Object.keys(STATES) as Kind[]) for (const state of STATES[kind]) await this.refill(kind, state);
    // Real cursors, made by the library from real pages.
    const page = async (p: Promise<{ nextCursor: string | null }>) => {
      const { nextCursor } = await p;
      return nextCursor;
    };
    const newest = [
      await page(users.listUsers(this.db, { limit: 1 })),
      await page(users.listUsers(this.db, { limit: 2, includeDeleted: true })),
      await page(businessIdeas.listIdeasByUser(this.db, main.id, { limit: 1 })),
      await page(businessIdeas.listIdeasByUser(this.db, main.id, { limit: 3 })),
      await page(evaluations.listEvaluationsByIdea(this.db, idea.id, { limit: 1 })),
      await page(evaluations.listEvaluationsByStatus(this.db, 'pending', { limit: 1 })),
      await page(agentResults.findAgentResultsByInsights(this.db, { contains: { fixture: true }, limit: 1 })),
    ];
    this.cursors.newest = newest.filter((c): c is string => c !== null);
    const key = [
      await page(agentResults.listAgentResults(this.db, evaluation.id, { limit: 1 })),
      await page(agentResults.listAgentResults(this.db, evaluation.id, { limit: 3 })),
    ];
    this.cursors.key = key.filter((c): c is string => c !== null);
    const sequence = [await page(auditLog.listAuditEntries(this.db, { tableName: 'users', rowId: main.id, limit: 1 }))];
    this.cursors.sequence = sequence.filter((c): c is string => c !== null);
    for (const family of Object.keys(this.cursors) as CursorFamily[]) {
      if (this.cursors[family].length === 0) throw new Error(`the fixture world has no real ${family} cursor`);
    }
    this.markValue = undefined;
  }

  emailOf(id: string): string | undefined {
    return this.emails.get(id);
  }

  private pool(kind: string, state: string): string[] {
    const key = `${kind}:${state}`;
    let pool = this.pools.get(key);
    if (!pool) this.pools.set(key, (pool = []));
    return pool;
  }

  /** A fixture row of `kind` in `state` (as far as the world knows). */
  async take(kind: Kind, state: string, pick: number): Promise<string> {
    const pool = this.pool(kind, state);
    if (pool.length === 0) await this.refill(kind, state);
    const id = pool[pick % pool.length]!;
    this.used.push(id);
    return id;
  }

  /** Leaves the rows a succeeded call used (and `more`) out of every pool from now on. */
  retire(more: readonly string[] = []): void {
    const gone = new Set([...this.used, ...more].map((id) => id.toLowerCase()));
    for (const pool of this.pools.values()) {
      for (let i = pool.length - 1; i >= 0; i--) if (gone.has(pool[i]!)) pool.splice(i, 1);
    }
  }

  private async refill(kind: Kind, state: string, count = 4): Promise<void> {
    const now = sql<Date>`now()`;
    const n = () => unique();
    let ids: string[];
    switch (kind) {
      case 'user': {
        const rows = await this.db
          .insertInto('users')
          .values(
            Array.from({ length: count }, () => {
              const i = n();
              return {
                email: `fixture-${i}-${Date.now().toString(36)}@example.test`,
                name: `Fixture User ${i}`,
                passwordHash: FIXTURE_HASH,
                deletedAt: state === 'deleted' ? now : null,
              };
            }),
          )
          .returning(['id', 'email'])
          .execute();
        for (const row of rows) this.emails.set(row.id, row.email);
        ids = rows.map((row) => row.id);
        break;
      }
      case 'idea': {
        const status = state === 'deleted' ? 'draft' : (state as businessIdeas.BusinessIdea['status']);
        const rows = await this.db
          .insertInto('businessIdeas')
          .values(
            Array.from({ length: count }, () => ({
              userId: this.mainUser.id,
              title: `Property fixture idea ${n()}`,
              description: FIXTURE_DESCRIPTION,
              status,
              deletedAt: state === 'deleted' ? now : null,
            })),
          )
          .returning('id')
          .execute();
        ids = rows.map((row) => row.id);
        break;
      }
      case 'evaluation': {
        const fields = {
          pending: {},
          analyzing: {
            status: 'analyzing',
            startedAt: now,
            claimedBy: FIXTURE_WORKER,
            leaseExpiresAt: sql<Date>`now() + interval '1 day'`,
          },
          expired: {
            status: 'analyzing',
            startedAt: sql<Date>`now() - interval '1 hour'`,
            claimedBy: FIXTURE_WORKER,
            leaseExpiresAt: sql<Date>`now() - interval '1 minute'`,
          },
          completed: { status: 'completed', startedAt: now, completedAt: now, claimedBy: FIXTURE_WORKER, results: '{"fixture": true}' },
          failed: { status: 'failed', completedAt: now, errorMessage: 'failed in a fixture' },
        }[state] as Record<string, unknown>;
        const rows = await this.db
          .insertInto('evaluations')
          .values(Array.from({ length: count }, () => ({ businessIdeaId: this.hostIdea, ...fields })))
          .returning('id')
          .execute();
        ids = rows.map((row) => row.id);
        break;
      }
      case 'agentResult': {
        const fields = {
          pending: {},
          running: { status: 'running', startedAt: now },
          completed: {
            status: 'completed',
            startedAt: now,
            completedAt: now,
            outputData: FIXTURE_OUTPUT,
            insights: FIXTURE_INSIGHTS,
            score: 50,
          },
          failed: { status: 'failed', completedAt: now, errorMessage: 'failed in a fixture' },
        }[state] as Record<string, unknown>;
        const rows = await this.db
          .insertInto('agentResults')
          .values(Array.from({ length: count }, () => ({ evaluationId: this.hostEvaluation, agentType: `fixture-${n()}`, ...fields })))
          .returning('id')
          .execute();
        ids = rows.map((row) => row.id);
        break;
      }
    }
    this.pool(kind, state).push(...ids);
    this.markValue = undefined;
  }

  /** Resolves the spec's refs (refilling pools as needed) and builds its value. */
  async materialize(spec: Spec): Promise<unknown> {
    const found: Recipe[] = [];
    collectRefs(spec, found);
    const refs = new Map<string, string>();
    for (const r of found) {
      const key = refKey(r);
      if (refs.has(key)) continue;
      const kind = r.kind === 'userEmail' ? 'user' : (r.kind as Kind);
      refs.set(key, await this.take(kind, r.state as string, r.pick as number));
    }
    return build(spec, { refs, world: this });
  }

  /** The audit log's high-water mark, from the last look unless the world wrote since. */
  async mark(): Promise<number> {
    return this.markValue ?? this.freshMark();
  }

  async freshMark(): Promise<number> {
    const row = await this.db
      .selectFrom('auditLog')
      .select((eb) => eb.fn.coalesce(eb.fn.max('id'), sql<number>`0`).as('mark'))
      .executeTakeFirstOrThrow();
    this.markValue = Number(row.mark);
    return this.markValue;
  }

  /** Runs `call` on a calling path. */
  onPath<T>(path: PathName, call: (db: AnyPath) => Promise<T>): Promise<T> {
    // The property offers only the paths its function takes; their union is not one handle type.
    const on = (db: Executor<Scope>) => call(db as never);
    switch (path) {
      case 'owner':
        return on(this.t.db);
      case 'worker':
        return on(this.t.database.worker);
      case 'anonymous':
        return on(this.t.database.anonymous);
      case 'user':
        return this.t.database.withUser(this.mainUser.id, (trx) => on(trx));
    }
  }

  startCase(): void {
    this.used = [];
  }
}

// -----------------------------------------------------------------------------------------------
// The runner
// -----------------------------------------------------------------------------------------------

/** One call of a property, as its test defines it from the built arguments. */
export interface Case<R> {
  /** The repository call, on the path the runner chose. */
  call: (db: AnyPath) => Promise<R>;
  /** Every argument as passed (for the leak check). */
  inputs: readonly unknown[];
  /** The contract's verdicts on the fields it is explicit about. */
  fields?: readonly (FieldVerdict | undefined)[];
  /**
   * Positional arguments the function checks before its input object (`parseId`): when the
   * ValidationError names one, it need not name the input's fields too.
   */
  positional?: readonly string[];
  /** Required inputs (object or list): null or undefined must be a ValidationError. */
  required?: readonly { name: string; value: unknown }[];
  /** An optional options object was passed as null: it must behave like an absent one. */
  nullOptions?: boolean;
  /** For reads: the same call with null options left out; the outcomes must be equal. */
  absent?: (db: AnyPath) => Promise<unknown>;
  /** Reads write nothing, even when they succeed. */
  readOnly?: boolean;
  /** The result is valid (shape, and for writes the row read back). */
  check?: (result: R) => Promise<void> | void;
  /** Ids (besides the fixture rows used) whose state the success changed. */
  touched?: (result: R) => readonly string[];
  /** An error the call's own callback threw on purpose (transactions): rethrown as is, it is a valid outcome. */
  ownError?: unknown;
  /** More checks of a refusal (after the common ones). */
  refused?: (error: unknown) => Promise<void> | void;
}

async function execute<R>(world: World, path: PathName, c: Case<R>): Promise<string> {
  const before = await world.mark();
  let result: R | undefined;
  let error: unknown;
  let threw = false;
  try {
    result = await world.onPath(path, c.call);
  } catch (e) {
    threw = true;
    error = e;
  }
  const after = await world.freshMark();
  const fields = (c.fields ?? []).filter((f): f is FieldVerdict => f !== undefined);
  const invalid = fields.filter((f) => f.verdict === 'invalid');
  const missing = (c.required ?? []).filter((r) => r.value === null || r.value === undefined);
  if (threw) {
    expectThat(
      after === before,
      'a refused call wrote',
      () => `audit_log max(id) went from ${before} to ${after}; error: ${describeError(error)}`,
    );
    if (c.ownError !== undefined && error === c.ownError) return "the callback's error";
    expectThat(isDocumented(error), `undocumented error: ${firstLine(error)}`, () => describeError(error));
    if (error instanceof ValidationError) {
      expectWellFormedValidationError(error, c.inputs);
      const paths = error.issues.map((issue) => issue.path);
      const waived = (c.positional ?? []).some((name) => paths.includes(name));
      for (const f of invalid) {
        expectThat(
          waived || names(paths, f.name),
          `ValidationError does not name ${f.name}`,
          () => `${f.name}: ${f.why}; issues: ${show(error.issues)}`,
        );
      }
      for (const f of fields.filter((f) => f.verdict === 'valid')) {
        expectThat(!names(paths, f.name), `a valid ${f.name} refused by name`, () => `${f.name}: ${f.why}; issues: ${show(error.issues)}`);
      }
      expectThat(
        !c.nullOptions || !paths.includes('(root)'),
        'null options refused instead of treated as absent',
        () => `issues: ${show(error.issues)}`,
      );
    } else {
      for (const f of invalid) {
        expectThat(false, `invalid ${f.name} not refused as a ValidationError`, () => `${f.name}: ${f.why}; got ${describeError(error)}`);
      }
      for (const r of missing) {
        expectThat(false, `${String(r.value)} ${r.name} not refused as a ValidationError`, () => `got ${describeError(error)}`);
      }
    }
    await c.refused?.(error);
    if (c.absent) await expectSameOutcome(world, path, c, { threw: true, error });
    return (error as Error).name;
  }
  for (const f of invalid) expectThat(false, `an invalid ${f.name} accepted`, () => `${f.name}: ${f.why}; result: ${show(result)}`);
  for (const r of missing) expectThat(false, `${String(r.value)} ${r.name} accepted`, () => `result: ${show(result)}`);
  expectThat(c.ownError === undefined, 'the callback threw, yet the call succeeded', () => show(result));
  expectThat(!c.readOnly || after === before, 'a read wrote', () => `audit_log max(id) went from ${before} to ${after}`);
  await c.check?.(result as R);
  if (c.absent) await expectSameOutcome(world, path, c, { threw: false, value: result });
  world.retire(c.touched?.(result as R) ?? []);
  // The check may have read; the mark is only moved by writes, which it does not make.
  return 'ok';
}

/** A read with null options gives what the same read without them gives. */
async function expectSameOutcome<R>(
  world: World,
  path: PathName,
  c: Case<R>,
  first: { threw: boolean; error?: unknown; value?: unknown },
): Promise<void> {
  let second: { threw: boolean; error?: unknown; value?: unknown };
  try {
    second = { threw: false, value: await world.onPath(path, c.absent!) };
  } catch (error) {
    second = { threw: true, error };
  }
  const summary = (o: typeof first) =>
    o.threw ? `${firstLine(o.error)} ${show((o.error as { issues?: unknown }).issues ?? '')}` : `result ${show(o.value)}`;
  const same = first.threw
    ? second.threw &&
      (first.error as Error)?.name === (second.error as Error)?.name &&
      isDeepStrictEqual((first.error as { issues?: unknown }).issues, (second.error as { issues?: unknown }).issues)
    : !second.threw && isDeepStrictEqual(first.value, second.value);
  expectThat(same, 'null options differ from absent ones', () => `with null: ${summary(first)}\nwithout: ${summary(second)}`);
}

/**
 * An error's class, SQLSTATE and where it was thrown (the first stack frame outside the
 * library's error mapping): stable across values, unlike messages that quote them.
 */
function firstLine(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error (${typeof error})`;
  const { sqlState } = error as { sqlState?: string };
  if (sqlState) return `${error.name} [${sqlState}]`;
  const frame = (error.stack ?? '')
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .find((line) => line.startsWith('at '));
  const where = frame ? /^at (?:async )?([^\s(]+)?.*?([^/\\(]+?\.[cm]?[jt]s)/.exec(frame) : null;
  return `${error.name}${where ? ` at ${where[1] ?? '<anonymous>'} (${where[2]})` : ''}`;
}

function seedFor(name: string): number {
  let hash = PROPERTY_SEED | 0;
  for (const ch of name) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) | 0;
  return hash;
}

/** A stable name for a failure class: its first line, ids and numbers masked. */
function failureClass(error: PropertyFailure): string {
  return error.kind
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\d+/g, 'N')
    .replace(/"[^"]*"/g, '"…"');
}

/**
 * Checks one property: `PROPERTY_RUNS` cases of `arbitrary` ([path, ...argument specs]), each
 * built, called through its path and judged. Prints the seed and the outcome counts; a failure is
 * shrunk by fast-check and reported with its counterexample (in survey mode: every failure class).
 */
export async function checkProperty<A extends unknown[], R>(
  t: UsedTestDatabase,
  name: string,
  arbitrary: fc.Arbitrary<[PathName, ...A]>,
  define: (world: World, args: A, specs: A) => Case<R>,
): Promise<void> {
  const world = await World.create(t);
  const seed = seedFor(name);
  const counts = new Map<string, number>();
  let cases = 0;
  const started = Date.now();
  const once = async ([path, ...specs]: [PathName, ...A]): Promise<void> => {
    world.startCase();
    const args = (await world.materialize(specs)) as A;
    const outcome = await execute(world, path, define(world, args, specs));
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  };
  const report = (extra = '') => {
    const tally = [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    console.info(
      `[property] ${name}: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${seed}, PROPERTY_SEED=${PROPERTY_SEED}, PROPERTY_RUNS=${PROPERTY_RUNS}): ${tally}${extra}`,
    );
  };
  if (!PROPERTY_SURVEY) {
    let failed = false;
    try {
      await fc.assert(
        fc.asyncProperty(arbitrary, async (input) => {
          if (!failed) cases++;
          try {
            await once(input);
          } catch (error) {
            failed = true;
            throw error;
          }
        }),
        { numRuns: PROPERTY_RUNS, seed },
      );
    } finally {
      report();
    }
    return;
  }
  // Survey: every case, failures grouped by class; then each class shrunk on its own.
  const classes = new Map<string, { count: number; first: string }>();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (input) => {
      cases++;
      try {
        await once(input);
      } catch (error) {
        if (!(error instanceof PropertyFailure)) throw error;
        const key = failureClass(error);
        const entry = classes.get(key) ?? { count: 0, first: `${show(input)}\n${error.message}` };
        entry.count++;
        classes.set(key, entry);
        counts.set('FAILED', (counts.get('FAILED') ?? 0) + 1);
      }
    }),
    { numRuns: PROPERTY_RUNS, seed },
  );
  report();
  if (classes.size === 0) return;
  const sections: string[] = [];
  for (const [key, entry] of classes) {
    let shrunk = `first seen (not shrunk): ${entry.first}`;
    try {
      await fc.assert(
        fc.asyncProperty(arbitrary, async (input) => {
          try {
            await once(input);
          } catch (error) {
            if (error instanceof PropertyFailure && failureClass(error) !== key) return;
            throw error;
          }
        }),
        { numRuns: PROPERTY_RUNS, seed },
      );
    } catch (error) {
      const cause = (error as Error).cause;
      shrunk = `${(error as Error).message.replace(/\n\nHint:.*$/s, '')}\n${cause instanceof Error ? cause.message : ''}`;
    }
    sections.push(`=== ${key} (${entry.count} of ${cases} cases)\n${shrunk}`);
  }
  throw new Error(`${name}: ${classes.size} failure class(es)\n\n${sections.join('\n\n')}`);
}
