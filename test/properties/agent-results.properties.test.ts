/**
 * Property-based tests (fast-check) of every agent results repository function that takes input,
 * with hostile inputs mixed with real fixture rows (agent results pending, running, completed and
 * failed; evaluations in every state), through the owner, worker and user paths. Besides the
 * contract every property checks (a valid result or a documented typed error; a refused call
 * wrote nothing; test/support/arbitraries.ts), the JSON payloads are checked against the
 * documented limits: `runs.N.inputData`, `outputData`, `insights` and the finder's `contains`
 * deeper than the documented depth, larger than their size cap, cyclic, or holding non-JSON
 * values are ValidationErrors naming the field; a payload that is valid JSON but not of the type
 * src/schema/json.ts declares is refused by name once that module exports the type's runtime
 * schema, and one of its type never is; own `__proto__` and `constructor` keys (generated inside
 * the open-ended parts: `details`, `parameters`, `context`) are stored exactly or refused by name;
 * what is stored reads back (from the returned row and from the table's JSON text) equal to what
 * was written. The lists and finders check their cursors.
 *
 * Runs: `PROPERTY_RUNS` cases per function (default 1000; `PROPERTY_RUNS=10000` for the long run),
 * seeded from `PROPERTY_SEED` (default 20261125); `PROPERTY_SURVEY=1` lists every failure class.
 *
 * ```sh
 * PROPERTY_RUNS=10000 TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx vitest run test/properties
 * ```
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as agentResults from '../../src/repositories/agent-results.js';
import {
  arg,
  checkProperty,
  cursorOf,
  cursorVerdict,
  expectAgentResult,
  expectNewestFirst,
  expectPage,
  expectSameJson,
  expectShape,
  expectThat,
  field,
  fieldsOf,
  hostile,
  hostileNumber,
  hostileString,
  idOf,
  inputObject,
  jsonContains,
  jsonVerdict,
  lower,
  MAX_CONTAINS_BYTES,
  MAX_JSON_BYTES,
  optional,
  options,
  pathOf,
  payloadSpec,
  payloadVerdict,
  typedPayload,
  inputDataSpec,
  outputDataSpec,
  insightsSpec,
  PROPERTY_TIMEOUT_MS,
  recipe,
  show,
  validAgentType,
  validErrorMessage,
  validIdempotencyKey,
  validLimit,
  validScore,
  type FieldVerdict,
} from '../support/arbitraries.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();
const paths = pathOf('owner', 'worker', 'user');
const evaluationIdArg = fc.oneof(
  { weight: 2, arbitrary: fc.constant(recipe('hostEvaluation')) },
  { weight: 5, arbitrary: idOf('evaluation') },
);
const AGENT_TYPE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

async function storedAgentResults(ids: readonly string[]) {
  if (ids.length === 0) return [];
  return t.db
    .selectFrom('agentResults')
    .select(['id', 'status', 'agentType', 'score', 'errorMessage', 'evaluationId'])
    .select((eb) => [
      eb.cast<string>('inputData', 'text').as('inputText'),
      eb.cast<string | null>('outputData', 'text').as('outputText'),
      eb.cast<string | null>('insights', 'text').as('insightsText'),
    ])
    .where('id', 'in', ids)
    .execute();
}

async function expectAgentResultIn(result: unknown, id: unknown, status: string) {
  expectAgentResult(result);
  const [row] = await storedAgentResults([result.id]);
  expectThat(result.id === lower(id) && result.status === status && row?.status === status, `the agent result is not ${status}`, () =>
    show({ result, row }),
  );
  return { result, row: row };
}

const runSpec = fc.oneof(
  { weight: 2, arbitrary: validAgentType },
  {
    weight: 4,
    arbitrary: fc.record(
      { agentType: field(validAgentType, 10), inputData: optional(typedPayload(inputDataSpec)) },
      { noNullPrototype: true },
    ),
  },
  { weight: 1, arbitrary: hostile },
);
const runsArg = fc.oneof(
  { weight: 8, arbitrary: fc.array(runSpec, { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 2, arbitrary: hostile },
);

/** The contract's verdict on each run's inputData, where the run is unmistakably `{ agentType, inputData }`. */
function inputDataVerdicts(runs: unknown): FieldVerdict[] {
  if (!Array.isArray(runs)) return [];
  return runs.flatMap((run: unknown, i) => {
    const o = fieldsOf(run);
    const keys = o ? Object.keys(o) : [];
    const plain = o && keys.every((k) => k === 'agentType' || k === 'inputData') && typeof o.agentType === 'string';
    if (!plain || !AGENT_TYPE.test(o.agentType as string) || (o.agentType as string).length > 64) return [];
    return [payloadVerdict(`runs.${i}.inputData`, o.inputData, 'agentInputDataSchema', { maxBytes: MAX_JSON_BYTES, optional: true })];
  });
}

const containsSpec = fc.oneof(
  { weight: 3, arbitrary: payloadSpec },
  { weight: 2, arbitrary: fc.constantFrom({ fixture: true }, { items: [{ kind: 'threat' }] }, { items: [] }, { fixture: false }) },
);
const outputPath = fc.oneof(
  fc.constantFrom(['summary'], ['findings', 'topic'], ['findings']),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), hostileString), { minLength: 0, maxLength: 3 }),
);
const outputEquals = fc.oneof(
  fc.constantFrom('fixture', 'market-size', 'large'),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  hostileNumber,
);
const finderFilters = {
  evaluationId: optional(evaluationIdArg),
  agentType: optional(validAgentType),
  limit: field(validLimit),
  cursor: optional(cursorOf('newest')),
};

/** A finder's page: agent results, newest first, within the filters. */
function expectFinderPage(page: unknown, o: Record<string, unknown>) {
  expectPage<agentResults.AgentResult>(page, expectAgentResult, o.limit, 20);
  expectNewestFirst(page.items);
  expectThat(
    page.items.every(
      (r) =>
        (o.evaluationId === undefined || r.evaluationId === lower(o.evaluationId)) &&
        (o.agentType === undefined || r.agentType === o.agentType),
    ),
    'a finder ignored its filters',
    () => show({ filters: o, items: page.items }),
  );
  return page;
}

describe('agent results: every function that takes input, with hostile inputs', () => {
  it(
    'createAgentRuns',
    () =>
      checkProperty(t, 'agentResults.createAgentRuns', fc.tuple(paths, evaluationIdArg, runsArg), (_world, [evaluationId, runs]) => ({
        call: (db) => agentResults.createAgentRuns(db, evaluationId as never, runs as never),
        inputs: [evaluationId, runs],
        required: [{ name: 'runs', value: runs }],
        fields: inputDataVerdicts(runs),
        check: async (created) => {
          const specs = runs as unknown[];
          expectThat(Array.isArray(created) && created.length === specs.length, 'createAgentRuns returned another number of runs', () =>
            show({ created, runs }),
          );
          created.forEach(expectAgentResult);
          const stored = new Map((await storedAgentResults(created.map((r) => r.id))).map((row) => [row.id, row]));
          specs.forEach((spec, i) => {
            const o = fieldsOf(spec);
            const agentType = typeof spec === 'string' ? spec : o?.agentType;
            const inputData = typeof spec === 'string' ? {} : (o?.inputData ?? {});
            const result = created[i]!;
            const row = stored.get(result.id);
            expectThat(
              result.agentType === agentType &&
                result.status === 'pending' &&
                result.evaluationId === lower(evaluationId) &&
                row?.agentType === agentType,
              'createAgentRuns stored another run',
              () => show({ result, spec }),
            );
            expectSameJson(`runs.${i}.inputData (returned)`, result.inputData, inputData);
            expectSameJson(`runs.${i}.inputData (stored)`, row?.inputText, inputData);
          });
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'getAgentResult',
    () =>
      checkProperty(t, 'agentResults.getAgentResult', fc.tuple(paths, idOf('agentResult')), (_world, [id]) => ({
        call: (db) => agentResults.getAgentResult(db, id as never),
        inputs: [id],
        readOnly: true,
        check: (result) => {
          expectAgentResult(result);
          expectThat(result.id === lower(id), 'getAgentResult returned another row', () => show({ result, id }));
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'listAgentResults',
    () =>
      checkProperty(
        t,
        'agentResults.listAgentResults',
        fc.tuple(paths, evaluationIdArg, options({ limit: field(validLimit), cursor: optional(cursorOf('key')) })),
        (_world, [evaluationId, input]) => {
          const o = fieldsOf(input);
          return {
            call: (db) => agentResults.listAgentResults(db, evaluationId as never, input as never),
            inputs: [evaluationId, input],
            readOnly: true,
            fields: [o ? cursorVerdict(o.cursor, 'key') : undefined],
            nullOptions: input === null,
            ...(input === null ? { absent: (db) => agentResults.listAgentResults(db, evaluationId as never) } : {}),
            check: (page) => {
              expectPage(page, expectAgentResult, o?.limit, 20);
              expectThat(
                page.items.every((r) => r.evaluationId === lower(evaluationId)) &&
                  new Set(page.items.map((r) => r.agentType)).size === page.items.length,
                'listAgentResults listed other rows',
                () => show(page.items),
              );
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'startAgentRun',
    () =>
      checkProperty(t, 'agentResults.startAgentRun', fc.tuple(paths, idOf('agentResult')), (_world, [id]) => ({
        call: (db) => agentResults.startAgentRun(db, id as never),
        inputs: [id],
        check: async (result) => {
          await expectAgentResultIn(result, id, 'running');
          expectThat(result.startedAt !== null, 'startAgentRun without startedAt', () => show(result));
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'completeAgentRun',
    () =>
      checkProperty(
        t,
        'agentResults.completeAgentRun',
        fc.tuple(
          paths,
          idOf('agentResult', ['running', 'running', 'pending', 'completed', 'failed']),
          inputObject({
            outputData: field(typedPayload(outputDataSpec)),
            insights: optional(fc.oneof(typedPayload(insightsSpec), fc.constant(null))),
            score: optional(fc.oneof({ weight: 3, arbitrary: validScore }, { weight: 1, arbitrary: hostileNumber })),
            idempotencyKey: optional(validIdempotencyKey),
          }),
        ),
        (_world, [id, input]) => {
          const o = fieldsOf(input);
          return {
            call: (db) => agentResults.completeAgentRun(db, id as never, input as never),
            inputs: [id, input],
            required: [{ name: 'input', value: input }],
            fields: o
              ? [
                  payloadVerdict('outputData', o.outputData, 'agentOutputDataSchema', { maxBytes: MAX_JSON_BYTES }),
                  payloadVerdict('insights', o.insights, 'agentInsightsSchema', {
                    maxBytes: MAX_JSON_BYTES,
                    optional: true,
                    nullable: true,
                  }),
                ]
              : [],
            check: async (result) => {
              const { row } = await expectAgentResultIn(result, id, 'completed');
              expectSameJson('outputData (returned)', result.outputData, o!.outputData);
              expectSameJson('outputData (stored)', row.outputText, o!.outputData);
              expectSameJson('insights (returned)', result.insights, o!.insights ?? null);
              expectSameJson('insights (stored)', row.insightsText ?? 'null', o!.insights ?? null);
              expectThat(
                result.score === (o!.score ?? null) && row.score === (o!.score ?? null),
                'completeAgentRun stored another score',
                () => show({ result: result.score, row: row.score, input: o!.score }),
              );
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'failAgentRun',
    () =>
      checkProperty(
        t,
        'agentResults.failAgentRun',
        fc.tuple(paths, idOf('agentResult'), inputObject({ errorMessage: field(validErrorMessage) })),
        (_world, [id, input]) => ({
          call: (db) => agentResults.failAgentRun(db, id as never, input as never),
          inputs: [id, input],
          required: [{ name: 'input', value: input }],
          check: async (result) => {
            const { row } = await expectAgentResultIn(result, id, 'failed');
            const message = fieldsOf(input)?.errorMessage;
            expectThat(result.errorMessage === message && row.errorMessage === message, 'failAgentRun stored another message', () =>
              show({ result, input }),
            );
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'findAgentResultsByInsights',
    () =>
      checkProperty(
        t,
        'agentResults.findAgentResultsByInsights',
        fc.tuple(paths, inputObject({ contains: field(containsSpec), ...finderFilters })),
        (_world, [input]) => {
          const o = fieldsOf(input);
          return {
            call: (db) => agentResults.findAgentResultsByInsights(db, input as never),
            inputs: [input],
            readOnly: true,
            required: [{ name: 'input', value: input }],
            fields: o
              ? [jsonVerdict('contains', o.contains, { maxBytes: MAX_CONTAINS_BYTES, nonEmpty: true }), cursorVerdict(o.cursor, 'newest')]
              : [],
            check: (page) => {
              const { items } = expectFinderPage(page, o!);
              expectThat(
                items.every((r) => jsonContains(r.insights, o!.contains)),
                'findAgentResultsByInsights found a row whose insights do not contain the document',
                () => show({ contains: o!.contains, insights: items.map((r) => r.insights) }),
              );
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'findAgentResultsByOutput',
    () =>
      checkProperty(
        t,
        'agentResults.findAgentResultsByOutput',
        fc.tuple(paths, inputObject({ path: field(outputPath), equals: field(outputEquals), ...finderFilters })),
        (_world, [input]) => {
          const o = fieldsOf(input);
          return {
            call: (db) => agentResults.findAgentResultsByOutput(db, input as never),
            inputs: [input],
            readOnly: true,
            required: [{ name: 'input', value: input }],
            fields: o ? [cursorVerdict(o.cursor, 'newest')] : [],
            check: (page) => {
              const { items } = expectFinderPage(page, o!);
              const path = o!.path as string[];
              if (path.length === 1) {
                const matches = (output: unknown) => {
                  const value = fieldsOf(output)?.[path[0]!];
                  return Array.isArray(value) ? value.some((v) => v === o!.equals) : value === o!.equals;
                };
                expectThat(
                  items.every((r) => matches(r.outputData)),
                  'findAgentResultsByOutput found a row without the value',
                  () => show({ path, equals: o!.equals, outputs: items.map((r) => r.outputData) }),
                );
              }
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'scoreSummary',
    () =>
      checkProperty(t, 'agentResults.scoreSummary', fc.tuple(paths, arg(evaluationIdArg)), (_world, [evaluationId]) => ({
        call: (db) => agentResults.scoreSummary(db, evaluationId as never),
        inputs: [evaluationId],
        readOnly: true,
        check: (summary) => {
          const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
          const score = (v: unknown) => v === null || (typeof v === 'number' && v >= 0 && v <= 100);
          const stats = { runs: count, scored: count, average: score, min: score, max: score };
          expectShape(summary, 'score summary', {
            evaluationId: (v) => v === evaluationId,
            overall: (v) => fieldsOf(v) !== undefined,
            byAgentType: Array.isArray,
          });
          expectShape(summary.overall, 'score stats', stats);
          for (const entry of summary.byAgentType)
            expectShape(entry, 'score stats by agent type', { ...stats, agentType: (v) => typeof v === 'string' });
          expectThat(
            summary.overall.runs === summary.byAgentType.reduce((n, s) => n + s.runs, 0) && summary.overall.scored <= summary.overall.runs,
            'inconsistent score summary',
            () => show(summary),
          );
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );
});
