/**
 * Property-based tests (fast-check) of every evaluations repository function that takes input,
 * with hostile inputs mixed with real fixture rows (evaluations pending, analyzing under the
 * fixture worker's lease, with an expired lease, completed and failed; ideas in every status),
 * through the owner, worker and user paths. Besides the contract every property checks (a valid
 * result or a documented typed error; a refused call wrote nothing; test/support/arbitraries.ts),
 * `completeEvaluation` checks its JSON payload (`results`: deeper than the documented depth,
 * larger than MAX_JSON_BYTES, cyclic or non-JSON is a ValidationError naming `results`, and so is
 * valid JSON not of the declared `EvaluationResults` type once src/schema/json.ts exports its
 * runtime schema; own `__proto__` and `constructor` keys are stored exactly or refused by name, and
 * what is stored reads back equal to what was written), the lists check their cursors, and null options of
 * `createEvaluation`, `listEvaluationsByIdea`, `listEvaluationsByStatus` and `claimNext` behave
 * like absent ones.
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
import * as evaluations from '../../src/repositories/evaluations.js';
import {
  arg,
  checkProperty,
  cursorOf,
  cursorVerdict,
  evaluationPriority,
  evaluationStatus,
  expectAgentResult,
  expectEvaluation,
  expectNewestFirst,
  expectPage,
  expectSameJson,
  expectThat,
  field,
  fieldsOf,
  FIXTURE_WORKER,
  idOf,
  inputObject,
  payloadVerdict,
  lower,
  MAX_JSON_BYTES,
  optional,
  options,
  pathOf,
  resultsSpec,
  typedPayload,
  PROPERTY_TIMEOUT_MS,
  recipe,
  show,
  validErrorMessage,
  validIdempotencyKey,
  validLimit,
  validWorkerId,
} from '../support/arbitraries.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();
const paths = pathOf('owner', 'worker', 'user');
const leaseSeconds = fc.oneof(fc.integer({ min: 1, max: 86_400 }), fc.constantFrom(1, 60, 86_400));
const ideaIdArg = fc.oneof({ weight: 1, arbitrary: fc.constant(recipe('hostIdea')) }, { weight: 4, arbitrary: idOf('idea') });

async function storedEvaluation(id: string) {
  return t.db
    .selectFrom('evaluations')
    .select(['status', 'priority', 'claimedBy', 'leaseExpiresAt', 'errorMessage', 'businessIdeaId'])
    .select((eb) => eb.cast<string | null>('results', 'text').as('resultsText'))
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The evaluation returned, in `status`, is the one asked for, and the table agrees. */
async function expectEvaluationIn(evaluation: unknown, id: unknown, status: string) {
  expectEvaluation(evaluation);
  const row = await storedEvaluation(evaluation.id);
  expectThat(evaluation.id === lower(id) && evaluation.status === status && row?.status === status, `the evaluation is not ${status}`, () =>
    show({ evaluation, row }),
  );
  return { evaluation, row: row };
}

const future = (date: Date | null): boolean => date !== null && date.getTime() > Date.now() - 60_000;

describe('evaluations: every function that takes input, with hostile inputs', () => {
  it(
    'createEvaluation',
    () =>
      checkProperty(
        t,
        'evaluations.createEvaluation',
        fc.tuple(paths, ideaIdArg, options({ priority: field(evaluationPriority, 8), idempotencyKey: optional(validIdempotencyKey) })),
        (_world, [ideaId, input]) => ({
          call: (db) => evaluations.createEvaluation(db, ideaId as never, input as never),
          inputs: [ideaId, input],
          nullOptions: input === null,
          check: async (evaluation) => {
            const priority = fieldsOf(input)?.priority ?? 'normal';
            // A retry with an idempotency key returns the evaluation the key queued, in whatever status it is now.
            const keyed = fieldsOf(input)?.idempotencyKey !== undefined;
            expectEvaluation(evaluation);
            const { row } = await expectEvaluationIn(evaluation, evaluation.id, keyed ? evaluation.status : 'pending');
            expectThat(
              evaluation.businessIdeaId === lower(ideaId) && evaluation.priority === priority && row.priority === priority,
              'createEvaluation stored other values',
              () => show({ evaluation, input }),
            );
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'getEvaluation',
    () =>
      checkProperty(t, 'evaluations.getEvaluation', fc.tuple(paths, idOf('evaluation')), (_world, [id]) => ({
        call: (db) => evaluations.getEvaluation(db, id as never),
        inputs: [id],
        readOnly: true,
        check: (result) => {
          const { agentResults: runs, ...evaluation } = result;
          expectEvaluation(evaluation);
          expectThat(Array.isArray(runs), 'getEvaluation without agentResults', () => show(result));
          runs.forEach(expectAgentResult);
          expectThat(
            evaluation.id === lower(id) &&
              runs.every((r) => r.evaluationId === evaluation.id) &&
              new Set(runs.map((r) => r.agentType)).size === runs.length,
            'getEvaluation returned other rows',
            () => show(result),
          );
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'listEvaluationsByIdea',
    () =>
      checkProperty(
        t,
        'evaluations.listEvaluationsByIdea',
        fc.tuple(paths, ideaIdArg, options({ limit: field(validLimit), cursor: optional(cursorOf('newest')) })),
        (_world, [ideaId, input]) => {
          const o = fieldsOf(input);
          return {
            call: (db) => evaluations.listEvaluationsByIdea(db, ideaId as never, input as never),
            inputs: [ideaId, input],
            readOnly: true,
            fields: [o ? cursorVerdict(o.cursor, 'newest') : undefined],
            nullOptions: input === null,
            ...(input === null ? { absent: (db) => evaluations.listEvaluationsByIdea(db, ideaId as never) } : {}),
            check: (page) => {
              expectPage(page, expectEvaluation, o?.limit, 20);
              expectNewestFirst(page.items);
              expectThat(
                page.items.every((e) => e.businessIdeaId === lower(ideaId)),
                "listEvaluationsByIdea listed another idea's evaluation",
                () => show(page.items),
              );
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'listEvaluationsByStatus',
    () =>
      checkProperty(
        t,
        'evaluations.listEvaluationsByStatus',
        fc.tuple(paths, arg(evaluationStatus), options({ limit: field(validLimit), cursor: optional(cursorOf('newest')) })),
        (_world, [status, input]) => {
          const o = fieldsOf(input);
          return {
            call: (db) => evaluations.listEvaluationsByStatus(db, status as never, input as never),
            inputs: [status, input],
            readOnly: true,
            fields: [o ? cursorVerdict(o.cursor, 'newest') : undefined],
            nullOptions: input === null,
            ...(input === null ? { absent: (db) => evaluations.listEvaluationsByStatus(db, status as never) } : {}),
            check: (page) => {
              expectPage(page, expectEvaluation, o?.limit, 20);
              expectNewestFirst(page.items);
              expectThat(
                page.items.every((e) => e.status === status),
                'listEvaluationsByStatus listed another status',
                () => show(page.items),
              );
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'claimNext',
    () =>
      checkProperty(
        t,
        'evaluations.claimNext',
        fc.tuple(paths, arg(validWorkerId), options({ leaseSeconds: field(leaseSeconds) })),
        (_world, [workerId, input]) => ({
          call: (db) => evaluations.claimNext(db, workerId as never, input as never),
          inputs: [workerId, input],
          nullOptions: input === null,
          check: async (claimed) => {
            if (claimed === null) return;
            const { row } = await expectEvaluationIn(claimed, claimed.id, 'analyzing');
            expectThat(
              claimed.claimedBy === workerId && row.claimedBy === workerId && future(claimed.leaseExpiresAt) && claimed.startedAt !== null,
              'claimNext stored another claim',
              () => show({ claimed, workerId, input }),
            );
          },
          touched: (claimed) => (claimed ? [claimed.id] : []),
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'renewLease',
    () =>
      checkProperty(
        t,
        'evaluations.renewLease',
        fc.tuple(paths, idOf('evaluation'), inputObject({ workerId: field(validWorkerId), leaseSeconds: optional(leaseSeconds) })),
        (_world, [id, input]) => ({
          call: (db) => evaluations.renewLease(db, id as never, input as never),
          inputs: [id, input],
          required: [{ name: 'input', value: input }],
          check: async (evaluation) => {
            const { row } = await expectEvaluationIn(evaluation, id, 'analyzing');
            const workerId = fieldsOf(input)?.workerId;
            expectThat(
              evaluation.claimedBy === workerId && row.claimedBy === workerId && future(row.leaseExpiresAt),
              'renewLease stored another lease',
              () => show({ evaluation, input }),
            );
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'releaseLease',
    () =>
      checkProperty(
        t,
        'evaluations.releaseLease',
        fc.tuple(paths, idOf('evaluation'), inputObject({ workerId: field(validWorkerId) })),
        (_world, [id, input]) => ({
          call: (db) => evaluations.releaseLease(db, id as never, input as never),
          inputs: [id, input],
          required: [{ name: 'input', value: input }],
          check: async (evaluation) => {
            const { row } = await expectEvaluationIn(evaluation, id, 'pending');
            expectThat(row.claimedBy === null && row.leaseExpiresAt === null, 'releaseLease kept the claim', () =>
              show({ evaluation, row }),
            );
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'completeEvaluation',
    () =>
      checkProperty(
        t,
        'evaluations.completeEvaluation',
        fc.tuple(
          paths,
          idOf('evaluation', ['analyzing', 'analyzing', 'expired', 'pending', 'completed', 'failed']),
          inputObject({ results: field(typedPayload(resultsSpec)), workerId: optional(fc.constant(FIXTURE_WORKER)) }),
        ),
        (_world, [id, input]) => {
          const o = fieldsOf(input);
          return {
            call: (db) => evaluations.completeEvaluation(db, id as never, input as never),
            inputs: [id, input],
            required: [{ name: 'input', value: input }],
            fields: [o ? payloadVerdict('results', o.results, 'evaluationResultsSchema', { maxBytes: MAX_JSON_BYTES }) : undefined],
            check: async (evaluation) => {
              const { row } = await expectEvaluationIn(evaluation, id, 'completed');
              expectSameJson('results (returned)', evaluation.results, o!.results);
              expectSameJson('results (stored)', row.resultsText, o!.results);
              expectThat(
                row.leaseExpiresAt === null && (o!.workerId === undefined || row.claimedBy === o!.workerId),
                'completeEvaluation kept the lease',
                () => show(row),
              );
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'failEvaluation',
    () =>
      checkProperty(
        t,
        'evaluations.failEvaluation',
        fc.tuple(paths, idOf('evaluation'), inputObject({ errorMessage: field(validErrorMessage), workerId: optional(validWorkerId) })),
        (_world, [id, input]) => ({
          call: (db) => evaluations.failEvaluation(db, id as never, input as never),
          inputs: [id, input],
          required: [{ name: 'input', value: input }],
          check: async (evaluation) => {
            const { row } = await expectEvaluationIn(evaluation, id, 'failed');
            const message = fieldsOf(input)?.errorMessage;
            expectThat(
              evaluation.errorMessage === message && row.errorMessage === message && row.leaseExpiresAt === null,
              'failEvaluation stored another failure',
              () => show({ evaluation, input }),
            );
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'retryEvaluation',
    () =>
      checkProperty(t, 'evaluations.retryEvaluation', fc.tuple(paths, idOf('evaluation')), (_world, [id]) => ({
        call: (db) => evaluations.retryEvaluation(db, id as never),
        inputs: [id],
        check: async (evaluation) => {
          const { row } = await expectEvaluationIn(evaluation, id, 'pending');
          expectThat(row.claimedBy === null && row.leaseExpiresAt === null, 'retryEvaluation kept a claim', () => show(row));
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );
});
