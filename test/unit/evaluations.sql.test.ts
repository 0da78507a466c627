/** The SQL every evaluations repository function sends, committed as test/unit/__sql__/evaluations.sql. */
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type QueryResult,
} from 'kysely';
import { expect, it } from 'vitest';
import { createPlugins } from '../../src/db/kysely.js';
import { asExecutor, type Executor } from '../../src/repositories/executor.js';
import type { DB } from '../../src/schema/generated.js';
import type { EvaluationResults } from '../../src/schema/json.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import { encodeCursor } from '../../src/validation/cursor.js';
import { captureSql, sqlDocument } from '../support/sql-capture.js';

const ID = '0b6e2a3c-6f1d-4c2e-9a53-2f8f1d0c7e11';
const IDEA = '5d7b8f0e-2c4a-4e6b-8a1d-3f9c0b2e4d6a';
const CURSOR = encodeCursor({ createdAt: '2026-11-25T09:00:00.123456Z', id: ID });
const WORKER = 'worker-secret-host-7';
const RESULTS: EvaluationResults = {
  version: 1,
  overallScore: 72.5,
  recommendation: 'go',
  confidence: 0.8,
  summary: 'A sizeable niche',
  agentScores: [],
  strengths: [],
  risks: [],
  nextSteps: [],
  generatedAt: '2026-11-25T09:00:00.000Z',
};

/**
 * Like captureSql, but every query returns `row` and BEGIN/COMMIT/ROLLBACK are recorded too: it
 * shows the statements of the success paths, where DummyDriver's empty results show the failure paths.
 */
function captureSuccessSql(row: Record<string, unknown>) {
  const sent: string[] = [];
  const connection: DatabaseConnection = {
    executeQuery: async <R>(query: { sql: string }): Promise<QueryResult<R>> => {
      sent.push(`${query.sql};`);
      return { rows: [row as R] };
    },
    streamQuery: () => {
      throw new Error('not used');
    },
  };
  class RowDriver extends DummyDriver {
    override acquireConnection = async () => connection;
    override beginTransaction = async () => void sent.push('begin;');
    override commitTransaction = async () => void sent.push('commit;');
    override rollbackTransaction = async () => void sent.push('rollback;');
  }
  const db = asExecutor<'owner'>(
    new Kysely<DB>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => new RowDriver(),
        createIntrospector: (k) => new PostgresIntrospector(k),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
      plugins: createPlugins(),
    }),
  );
  return async (fn: (db: Executor<'owner'>) => Promise<unknown>): Promise<string> => {
    sent.length = 0;
    await fn(db);
    return sent.join('\n');
  };
}

const ROW = { id: ID, business_idea_id: IDEA, status: 'analyzing', claimed_by: 'w' };

it('compiles every evaluations query as committed in __sql__/evaluations.sql', async () => {
  const { sqlOf } = captureSql();
  const successOf = captureSuccessSql(ROW);
  const entries = {
    createEvaluation: await sqlOf((db) => evaluations.createEvaluation(db, IDEA, { priority: 'high' })),
    'createEvaluation (idempotency key; then the first evaluation, then the idea)': await sqlOf((db) =>
      evaluations.createEvaluation(db, IDEA, { priority: 'high', idempotencyKey: 'request-1' }),
    ),
    'createEvaluation (invalid input)': await sqlOf((db) =>
      evaluations.createEvaluation(db, 'not-a-uuid', { priority: 'urgent' as 'high' }),
    ),
    'getEvaluation (not found)': await sqlOf((db) => evaluations.getEvaluation(db, ID)),
    'getEvaluation (found: then its agent results)': await successOf((db) => evaluations.getEvaluation(db, ID)),
    listEvaluationsByIdea: await sqlOf((db) => evaluations.listEvaluationsByIdea(db, IDEA)),
    'listEvaluationsByIdea (cursor)': await sqlOf((db) => evaluations.listEvaluationsByIdea(db, IDEA, { limit: 5, cursor: CURSOR })),
    listEvaluationsByStatus: await sqlOf((db) => evaluations.listEvaluationsByStatus(db, 'failed')),
    'listEvaluationsByStatus (cursor)': await sqlOf((db) =>
      evaluations.listEvaluationsByStatus(db, 'pending', { limit: 50, cursor: CURSOR }),
    ),
    'claimNext (nothing to claim)': await sqlOf((db) => evaluations.claimNext(db, WORKER, { leaseSeconds: 60 })),
    'claimNext (claimed: the idea follows in the same statement)': await successOf((db) =>
      evaluations.claimNext(db, WORKER, { leaseSeconds: 60 }),
    ),
    'claimNext (inside a caller transaction: no transaction of its own)': await successOf((db) =>
      db.transaction().execute((trx) => evaluations.claimNext(asExecutor(trx), WORKER)),
    ),
    'renewLease (then, when nothing matched, the attempt-state lookup)': await sqlOf((db) =>
      evaluations.renewLease(db, ID, { workerId: WORKER, attempt: 3, leaseSeconds: 120 }),
    ),
    releaseLease: await sqlOf((db) => evaluations.releaseLease(db, ID, { workerId: WORKER, attempt: 3 })),
    'completeEvaluation (then, when nothing matched, the status lookup)': await sqlOf((db) =>
      evaluations.completeEvaluation(db, ID, { results: RESULTS }),
    ),
    'completeEvaluation (completed: the idea follows in the same statement)': await successOf((db) =>
      evaluations.completeEvaluation(db, ID, { results: RESULTS }),
    ),
    'completeEvaluation (token: that attempt only)': await sqlOf((db) =>
      evaluations.completeEvaluation(db, ID, { results: RESULTS, workerId: WORKER, attempt: 3 }),
    ),
    'completeEvaluation (invalid input)': await sqlOf((db) =>
      evaluations.completeEvaluation(db, ID, { results: [] as unknown as EvaluationResults }),
    ),
    failEvaluation: await sqlOf((db) => evaluations.failEvaluation(db, ID, { errorMessage: 'agent timed out' })),
    'failEvaluation (token: retried with backoff, or dead-lettered)': await sqlOf((db) =>
      evaluations.failEvaluation(db, ID, { errorMessage: 'agent timed out', workerId: WORKER, attempt: 3 }),
    ),
    retryEvaluation: await sqlOf((db) => evaluations.retryEvaluation(db, ID)),
    'retryEvaluation (a new budget)': await sqlOf((db) => evaluations.retryEvaluation(db, ID, { maxAttempts: 7 })),
    nextClaimableIn: await sqlOf((db) => evaluations.nextClaimableIn(db)),
  };
  // Caller values only ever travel as parameters.
  for (const text of Object.values(entries)) expect(text).not.toMatch(/secret|timed out|sizeable|urgent|\b120\b|\b60\b/i);
  // The claim is one statement: an UPDATE whose candidates are locked with SKIP LOCKED, expired
  // leases first, and the idea's conditional UPDATE in a data-modifying CTE (no transaction, one
  // round trip). The candidates' statuses are literals (their indexes are partial: a generic plan
  // cannot prove the predicate from a $n), and the COALESCE is a scalar subquery, so the outer
  // match is `id = $n`, which row-level security lets use the primary key
  // (test/integration/plans.load.test.ts).
  // The dead-lettering of runs whose lease expired for the last time comes first, in the same
  // statement, matching on the primary key (`= any(array(...))`).
  expect(entries['claimNext (claimed: the idea follows in the same statement)']).toMatch(
    /^with "buried" as \(update "evaluations" set "status" = 'dead', .* where "id" = any\(array\(\(select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp\(\) and failures \+ 1 >= max_attempts order by "lease_expires_at", "id" limit 10 for no key update skip locked\)\)\) returning "evaluations"."id"\), "claimed" as \(update "evaluations" set .*"attempt" = attempt \+ 1, .* where "id" = \(select coalesce\(\(select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp\(\) and failures \+ 1 < max_attempts .*for no key update skip locked\), \(select "id" from "evaluations" where "status" = 'pending' and "run_after" <= statement_timestamp\(\) order by "priority" desc, "run_after", "id" limit \$\d+ for no key update skip locked\)\)\) returning \*\), "idea" as \(update "business_ideas" set "status" = \$\d+ where "id" = \(select "claimed"."business_idea_id" from "claimed"\) and "status" = \$\d+ and "deleted_at" is null returning "business_ideas"."id"\) select \* from "claimed";$/s,
  );
  // Inside a caller's transaction it is one statement of it, and opens none of its own.
  expect(entries['claimNext (inside a caller transaction: no transaction of its own)'].match(/begin;/g)).toHaveLength(1);
  expect(entries['completeEvaluation (completed: the idea follows in the same statement)']).toMatch(
    /^with "completed" as \(update "evaluations" .* returning \*\), "idea" as \(update "business_ideas" .* from "completed"\) .*\) select \* from "completed";$/s,
  );
  await expect(sqlDocument(entries)).toMatchFileSnapshot('./__sql__/evaluations.sql');
});
