/**
 * Plans on the load set (issue 11, item 6): every list, search, claim, conditional UPDATE and
 * RLS-filtered query the repositories issue is planned on a database holding the load set, and
 * none of them may read a loaded table with a sequential scan, under either plan a statement can
 * get:
 *
 * - the custom plan, made for the call's own parameter values (what an unnamed statement gets,
 *   and a named one for its first five executions): `plan_cache_mode = force_custom_plan`;
 * - the generic plan, made once for any values, which a named prepared statement switches to
 *   after five executions when it looks no more expensive: `plan_cache_mode = force_generic_plan`.
 *   A partial-index predicate (`WHERE status = 'pending'`) cannot be proven from `status = $1`,
 *   so a query whose only index is partial must carry the predicate's value as a literal.
 *
 * The SQL is never retyped here: each repository call is compiled over DummyDriver
 * (test/support/sql-capture.ts, as for the committed snapshots in test/unit/__sql__/) with real
 * values taken from the loaded rows, and each statement it sends is `PREPARE`d and explained with
 * `EXPLAIN (FORMAT JSON) EXECUTE` in both modes, as the owner, through the application role with a
 * user set (row-level security adds its policies to the plan) and through the worker role.
 *
 * The scale (0.2: 200 users, 2,000 ideas, 4,000 evaluations, 32,000 agent results, and about
 * 42,000 audit rows written here) loads in a few seconds on the 2-core CI machine, and is large
 * enough that, after ANALYZE, the planner takes an index wherever one serves the query (at the
 * smallest scale it rightly prefers to read a few pages sequentially). The load set leaves
 * audit_log empty (its triggers are off during the load), so the test writes a synthetic history:
 * an insert entry per loaded row and an update entry per evaluation that left pending.
 */
import { sql, type CompiledQuery, type QueryExecutorProvider } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgConfig } from '../../scripts/lib/server.js';
import { loadLoadSet } from '../../seeds/load/load.js';
import type { Database } from '../../src/db/database.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as auditLog from '../../src/repositories/audit-log.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import type { Executor } from '../../src/repositories/executor.js';
import * as users from '../../src/repositories/users.js';
import type { AgentOutputData, EvaluationResults } from '../../src/schema/json.js';
import { useTestDatabase } from '../support/database.js';
import { useRoleConnections } from '../support/roles.js';
import { captureSql } from '../support/sql-capture.js';

const SCALE = 0.3;
/** The tables the load set fills (and audit_log, filled here): no hot query may scan them. */
const LARGE_TABLES = new Set(['users', 'business_ideas', 'evaluations', 'agent_results', 'audit_log']);

const t = useTestDatabase({ pool: { max: 2 } });
const connectAs = useRoleConnections(t);

/** Real values from the loaded rows, for the repository calls. */
interface Sample {
  /** The live user with the most live ideas among those with an analyzing evaluation. */
  userId: string;
  email: string;
  /** That user's newest live idea, and a word of its title (for the full-text search). */
  ideaId: string;
  searchWord: string;
  /** A window of that user's ideas' creation times. */
  createdFrom: Date;
  createdTo: Date;
  /** An analyzing evaluation of that user (visible to the user and to the workers), its worker and agent results. */
  evaluationId: string;
  workerId: string;
  agentResultId: string;
  agentType: string;
  /** An insight item and an output value that occur in the loaded data. */
  insights: { items: { kind: string; title: string }[] };
  outputPath: string[];
  outputEquals: string;
  /** Second-page cursors, from the repositories themselves. */
  userCursor: string;
  ideaCursor: string;
  evaluationCursor: string;
  statusCursor: Record<'pending' | 'analyzing' | 'completed' | 'failed', string>;
  agentCursor: string;
  insightsCursor: string;
  outputCursor: string;
  auditCursor: string;
}

let client: pg.Client;
let sample: Sample;
let app: Database<'app'>;
let worker: Database<'worker'>;
let loadedIn = 0;
let timings: Record<'load' | 'audit' | 'analyze', number> | undefined;

beforeAll(async () => {
  const started = performance.now();
  client = new pg.Client(pgConfig(t.testDatabase.connection));
  await client.connect();
  await loadLoadSet(client, { scale: SCALE });
  const loaded = performance.now();
  // A synthetic audit history (see the module comment): compact row images, realistic row counts.
  await client.query(`
    INSERT INTO audit_log (table_name, row_id, operation, new_row, changed_at)
    SELECT table_name, row_id, 'insert', image, changed_at FROM (
      SELECT 'users' AS table_name, id AS row_id, jsonb_build_object('id', id) AS image, created_at AS changed_at FROM users
      UNION ALL SELECT 'business_ideas', id, jsonb_build_object('id', id, 'status', status), created_at FROM business_ideas
      UNION ALL SELECT 'evaluations', id, jsonb_build_object('id', id, 'status', 'pending'), created_at FROM evaluations
      UNION ALL SELECT 'agent_results', id, jsonb_build_object('id', id, 'status', 'pending'), created_at FROM agent_results
    ) history ORDER BY changed_at;
    INSERT INTO audit_log (table_name, row_id, operation, old_row, new_row, changed_at)
    SELECT 'evaluations', id, 'update', jsonb_build_object('id', id, 'status', 'pending'), jsonb_build_object('id', id, 'status', status), updated_at
      FROM evaluations WHERE status <> 'pending' ORDER BY updated_at;
  `);
  const audited = performance.now();
  await client.query('ANALYZE');
  timings = { load: loaded - started, audit: audited - loaded, analyze: performance.now() - audited };
  sample = await sampleOf(client);
  app = await connectAs('ai_validation_app', 1, 'app');
  worker = await connectAs('ai_validation_worker', 1, 'worker');
  loadedIn = performance.now() - started;
}, 120_000);

afterAll(async () => {
  await client?.end().catch(() => undefined);
});

async function sampleOf(c: pg.Client): Promise<Sample> {
  const one = async <R>(text: string, values: unknown[] = []): Promise<R> => {
    const row = (await c.query(text, values)).rows[0] as R | undefined;
    if (row === undefined) throw new Error(`the load set has no row for: ${text}`);
    return row;
  };
  const user = await one<{ id: string; email: string }>(`
    SELECT u.id, u.email FROM users u
     WHERE u.deleted_at IS NULL
       AND EXISTS (SELECT FROM business_ideas i JOIN evaluations e ON e.business_idea_id = i.id
                    WHERE i.user_id = u.id AND i.deleted_at IS NULL AND e.status = 'analyzing')
     ORDER BY (SELECT count(*) FROM business_ideas i WHERE i.user_id = u.id AND i.deleted_at IS NULL) DESC, u.id
     LIMIT 1`);
  const idea = await one<{ id: string; title: string; newest: Date; oldest: Date }>(
    `SELECT id, title, max(created_at) OVER () AS newest, min(created_at) OVER () AS oldest
       FROM business_ideas WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1`,
    [user.id],
  );
  const evaluation = await one<{ id: string; claimed_by: string }>(
    `SELECT e.id, e.claimed_by FROM evaluations e JOIN business_ideas i ON i.id = e.business_idea_id
      WHERE i.user_id = $1 AND i.deleted_at IS NULL AND e.status = 'analyzing' ORDER BY e.created_at DESC LIMIT 1`,
    [user.id],
  );
  const agent = await one<{ id: string; agent_type: string }>(
    `SELECT id, agent_type FROM agent_results WHERE evaluation_id = $1 ORDER BY agent_type LIMIT 1`,
    [evaluation.id],
  );
  const insight = await one<{ kind: string; title: string }>(
    `SELECT item->>'kind' AS kind, item->>'title' AS title
       FROM agent_results, jsonb_array_elements(insights->'items') item WHERE evaluation_id = $1 ORDER BY agent_type LIMIT 1`,
    [evaluation.id],
  );
  const currency = await one<{ currency: string }>(
    `SELECT output_data->'details'->>'currency' AS currency FROM agent_results
      WHERE output_data->'details' ? 'currency' ORDER BY id LIMIT 1`,
  );
  const words = idea.title.split(/\W+/).filter((w) => w.length >= 5);
  const span = idea.newest.getTime() - idea.oldest.getTime();
  const base = {
    userId: user.id,
    email: user.email,
    ideaId: idea.id,
    searchWord: words.sort((a, b) => b.length - a.length)[0] ?? idea.title,
    createdFrom: new Date(idea.oldest.getTime() + span / 4),
    createdTo: new Date(idea.newest.getTime() + 1),
    evaluationId: evaluation.id,
    workerId: evaluation.claimed_by,
    agentResultId: agent.id,
    agentType: agent.agent_type,
    insights: { items: [insight] },
    outputPath: ['details', 'currency'],
    outputEquals: currency.currency,
  };
  // Second pages, as a client would ask for them: the cursors come from the repositories.
  const next = (page: { nextCursor: string | null }, what: string): string => {
    if (page.nextCursor === null) throw new Error(`the load set has a single page of ${what}`);
    return page.nextCursor;
  };
  const db = t.db;
  const statusCursor = {} as Sample['statusCursor'];
  for (const status of ['pending', 'analyzing', 'completed', 'failed'] as const) {
    statusCursor[status] = next(await evaluations.listEvaluationsByStatus(db, status, { limit: 2 }), `${status} evaluations`);
  }
  const anyEvaluation = await one<{ business_idea_id: string }>(
    `SELECT business_idea_id FROM evaluations GROUP BY 1 HAVING count(*) > 2 ORDER BY 1 LIMIT 1`,
  );
  const audited = await one<{ row_id: string }>(
    `SELECT row_id FROM audit_log WHERE table_name = 'evaluations' AND operation = 'update' LIMIT 1`,
  );
  return {
    ...base,
    statusCursor,
    userCursor: next(await users.listUsers(db, { limit: 2, includeDeleted: true }), 'users'),
    ideaCursor: next(await businessIdeas.listIdeasByUser(db, user.id, { limit: 2 }), 'ideas'),
    evaluationCursor: next(await evaluations.listEvaluationsByIdea(db, anyEvaluation.business_idea_id, { limit: 1 }), 'evaluations'),
    agentCursor: next(await agentResults.listAgentResults(db, evaluation.id, { limit: 2 }), 'agent results'),
    insightsCursor: next(
      await agentResults.findAgentResultsByInsights(db, { contains: { items: [{ kind: insight.kind }] }, limit: 2 }),
      'insights',
    ),
    outputCursor: next(
      await agentResults.findAgentResultsByOutput(db, { path: base.outputPath, equals: base.outputEquals, limit: 2 }),
      'outputs',
    ),
    auditCursor: next(await auditLog.listAuditEntries(db, { tableName: 'evaluations', rowId: audited.row_id, limit: 1 }), 'audit entries'),
  };
}

// The calls ---------------------------------------------------------------------------------------

/** Who the statements run as: the owner (unfiltered), the app role with `withUser`, the worker role. */
type Path = 'owner' | 'app' | 'worker';
const PATH_LABEL: Record<Path, string> = {
  owner: 'the owner',
  app: 'the app role (user set)',
  worker: 'the worker role',
};

interface PlanCase {
  /** The repository function (and the variant of its arguments). */
  name: string;
  /** The paths it is called through. */
  paths: readonly Path[];
  call: (db: Executor<'owner'>, s: Sample) => Promise<unknown>;
  /** Every captured query returns this row, to reach the statements of the success path. */
  row?: (s: Sample) => Record<string, unknown>;
  /**
   * Paths the function may be called through but is not made for, where row-level security keeps
   * every index out of reach (see RLS_UNINDEXABLE): planned too, and expected to scan, so that
   * the day one of them gets an index-friendly plan the test says so.
   */
  gaps?: readonly Path[];
}

/**
 * Why some searches are known to scan under row-level security. A policy's conditions are
 * applied before the query's own, and PostgreSQL lets a query condition serve as an index
 * condition ahead of them only when its operator is LEAKPROOF (it could otherwise reveal rows the
 * policy hides, through an error or a side effect). uuid and timestamptz comparisons are
 * leakproof; enum equality (`status = $1`), row comparison (the keyset cursor), jsonb containment
 * (`@>`) and jsonpath matching (`@?`) are not. So through the app role and the worker role,
 * listEvaluationsByStatus and the two agent-result searches can use an index only through a
 * leakproof condition (an `evaluationId` filter: the "every filter" cases) or through the policy's
 * own conditions, which are per-row EXISTS probes (ideal for the point reads and per-evaluation
 * lists those paths are made for) and, for the worker, `status IN ('pending', 'analyzing') OR
 * completed_at = now()`. These functions are the owner's (operators' searches across every user;
 * their TSDoc examples use database.owner), and the owner is not filtered. Serving them through a
 * filtered role would need the policies to yield an indexable condition (for example
 * `evaluation_id = ANY (ARRAY(SELECT ... the user's evaluations))`, measured about 60 times the
 * buffer reads of today's EXISTS on a heavy user's point read) or an owner column on every table.
 */
const RLS_UNINDEXABLE: readonly Path[] = ['app', 'worker'];

const ALL: readonly Path[] = ['owner', 'app', 'worker'];
const OWNER_APP: readonly Path[] = ['owner', 'app'];
const QUEUE: readonly Path[] = ['owner', 'worker'];

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
const OUTPUT: AgentOutputData = { version: 1, summary: 'A growing niche', findings: [{ topic: 'market-size', statement: 'About $1.2B' }] };

const CASES: PlanCase[] = [
  // users (not under row-level security; the worker role has no grant on it)
  { name: 'users.getUser', paths: OWNER_APP, call: (db, s) => users.getUser(db, s.userId) },
  { name: 'users.getUserByEmail', paths: OWNER_APP, call: (db, s) => users.getUserByEmail(db, s.email) },
  { name: 'users.getUserCredentials', paths: OWNER_APP, call: (db, s) => users.getUserCredentials(db, s.email) },
  { name: 'users.listUsers', paths: OWNER_APP, call: (db) => users.listUsers(db, { limit: 20 }) },
  { name: 'users.listUsers (cursor)', paths: OWNER_APP, call: (db, s) => users.listUsers(db, { limit: 20, cursor: s.userCursor }) },
  {
    name: 'users.listUsers (includeDeleted, cursor)',
    paths: OWNER_APP,
    call: (db, s) => users.listUsers(db, { limit: 20, includeDeleted: true, cursor: s.userCursor }),
  },
  { name: 'users.updateUser', paths: OWNER_APP, call: (db, s) => users.updateUser(db, s.userId, { name: 'Ada King' }) },
  { name: 'users.restoreUser (then the live lookup)', paths: OWNER_APP, call: (db, s) => users.restoreUser(db, s.userId) },

  // business ideas
  { name: 'businessIdeas.getIdea', paths: ALL, call: (db, s) => businessIdeas.getIdea(db, s.ideaId) },
  { name: 'businessIdeas.listIdeasByUser', paths: ALL, call: (db, s) => businessIdeas.listIdeasByUser(db, s.userId, { limit: 20 }) },
  {
    name: 'businessIdeas.listIdeasByUser (cursor)',
    paths: ALL,
    call: (db, s) => businessIdeas.listIdeasByUser(db, s.userId, { limit: 20, cursor: s.ideaCursor }),
  },
  {
    name: 'businessIdeas.listIdeasByUser (status)',
    paths: ALL,
    call: (db, s) => businessIdeas.listIdeasByUser(db, s.userId, { status: 'submitted' }),
  },
  {
    name: 'businessIdeas.listIdeasByUser (two statuses)',
    paths: ALL,
    call: (db, s) => businessIdeas.listIdeasByUser(db, s.userId, { status: ['submitted', 'evaluating'] }),
  },
  {
    name: 'businessIdeas.listIdeasByUser (created range)',
    paths: ALL,
    call: (db, s) => businessIdeas.listIdeasByUser(db, s.userId, { createdFrom: s.createdFrom, createdTo: s.createdTo }),
  },
  {
    name: 'businessIdeas.listIdeasByUser (full-text search)',
    paths: ALL,
    call: (db, s) => businessIdeas.listIdeasByUser(db, s.userId, { search: s.searchWord }),
  },
  {
    name: 'businessIdeas.listIdeasByUser (every filter, cursor)',
    paths: ALL,
    call: (db, s) =>
      businessIdeas.listIdeasByUser(db, s.userId, {
        status: ['draft', 'submitted', 'evaluating', 'completed'],
        createdFrom: s.createdFrom,
        createdTo: s.createdTo,
        search: s.searchWord,
        limit: 10,
        cursor: s.ideaCursor,
      }),
  },
  { name: 'businessIdeas.ideaStatsForUser', paths: ALL, call: (db, s) => businessIdeas.ideaStatsForUser(db, s.userId) },
  {
    name: 'businessIdeas.createIdea (idempotency key; then the first idea)',
    paths: OWNER_APP,
    call: (db, s) =>
      businessIdeas.createIdea(db, s.userId, {
        title: 'Clinic scheduler',
        description: 'Independent physiotherapy clinics lose hours every week to phone scheduling.',
        idempotencyKey: 'request-1',
      }),
  },
  {
    name: 'businessIdeas.updateIdeaContent (then the status lookup)',
    paths: OWNER_APP,
    call: (db, s) => businessIdeas.updateIdeaContent(db, s.ideaId, { title: 'Clinic scheduler' }),
  },
  { name: 'businessIdeas.submitIdea (then the status lookup)', paths: ALL, call: (db, s) => businessIdeas.submitIdea(db, s.ideaId) },
  {
    name: 'businessIdeas.archiveIdea (then the status lookup)',
    paths: OWNER_APP,
    call: (db, s) => businessIdeas.archiveIdea(db, s.ideaId),
  },
  { name: 'businessIdeas.softDeleteIdea', paths: OWNER_APP, call: (db, s) => businessIdeas.softDeleteIdea(db, s.ideaId) },

  // evaluations
  {
    name: 'evaluations.createEvaluation (idempotency key; then the first evaluation, then the idea)',
    paths: OWNER_APP,
    call: (db, s) => evaluations.createEvaluation(db, s.ideaId, { priority: 'high', idempotencyKey: 'request-1' }),
  },
  {
    name: 'evaluations.getEvaluation (with its agent results)',
    paths: ALL,
    call: (db, s) => evaluations.getEvaluation(db, s.evaluationId),
    row: (s) => ({ id: s.evaluationId }),
  },
  { name: 'evaluations.listEvaluationsByIdea', paths: ALL, call: (db, s) => evaluations.listEvaluationsByIdea(db, s.ideaId) },
  {
    name: 'evaluations.listEvaluationsByIdea (cursor)',
    paths: ALL,
    call: (db, s) => evaluations.listEvaluationsByIdea(db, s.ideaId, { limit: 5, cursor: s.evaluationCursor }),
  },
  ...(['pending', 'analyzing', 'completed', 'failed'] as const).flatMap((status): PlanCase[] => [
    {
      name: `evaluations.listEvaluationsByStatus (${status})`,
      paths: ['owner'],
      gaps: RLS_UNINDEXABLE,
      call: (db) => evaluations.listEvaluationsByStatus(db, status, { limit: 50 }),
    },
    {
      name: `evaluations.listEvaluationsByStatus (${status}, cursor)`,
      paths: ['owner'],
      gaps: RLS_UNINDEXABLE,
      call: (db, s) => evaluations.listEvaluationsByStatus(db, status, { limit: 50, cursor: s.statusCursor[status] }),
    },
  ]),
  {
    name: 'evaluations.claimNext (then the idea)',
    paths: QUEUE,
    call: (db, s) => evaluations.claimNext(db, s.workerId, { leaseSeconds: 60 }),
    row: (s) => ({ id: s.evaluationId, business_idea_id: s.ideaId }),
  },
  {
    name: 'evaluations.renewLease (then the attempt-state lookup)',
    paths: QUEUE,
    call: (db, s) => evaluations.renewLease(db, s.evaluationId, { workerId: s.workerId, attempt: 1, leaseSeconds: 120 }),
  },
  {
    name: 'evaluations.releaseLease (then the attempt-state lookup)',
    paths: QUEUE,
    call: (db, s) => evaluations.releaseLease(db, s.evaluationId, { workerId: s.workerId, attempt: 1 }),
  },
  {
    name: 'evaluations.completeEvaluation (token; then the idea)',
    paths: QUEUE,
    call: (db, s) => evaluations.completeEvaluation(db, s.evaluationId, { results: RESULTS, workerId: s.workerId, attempt: 1 }),
    row: (s) => ({ id: s.evaluationId, business_idea_id: s.ideaId, status: 'completed' }),
  },
  {
    name: 'evaluations.completeEvaluation (token; then the attempt-state lookup)',
    paths: QUEUE,
    call: (db, s) => evaluations.completeEvaluation(db, s.evaluationId, { results: RESULTS, workerId: s.workerId, attempt: 1 }),
  },
  {
    name: 'evaluations.completeEvaluation (no token; then the idea)',
    paths: QUEUE,
    call: (db, s) => evaluations.completeEvaluation(db, s.evaluationId, { results: RESULTS }),
    row: (s) => ({ id: s.evaluationId, business_idea_id: s.ideaId, status: 'completed' }),
  },
  {
    name: 'evaluations.completeEvaluation (then the status lookup)',
    paths: QUEUE,
    call: (db, s) => evaluations.completeEvaluation(db, s.evaluationId, { results: RESULTS }),
  },
  {
    name: 'evaluations.failEvaluation (then the status lookup)',
    paths: QUEUE,
    call: (db, s) => evaluations.failEvaluation(db, s.evaluationId, { errorMessage: 'agent timed out' }),
  },
  {
    name: 'evaluations.failEvaluation (token: retried with backoff or dead-lettered; then the attempt-state lookup)',
    paths: QUEUE,
    call: (db, s) => evaluations.failEvaluation(db, s.evaluationId, { errorMessage: 'agent timed out', workerId: s.workerId, attempt: 1 }),
  },
  {
    name: 'evaluations.retryEvaluation (then the status lookup)',
    paths: ['owner'],
    call: (db, s) => evaluations.retryEvaluation(db, s.evaluationId),
  },
  {
    name: 'evaluations.retryEvaluation (a new budget)',
    paths: ['owner'],
    call: (db, s) => evaluations.retryEvaluation(db, s.evaluationId, { maxAttempts: 2 }),
    row: (s) => ({ id: s.evaluationId }),
  },
  {
    name: 'evaluations.listEvaluationsByStatus (dead)',
    paths: ['owner'],
    gaps: RLS_UNINDEXABLE,
    call: (db) => evaluations.listEvaluationsByStatus(db, 'dead', { limit: 50 }),
  },

  // agent results
  { name: 'agentResults.getAgentResult', paths: ALL, call: (db, s) => agentResults.getAgentResult(db, s.agentResultId) },
  { name: 'agentResults.listAgentResults', paths: ALL, call: (db, s) => agentResults.listAgentResults(db, s.evaluationId) },
  {
    name: 'agentResults.listAgentResults (cursor)',
    paths: ALL,
    call: (db, s) => agentResults.listAgentResults(db, s.evaluationId, { limit: 3, cursor: s.agentCursor }),
  },
  {
    name: 'agentResults.startAgentRun (then the status lookup)',
    paths: QUEUE,
    call: (db, s) => agentResults.startAgentRun(db, s.agentResultId),
  },
  {
    name: 'agentResults.startAgentRun (token; then the attempt-state lookup)',
    paths: QUEUE,
    call: (db, s) => agentResults.startAgentRun(db, s.agentResultId, { workerId: s.workerId, attempt: 1 }),
  },
  {
    name: 'agentResults.createAgentRuns (token: the fence, created or taken over; then the attempt-state lookup)',
    paths: QUEUE,
    call: (db, s) =>
      agentResults.createAgentRuns(db, s.evaluationId, [s.agentType, 'go-to-market'], { start: true, workerId: s.workerId, attempt: 1 }),
  },
  {
    name: 'agentResults.completeAgentRun (token; then the attempt-state lookup)',
    paths: QUEUE,
    call: (db, s) =>
      agentResults.completeAgentRun(db, s.agentResultId, { outputData: OUTPUT, score: 50, workerId: s.workerId, attempt: 1 }),
  },
  {
    name: 'agentResults.completeAgentRuns (token; then the runs, then the attempt-state lookup)',
    paths: QUEUE,
    call: (db, s) =>
      agentResults.completeAgentRuns(db, [{ id: s.agentResultId, outputData: OUTPUT, score: 50 }], { workerId: s.workerId, attempt: 1 }),
  },
  {
    name: 'agentResults.failAgentRun (token; then the attempt-state lookup)',
    paths: QUEUE,
    call: (db, s) => agentResults.failAgentRun(db, s.agentResultId, { errorMessage: 'rate limited', workerId: s.workerId, attempt: 1 }),
  },
  {
    name: 'agentResults.completeAgentRun (idempotency key; then the first completion, then the status lookup)',
    paths: QUEUE,
    call: (db, s) =>
      agentResults.completeAgentRun(db, s.agentResultId, { outputData: OUTPUT, insights: null, score: 78.5, idempotencyKey: 'request-1' }),
  },
  {
    name: 'agentResults.failAgentRun (then the status lookup)',
    paths: QUEUE,
    call: (db, s) => agentResults.failAgentRun(db, s.agentResultId, { errorMessage: 'rate limited' }),
  },
  {
    name: 'agentResults.findAgentResultsByInsights (an insight item)',
    paths: ['owner'],
    gaps: RLS_UNINDEXABLE,
    call: (db, s) => agentResults.findAgentResultsByInsights(db, { contains: s.insights }),
  },
  {
    name: 'agentResults.findAgentResultsByInsights (a common kind)',
    paths: ['owner'],
    gaps: RLS_UNINDEXABLE,
    call: (db, s) => agentResults.findAgentResultsByInsights(db, { contains: { items: [{ kind: s.insights.items[0]!.kind }] } }),
  },
  {
    name: 'agentResults.findAgentResultsByInsights (a common kind, cursor)',
    paths: ['owner'],
    gaps: RLS_UNINDEXABLE,
    call: (db, s) =>
      agentResults.findAgentResultsByInsights(db, { contains: { items: [{ kind: s.insights.items[0]!.kind }] }, cursor: s.insightsCursor }),
  },
  {
    name: 'agentResults.findAgentResultsByInsights (agent type)',
    paths: ['owner'],
    gaps: RLS_UNINDEXABLE,
    call: (db, s) => agentResults.findAgentResultsByInsights(db, { contains: s.insights, agentType: s.agentType }),
  },
  {
    name: 'agentResults.findAgentResultsByInsights (every filter, cursor)',
    paths: ALL,
    call: (db, s) =>
      agentResults.findAgentResultsByInsights(db, {
        contains: { items: [{ kind: s.insights.items[0]!.kind }] },
        evaluationId: s.evaluationId,
        agentType: s.agentType,
        cursor: s.insightsCursor,
      }),
  },
  {
    name: 'agentResults.findAgentResultsByOutput (a common value)',
    paths: ['owner'],
    gaps: RLS_UNINDEXABLE,
    call: (db, s) => agentResults.findAgentResultsByOutput(db, { path: s.outputPath, equals: s.outputEquals }),
  },
  {
    name: 'agentResults.findAgentResultsByOutput (a common value, cursor)',
    paths: ['owner'],
    gaps: RLS_UNINDEXABLE,
    call: (db, s) => agentResults.findAgentResultsByOutput(db, { path: s.outputPath, equals: s.outputEquals, cursor: s.outputCursor }),
  },
  {
    name: 'agentResults.findAgentResultsByOutput (every filter, cursor)',
    paths: ALL,
    call: (db, s) =>
      agentResults.findAgentResultsByOutput(db, {
        path: s.outputPath,
        equals: s.outputEquals,
        evaluationId: s.evaluationId,
        agentType: s.agentType,
        cursor: s.outputCursor,
      }),
  },
  { name: 'agentResults.scoreSummary', paths: ALL, call: (db, s) => agentResults.scoreSummary(db, s.evaluationId) },

  // the audit log (the owner's only)
  {
    name: 'auditLog.listAuditEntries',
    paths: ['owner'],
    call: (db, s) => auditLog.listAuditEntries(db, { tableName: 'evaluations', rowId: s.evaluationId }),
  },
  {
    name: 'auditLog.listAuditEntries (cursor)',
    paths: ['owner'],
    call: (db, s) => auditLog.listAuditEntries(db, { tableName: 'evaluations', rowId: s.evaluationId, limit: 10, cursor: s.auditCursor }),
  },
];

// Planning ----------------------------------------------------------------------------------------

type Mode = 'custom' | 'generic';
/** Runs SQL text in one transaction of a path, returning the rows. */
type Exec = (text: string) => Promise<unknown[]>;
type Runner = <T>(fn: (exec: Exec) => Promise<T>) => Promise<T>;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Alias?: string;
  'Parent Relationship'?: string;
  'Subplan Name'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

let statementCounter = 0;

/** A SQL literal for an EXECUTE argument (the prepared statement's parameter types apply to it). */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // An array parameter (`= any($n::idea_status[])`) as PostgreSQL's array literal, as node-postgres sends it.
  const text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'string'
        ? value
        : Array.isArray(value)
          ? `{${value.map((item) => `"${String(item).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`
          : JSON.stringify(value);
  return `'${text.replaceAll("'", "''")}'`;
}

/** The plan `query` gets in each mode, in `run`'s session (roles and row-level security apply). */
async function plansOf(run: Runner, query: CompiledQuery): Promise<Record<Mode, PlanNode>> {
  const name = `plans_load_${++statementCounter}`;
  const args = query.parameters.length > 0 ? `(${query.parameters.map(literal).join(', ')})` : '';
  return run(async (exec) => {
    await exec(`PREPARE ${name} AS ${query.sql}`);
    try {
      const plans = {} as Record<Mode, PlanNode>;
      for (const mode of ['custom', 'generic'] as const) {
        await exec(`SET LOCAL plan_cache_mode = force_${mode}_plan`);
        const [row] = await exec(`EXPLAIN (FORMAT JSON) EXECUTE ${name}${args}`);
        const [explained] = Object.values(row as Record<string, unknown>) as [{ Plan: PlanNode }[]];
        plans[mode] = explained[0]!.Plan;
      }
      return plans;
    } finally {
      await exec(`DEALLOCATE ${name}`).catch(() => undefined);
    }
  });
}

/** Every sequential scan of a loaded table in `plan`, described with where it sits. */
function seqScans(plan: PlanNode): string[] {
  const found: string[] = [];
  const walk = (node: PlanNode, within: string) => {
    const here = node['Subplan Name'] ? `${node['Subplan Name']}: ` : within;
    if (node['Node Type'] === 'Seq Scan' && LARGE_TABLES.has(node['Relation Name'] ?? '')) {
      const alias = node.Alias && node.Alias !== node['Relation Name'] ? ` ${node.Alias}` : '';
      found.push(`${here}Seq Scan on ${node['Relation Name']}${alias}${node.Filter ? ` (Filter: ${node.Filter})` : ''}`);
    }
    node.Plans?.forEach((child) => walk(child, here));
  };
  walk(plan, '');
  return found;
}

/**
 * The statements `planCase` sends, each planned in both modes through `run`: one line per
 * sequential scan of a loaded table, naming the function, the path, the mode and the node.
 */
async function violations(planCase: PlanCase, path: Path, run: Runner): Promise<{ found: string[]; queries: CompiledQuery[] }> {
  const capture = captureSql(planCase.row ? { row: planCase.row(sample) } : {});
  const queries = await capture.queriesOf((db) => planCase.call(db, sample));
  if (queries.length === 0) throw new Error(`${planCase.name} sent no query: its arguments were refused`);
  const found: string[] = [];
  for (const [index, query] of queries.entries()) {
    const plans = await plansOf(run, query);
    const statement = queries.length > 1 ? `, statement ${index + 1} of ${queries.length}` : '';
    for (const mode of ['custom', 'generic'] as const) {
      for (const scan of seqScans(plans[mode]))
        found.push(`${planCase.name}${statement} through ${PATH_LABEL[path]}, ${mode} plan: ${scan}`);
    }
  }
  return { found, queries };
}

/** The failure message: one line per offending node, then the statements. */
function report({ found, queries }: { found: string[]; queries: CompiledQuery[] }): string {
  return `sequential scans of loaded tables:\n  ${found.join('\n  ')}\n${queries.map((q, i) => `statement ${i + 1}: ${q.sql}`).join('\n')}\n`;
}

const runners: Record<Path, Runner> = {
  owner: (fn) => t.database.transaction(t.db, (trx) => fn(execOn(trx))),
  app: (fn) => app.withUser(sample.userId, (trx) => fn(execOn(trx))),
  worker: (fn) => worker.transaction(worker.worker, (trx) => fn(execOn(trx))),
};

function execOn(trx: QueryExecutorProvider): Exec {
  return async (text) => (await sql.raw(text).execute(trx)).rows;
}

// The tests ---------------------------------------------------------------------------------------

describe(`plans on the load set at scale ${SCALE}: no sequential scan of a loaded table`, () => {
  let planningFrom = 0;
  beforeAll(() => {
    planningFrom = performance.now();
  });
  afterAll(() => {
    const calls = CASES.reduce((n, c) => n + c.paths.length, 0);
    const planning = (performance.now() - planningFrom) / 1000;
    const phases = Object.entries(timings ?? {})
      .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)} s`)
      .join(', ');
    console.log(
      `plans.load: scale ${SCALE} ready in ${(loadedIn / 1000).toFixed(1)} s (${phases}); ${calls} calls planned in ${planning.toFixed(1)} s`,
    );
  });

  for (const planCase of CASES) {
    for (const path of planCase.paths) {
      it(`${planCase.name} through ${PATH_LABEL[path]}`, async () => {
        const result = await violations(planCase, path, runners[path]);
        expect(result.found.length, report(result)).toBe(0);
      });
    }
  }
});

describe('known gaps: searches through a role that row-level security filters (see RLS_UNINDEXABLE)', () => {
  // Planned so that they keep compiling and planning through these roles, and reported (a
  // sequential scan or not, which is the planner's call on the data at hand), never failed.
  const scanning: string[] = [];
  afterAll(() => {
    if (scanning.length > 0) console.log(`plans.load: known gaps that still scan a loaded table:\n  ${scanning.join('\n  ')}`);
  });
  for (const planCase of CASES) {
    for (const path of planCase.gaps ?? []) {
      it(`${planCase.name} through ${PATH_LABEL[path]} plans`, async () => {
        const { found } = await violations(planCase, path, runners[path]);
        if (found.length > 0) scanning.push(`${planCase.name} through ${PATH_LABEL[path]} (${found.length} nodes)`);
      });
    }
  }
});

describe('the check itself', () => {
  it('reports a sequential scan, naming the function, the path, the mode and the node, when an index is missing', async () => {
    // In a transaction of the superuser's own session, rolled back: the index is never gone for anyone else.
    await client.query('BEGIN');
    try {
      await client.query('DROP INDEX evaluations_business_idea_id_created_at_idx');
      const inThisTransaction: Runner = async (fn) => fn(async (text) => (await client.query(text)).rows as unknown[]);
      const planCase = CASES.find((c) => c.name === 'evaluations.listEvaluationsByIdea')!;
      const { found } = await violations(planCase, 'owner', inThisTransaction);
      expect(found).toEqual([
        expect.stringMatching(/^evaluations\.listEvaluationsByIdea through the owner, custom plan: Seq Scan on evaluations \(Filter: /),
        expect.stringMatching(/^evaluations\.listEvaluationsByIdea through the owner, generic plan: Seq Scan on evaluations \(Filter: /),
      ]);
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
