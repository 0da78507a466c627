/**
 * The validation fast paths agree with what they stand in for, on random inputs (fast-check):
 * `isStorableJson` with `jsonProblems` (under random size and depth limits too), each payload
 * guard with its zod schema (on storable values: a guard is only asked about those), and each
 * input fast path (`withFastPath`) with its schema: the fast path answers exactly when zod accepts,
 * with the value zod returns. A disagreement would be a fast path that accepts what the schema
 * refuses (a validation hole) or refuses what it accepts (only slower, but still a drift).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AGENT_INSIGHTS, AGENT_OUTPUT, evaluationResults } from '../../scripts/bench/operations.js';
import { agentInputDataSchema, agentInsightsSchema, agentOutputDataSchema, evaluationResultsSchema } from '../../src/schema/json.js';
import { completeAgentRunSchema } from '../../src/validation/agent-results.js';
import { fastPathOf, fitsText, boundedText, withKeys } from '../../src/validation/common.js';
import { createIdeaSchema } from '../../src/validation/business-ideas.js';
import { claimNextSchema, completeEvaluationSchema } from '../../src/validation/evaluations.js';
import { isPayload, isStorableJson, jsonProblems, MAX_JSON_DEPTH } from '../../src/validation/json.js';
import { shapeGuard } from '../../src/validation/payload-guards.js';
import {
  buildSpec,
  hostile,
  hostileNumber,
  hostileString,
  inputDataSpec,
  insightsSpec,
  isoString,
  outputDataSpec,
  payloadSpec,
  PROPERTY_SEED,
  resultsSpec,
  typedPayload,
} from '../support/arbitraries.js';

const RUNS = 2000;
const params = { numRuns: RUNS, seed: PROPERTY_SEED };
const built = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<unknown> => arbitrary.map((spec) => buildSpec(spec));

// --- values near the schemas' edges --------------------------------------------------------------

const edgeNumber = fc.oneof(
  fc.constantFrom(0, -0, 1, 100, 0.5, 1.0000001, -1e-9, 100.01, 64.125, 99.99, 2 ** 31 - 1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER + 2),
  fc.double({ min: -2, max: 102, noNaN: true }),
  fc.integer({ min: -3, max: 3 }),
  hostileNumber.filter(Number.isFinite),
);
const edgeText = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('', ' ', 'market-research', 'Market', 'a-', '-a', 'x'.repeat(65)));
const agentTypeLike = fc.oneof(
  fc.constantFrom('market-research', 'risk-assessment', 'a', 'a1-b2', 'a--b', 'A', '1a', 'x'.repeat(64), 'x'.repeat(65)),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
);
const isoLike = fc.oneof(isoString, fc.constantFrom('2026-11-20T10:00:00Z', '2026-11-20T10:00:00.123+01:00', '2026-11-20 10:00:00Z'));
const scalar = fc.oneof(edgeNumber, edgeText, fc.boolean(), fc.constant(null), agentTypeLike, isoLike);
/** Any storable JSON, small. */
const json = fc.jsonValue({ maxDepth: 2 });

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const record = <T extends Record<string, fc.Arbitrary<unknown>>>(fields: T) =>
  fc.record(fields, { noNullPrototype: true }).map((value) => withoutUndefined(value));
/** Drops keys whose value is undefined (a generated "absent" field); jsonProblems refuses undefined values. */
function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value))
    if ((value as Record<string, unknown>)[key] === undefined) delete (value as Record<string, unknown>)[key];
  return value;
}
const fraction = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), edgeNumber);
const percent = fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), edgeNumber);
const count = fc.oneof(fc.nat(), edgeNumber);
const severity = fc.oneof(fc.constantFrom('low', 'medium', 'high'), edgeText);

/** Full payloads of each type, every optional part used, numbers and labels at their edges. */
const output = record({
  version: fc.oneof(fc.constant(1), scalar),
  summary: fc.oneof(edgeText, scalar),
  findings: fc.array(
    record({
      topic: edgeText,
      statement: fc.oneof(edgeText, scalar),
      confidence: maybe(fraction),
      sourceRefs: maybe(fc.array(count, { maxLength: 3 })),
    }),
    { maxLength: 3 },
  ),
  sources: maybe(
    fc.array(record({ title: edgeText, url: maybe(fc.oneof(edgeText, scalar)), retrievedAt: maybe(isoLike) }), { maxLength: 2 }),
  ),
  usage: maybe(record({ inputTokens: count, outputTokens: count, durationMs: count, costUsd: maybe(edgeNumber) })),
  details: maybe(fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 3 }), scalar, fc.array(json, { maxLength: 2 }))),
});
const insights = record({
  version: fc.oneof(fc.constant(1), scalar),
  items: fc.array(
    record({
      kind: fc.oneof(fc.constantFrom('strength', 'weakness', 'opportunity', 'threat', 'recommendation'), edgeText),
      title: fc.oneof(edgeText, scalar),
      detail: maybe(edgeText),
      impact: maybe(severity),
      confidence: maybe(fraction),
    }),
    { maxLength: 3 },
  ),
  metrics: maybe(fc.oneof(fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constant('__proto__')), scalar, { maxKeys: 3 }), scalar)),
});
const results = record({
  version: fc.oneof(fc.constant(1), scalar),
  overallScore: percent,
  recommendation: fc.oneof(fc.constantFrom('strong-go', 'go', 'pivot', 'no-go'), edgeText),
  confidence: fraction,
  summary: fc.oneof(edgeText, scalar),
  agentScores: fc.array(
    record({
      agentType: agentTypeLike,
      score: fc.oneof(percent, fc.constant(null)),
      weight: fraction,
      status: fc.oneof(fc.constantFrom('completed', 'failed'), edgeText),
    }),
    { maxLength: 3 },
  ),
  strengths: fc.array(fc.oneof(edgeText, scalar), { maxLength: 2 }),
  risks: fc.array(
    record({
      title: edgeText,
      description: maybe(edgeText),
      severity,
      mitigation: maybe(fc.oneof(edgeText, scalar)),
      source: maybe(agentTypeLike),
    }),
    { maxLength: 2 },
  ),
  nextSteps: fc.array(edgeText, { maxLength: 2 }),
  generatedAt: isoLike,
});
const input = record({
  idea: maybe(
    fc.oneof(
      record({
        title: edgeText,
        description: fc.oneof(edgeText, scalar),
        context: maybe(fc.oneof(fc.dictionary(fc.string(), json), scalar)),
      }),
      scalar,
    ),
  ),
  model: maybe(fc.oneof(edgeText, scalar)),
  promptVersion: maybe(edgeText),
  parameters: maybe(fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 3 }), scalar)),
});

/** `value` with one thing changed somewhere inside: a value replaced, a key removed or added. */
function mutated(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      base,
      fc.nat(),
      fc.constantFrom('replace', 'remove', 'add'),
      fc.oneof(scalar, json),
      fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'version', 'constructor')),
    )
    .map(([value, pick, how, replacement, key]) => {
      const copy = structuredClone(value);
      const containers: (Record<string, unknown> | unknown[])[] = [];
      const visit = (v: unknown): void => {
        if (typeof v !== 'object' || v === null) return;
        containers.push(v as Record<string, unknown>);
        for (const item of Object.values(v)) visit(item);
      };
      visit(copy);
      if (containers.length === 0) return copy;
      const target = containers[pick % containers.length]!;
      const keys = Object.keys(target);
      if (how === 'add' || keys.length === 0) {
        Object.defineProperty(target, Array.isArray(target) ? target.length : key, {
          value: replacement,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        const at = keys[pick % keys.length]!;
        if (how === 'remove' && !Array.isArray(target)) delete target[at];
        else (target as Record<string, unknown>)[at] = replacement;
      }
      return copy;
    });
}

// --- isStorableJson ----------------------------------------------------------------------------------

describe('isStorableJson', () => {
  const anyValue = fc.oneof(
    built(payloadSpec),
    built(hostile),
    built(typedPayload(outputDataSpec)),
    built(typedPayload(resultsSpec)),
    json,
    output,
  );

  it('is true exactly when jsonProblems finds nothing', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        expect(isStorableJson(value)).toBe(jsonProblems(value).length === 0);
      }),
      params,
    );
  });

  it('agrees under any size and depth limit, at the edges of both', () => {
    const nested = fc.tuple(fc.integer({ min: 0, max: 10 }), fc.boolean(), json).map(([levels, arrays, leaf]) => {
      let value: unknown = leaf;
      for (let i = 0; i < levels; i++) value = arrays && i % 2 === 0 ? [value] : { d: value };
      return value;
    });
    fc.assert(
      fc.property(
        fc.oneof(anyValue, nested),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 12 }),
        (value, maxBytes, maxDepth) => {
          expect(isStorableJson(value, maxBytes, maxDepth)).toBe(jsonProblems(value, maxBytes, maxDepth).length === 0);
        },
      ),
      params,
    );
  });

  it('refuses what the walk names: cycles, holes, symbol keys, class instances, undefined, and too deep', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const symbolKeyed = { a: 1, [Symbol('s')]: 2 };
    const hidden = Object.defineProperty({ a: 1 }, Symbol('t'), { value: 1, enumerable: false });
    // eslint-disable-next-line no-sparse-arrays
    const holed = [1, , 3];
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) deep = { d: deep };
    for (const value of [
      cyclic,
      symbolKeyed,
      hidden,
      { list: holed },
      { when: new Date() },
      { u: undefined },
      { n: NaN },
      { s: 'x\u0000' },
      { s: '\uD800' },
      { deep },
    ]) {
      expect(isStorableJson(value)).toBe(false);
      expect(jsonProblems(value).length).toBeGreaterThan(0);
    }
    expect(isStorableJson(deep)).toBe(true); // exactly MAX_JSON_DEPTH levels
    expect(isStorableJson({ p: 'x'.repeat(100) }, 108)).toBe(true); // {"p":"x...x"} is 108 bytes
    expect(isStorableJson({ p: 'x'.repeat(100) }, 107)).toBe(false);
  });
});

// --- payload guards ----------------------------------------------------------------------------------

describe('payload guards', () => {
  const cases: [string, z.ZodType, fc.Arbitrary<unknown>][] = [
    [
      'agent output',
      agentOutputDataSchema,
      fc.oneof(output, mutated(output), built(typedPayload(outputDataSpec)), mutated(fc.constant(AGENT_OUTPUT))),
    ],
    [
      'agent insights',
      agentInsightsSchema,
      fc.oneof(insights, mutated(insights), built(typedPayload(insightsSpec)), mutated(fc.constant(AGENT_INSIGHTS))),
    ],
    [
      'evaluation results',
      evaluationResultsSchema,
      fc.oneof(results, mutated(results), built(typedPayload(resultsSpec)), mutated(fc.constant(evaluationResults(null)))),
    ],
    ['agent input', agentInputDataSchema, fc.oneof(input, mutated(input), built(typedPayload(inputDataSpec)))],
  ];

  for (const [name, schema, values] of cases) {
    it(`accept exactly what the schema accepts: ${name}`, () => {
      const guard = shapeGuard(schema)!;
      let accepted = 0;
      fc.assert(
        fc.property(values, (value) => {
          fc.pre(isStorableJson(value));
          const fits = schema.safeParse(value).success;
          expect(guard(value)).toBe(fits);
          if (fits) accepted++;
        }),
        params,
      );
      // Both sides were exercised: a guard that refused everything would agree only with refusals.
      expect(accepted).toBeGreaterThan(RUNS / 100);
    });
  }

  it('accept the benchmark payloads (the fast path is taken for them)', () => {
    expect(isPayload(AGENT_OUTPUT, agentOutputDataSchema)).toBe(true);
    expect(isPayload(AGENT_INSIGHTS, agentInsightsSchema)).toBe(true);
    expect(isPayload(evaluationResults(null), evaluationResultsSchema)).toBe(true);
  });
});

// --- input fast paths --------------------------------------------------------------------------------

describe('input fast paths (withFastPath)', () => {
  const uuid = fc.oneof(
    { weight: 8, arbitrary: fc.uuid({ version: [1, 4, 7] }) },
    fc.constantFrom('00000000-0000-0000-0000-000000000000', 'not-a-uuid', '0B6F7C1E-2A3B-4C5D-8E9F-0A1B2C3D4E5F'),
  );
  const text = fc.oneof(
    fc.string({ maxLength: 6 }),
    fc.constantFrom(
      '',
      ' ',
      '  w  ',
      'w',
      'x'.repeat(200),
      'x'.repeat(201),
      '\u{1F680}'.repeat(200),
      '\u{1F680}'.repeat(101),
      'a\u0000',
      '\uD800',
    ),
  );
  const attempt = fc.oneof(fc.integer({ min: -1, max: 5 }), edgeNumber);
  const validText = fc.oneof(fc.constantFrom('worker-1', ' w ', 'x'.repeat(200)), fc.string({ minLength: 1, maxLength: 6 }));
  const field = <T>(valid: fc.Arbitrary<T>) =>
    fc.oneof(
      { weight: 30, arbitrary: valid },
      { weight: 1, arbitrary: fc.constantFrom(undefined, null) },
      { weight: 2, arbitrary: built(hostile) },
    );
  const extra = fc.option(fc.tuple(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('__proto__', 'constructor')), built(hostile)), {
    freq: 8,
  });
  const withExtra = (base: fc.Arbitrary<Record<string, unknown>>) =>
    fc.tuple(base, extra).map(([value, more]) => {
      if (more) Object.defineProperty(value, more[0], { value: more[1], enumerable: true, writable: true, configurable: true });
      return value;
    });
  const token = fc.oneof(
    { weight: 3, arbitrary: fc.constant({}) },
    { weight: 3, arbitrary: fc.record({ workerId: validText, attempt: fc.nat(9) }) },
    fc.record({ workerId: field(text), attempt: field(attempt) }),
    fc.constant({}),
    fc.record({ workerId: field(text) }),
    fc.record({ attempt: field(attempt) }),
  );

  const cases: [string, z.ZodType, fc.Arbitrary<unknown>][] = [
    [
      'completeAgentRun',
      completeAgentRunSchema,
      withExtra(
        fc
          .tuple(
            fc.record(
              {
                outputData: field(
                  fc.oneof(
                    { weight: 8, arbitrary: fc.constant(AGENT_OUTPUT) },
                    built(outputDataSpec),
                    output,
                    mutated(output),
                    built(payloadSpec),
                  ),
                ),
                insights: field(
                  fc.oneof({ weight: 4, arbitrary: fc.constant(AGENT_INSIGHTS) }, built(insightsSpec), insights, built(payloadSpec)),
                ),
                score: field(
                  fc.oneof(
                    { weight: 4, arbitrary: fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100) },
                    percent,
                    fc.constantFrom(78.5, 12.345, 100, 0),
                  ),
                ),
                idempotencyKey: field(fc.oneof(validText, text)),
              },
              { requiredKeys: ['outputData'], noNullPrototype: true },
            ),
            token,
            field(uuid),
          )
          .map(([fields, tokenFields, id]) => withKeys({ ...fields, ...tokenFields }, { id }) as Record<string, unknown>),
      ),
    ],
    [
      'completeEvaluation',
      completeEvaluationSchema,
      withExtra(
        fc
          .tuple(
            field(
              fc.oneof(
                { weight: 8, arbitrary: fc.constant(evaluationResults(null)) },
                built(resultsSpec),
                results,
                mutated(results),
                built(payloadSpec),
              ),
            ),
            token,
            field(uuid),
          )
          .map(([resultsValue, tokenFields, id]) => withKeys({ results: resultsValue, ...tokenFields }, { id }) as Record<string, unknown>),
      ),
    ],
    [
      'createIdea',
      createIdeaSchema,
      withExtra(
        fc.record(
          {
            title: field(fc.oneof({ weight: 4, arbitrary: fc.constantFrom('Clinic deposits', '  abc  ', 'x'.repeat(200)) }, text)),
            description: field(
              fc.oneof(
                { weight: 4, arbitrary: fc.constantFrom('d'.repeat(50), ` ${'d'.repeat(49)} `, '\u{1F680}'.repeat(5000)) },
                fc.string({ minLength: 45, maxLength: 60 }),
                fc.constantFrom('d'.repeat(5001), '\u{1F680}'.repeat(5001), `${'d'.repeat(50)}\u0000`, `${'d'.repeat(50)}\uD800`),
                text,
              ),
            ),
            idempotencyKey: field(fc.oneof(validText, text)),
          },
          { requiredKeys: [], noNullPrototype: true },
        ),
      ),
    ],
    [
      'claimNext',
      claimNextSchema,
      withExtra(
        fc
          .tuple(
            fc.oneof(
              fc.constant(undefined),
              fc.constant(null),
              fc.record({ leaseSeconds: field(fc.oneof(fc.integer({ min: 0, max: 86_401 }), edgeNumber)) }),
            ),
            field(text),
          )
          .map(([options, workerId]) => withKeys(options, { workerId }) as Record<string, unknown>),
      ),
    ],
  ];

  for (const [name, schema, inputs] of cases) {
    it(`answer exactly when zod accepts, with zod's value: ${name}`, () => {
      const fast = fastPathOf(schema)!;
      let accepted = 0;
      fc.assert(
        fc.property(inputs, (value) => {
          const parsed = schema.safeParse(value);
          const quick = fast(value);
          expect(quick !== undefined).toBe(parsed.success);
          if (parsed.success) {
            expect(quick).toEqual(parsed.data);
            accepted++;
          }
        }),
        params,
      );
      expect(accepted).toBeGreaterThan(RUNS / 100);
    });
  }

  it('leave inputs that are not plain objects to zod', () => {
    const fast = fastPathOf(claimNextSchema)!;
    expect(fast(Object.assign(Object.create({ inherited: 1 }) as object, { workerId: 'w' }))).toBeUndefined();
    expect(fast(['w'])).toBeUndefined();
    expect(fast({ workerId: 'w' })).toEqual({ workerId: 'w', leaseSeconds: 300 });
  });

  it('fitsText agrees with boundedText', () => {
    fc.assert(
      fc.property(
        fc.oneof(text, built(hostileString), built(hostile)),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 8 }),
        (value, min, extraMax) => {
          expect(fitsText(value, min, min + extraMax)).toBe(boundedText(min, min + extraMax).safeParse(value).success);
        },
      ),
      params,
    );
  });
});
