/**
 * Agent results: one AI agent's run within an evaluation (pending -> running -> completed, or
 * failed), its JSONB input, output and insights, and the queries over them. A worker's writes carry
 * its fencing token and are checked against the evaluation's current attempt in the same
 * statement; a new attempt takes over earlier attempts' runs in place (one row per agent type).
 */
import { sql, type ExpressionBuilder, type Kysely, type Selectable } from 'kysely';
import { ConflictError, InvalidTransitionError, NotFoundError, StaleAttemptError } from '../errors.js';
import type { AgentResults, AgentResultStatus, DB, EvaluationStatus } from '../schema/generated.js';
import {
  completeAgentRunSchema,
  completeAgentRunsSchema,
  createAgentRunsSchema,
  failAgentRunSchema,
  findByInsightsSchema,
  findByOutputSchema,
  listAgentResultsSchema,
  startAgentRunSchema,
  type AgentRunCompletion,
  type AgentRunToken,
  type AgentRunSpec,
  type CompleteAgentRunInput,
  type CreateAgentRunsOptions,
  type FailAgentRunInput,
  type FindByInsightsInput,
  type FindByOutputInput,
  type ListAgentResultsInput,
} from '../validation/agent-results.js';
import { parseId, parseInput, withKeys } from '../validation/common.js';
import type { FencingToken } from '../validation/evaluations.js';
import { encodeKeyCursor, type CursorKey } from '../validation/cursor.js';
import { traced } from '../telemetry.js';
import { compiled, compiledShapes } from './compiled.js';
import { tables, type Executor } from './executor.js';
import { newestFirst, pageOf, toPage, type Page } from './page.js';
import { keyReused } from './idempotency.js';
import { transitioned } from './transition.js';

/** An agent result row. */
export type AgentResult = Selectable<AgentResults>;
export type {
  AgentRunCompletion,
  AgentRunSpec,
  AgentRunToken,
  CompleteAgentRunInput,
  CreateAgentRunsOptions,
  FailAgentRunInput,
  FindByInsightsInput,
  FindByOutputInput,
  ListAgentResultsInput,
} from '../validation/agent-results.js';

/** Score figures over a set of agent results; the figures are null when none is scored. */
export interface ScoreStats {
  /** Agent results counted (scored or not). */
  runs: number;
  /** Those with a score. */
  scored: number;
  /** Mean score, rounded to two decimals. */
  average: number | null;
  min: number | null;
  max: number | null;
}

/** `scoreSummary`'s answer: figures per agent type (ordered by type) and over the whole evaluation. */
export interface ScoreSummary {
  evaluationId: string;
  overall: ScoreStats;
  byAgentType: (ScoreStats & { agentType: string })[];
}

// The statements, compiled once (compiled.ts) ---------------------------------------------------

const agentResultById = compiled((db, id: string) => db.selectFrom('agentResults').selectAll().where('id', '=', id));

const agentResultsPage = compiledShapes((db, shape: { cursor: boolean }, evaluationId: string, after: string | undefined, take: number) =>
  db
    .selectFrom('agentResults')
    .selectAll()
    .where('evaluationId', '=', evaluationId)
    .$if(shape.cursor, (qb) => qb.where('agentType', '>', after!))
    .orderBy('agentType')
    .limit(take),
);

/**
 * The fence of a worker's write to an agent run, in the same statement: the run belongs to the
 * token's attempt, and that attempt is still the evaluation's current one, held by the token's
 * worker. FOR SHARE holds off a claim of the evaluation (its FOR NO KEY UPDATE SKIP LOCKED passes
 * the row by) until the write commits, and a claim that came first makes the check re-read the row
 * and fail, so no write of an ended attempt slips in beside the next attempt's claim.
 */
function currentAttempt(eb: ExpressionBuilder<DB, 'agentResults'>, workerId: string, attempt: number) {
  return eb.and([
    eb('agentResults.attempt', '=', attempt),
    eb.exists(
      eb
        .selectFrom('evaluations')
        .select(sql.lit(1).as('current'))
        .whereRef('evaluations.id', '=', 'agentResults.evaluationId')
        .where('evaluations.status', '=', sql.lit('analyzing'))
        .where('evaluations.claimedBy', '=', workerId)
        .where('evaluations.attempt', '=', attempt)
        .forShare(),
    ),
  ]);
}

const startRun = compiledShapes((db, shape: { fenced: boolean }, id: string, workerId: string | undefined, attempt: number | undefined) =>
  db
    .updateTable('agentResults')
    .set({ status: 'running', startedAt: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .$if(shape.fenced, (qb) => qb.where((eb) => currentAttempt(eb, workerId!, attempt!)))
    .returningAll(),
);

const completeRun = compiledShapes(
  (
    db,
    shape: { keyed: boolean; fenced: boolean },
    id: string,
    outputData: string,
    insights: string | null,
    score: number | null,
    completionKey: string | undefined,
    workerId: string | undefined,
    attempt: number | undefined,
  ) =>
    db
      .updateTable('agentResults')
      .set({ status: 'completed', outputData, insights, score, completedAt: sql<Date>`now()` })
      .$if(shape.keyed, (qb) => qb.set({ completionKey: completionKey! }))
      .where('id', '=', id)
      .where('status', '=', 'running')
      .$if(shape.fenced, (qb) => qb.where((eb) => currentAttempt(eb, workerId!, attempt!)))
      .returningAll(),
);

const completedByKey = compiled(
  (db, id: string, completionKey: string, outputData: string, insights: string | null, score: number | null) =>
    db
      .selectFrom('agentResults')
      .selectAll()
      .select(
        sql<boolean>`output_data = ${outputData}::jsonb and insights is not distinct from ${insights}::jsonb and score is not distinct from ${score}::numeric`.as(
          'sameResult',
        ),
      )
      .where('id', '=', id)
      .where('status', '=', 'completed')
      .where('completionKey', '=', completionKey),
);

const failRun = compiledShapes(
  (db, shape: { fenced: boolean }, id: string, errorMessage: string, workerId: string | undefined, attempt: number | undefined) =>
    db
      .updateTable('agentResults')
      .set({ status: 'failed', errorMessage, completedAt: sql<Date>`now()` })
      .where('id', '=', id)
      .where('status', 'in', ['pending', 'running'])
      .$if(shape.fenced, (qb) => qb.where((eb) => currentAttempt(eb, workerId!, attempt!)))
      .returningAll(),
);

// Why a fenced write matched nothing, read past row-level security (an ended run is invisible to
// the worker role): migrations/20261203090100_evaluation_attempts_and_retries.sql.
interface RunAttemptState {
  status: AgentResultStatus;
  attempt: number;
  evaluationId: string;
  evaluationStatus: EvaluationStatus;
  evaluationAttempt: number;
  claimedBy: string | null;
}
const runAttemptState = compiled((db, id: string) =>
  db.selectFrom(sql<RunAttemptState>`agent_run_attempt_state(${id})`.as('state')).selectAll(),
);

const searchPage = compiledShapes(
  (
    db,
    shape: { output: boolean; evaluationId: boolean; agentType: boolean; cursor: boolean },
    value: string,
    evaluationId: string | undefined,
    agentType: string | undefined,
    cursorCreatedAt: string | undefined,
    cursorId: string | undefined,
    take: number,
  ) =>
    newestFirst(
      db
        .selectFrom('agentResults')
        .selectAll()
        .where(
          shape.output
            ? sql<boolean>`${sql.ref('agentResults.outputData')} @? ${value}::jsonpath`
            : sql<boolean>`${sql.ref('agentResults.insights')} @> ${value}::jsonb`,
        )
        .$if(shape.evaluationId, (qb) => qb.where('evaluationId', '=', evaluationId!))
        .$if(shape.agentType, (qb) => qb.where('agentType', '=', agentType!)),
      'agentResults',
      shape.cursor ? { createdAt: cursorCreatedAt!, id: cursorId! } : undefined,
      take,
    ),
);

const scoresOf = compiled((db, evaluationId: string) =>
  db
    .selectFrom('agentResults')
    .select((eb) => [
      'agentType',
      sql<boolean>`grouping(${sql.ref('agentType')}) = 1`.as('isOverall'),
      eb.fn.countAll<number>().as('runs'),
      eb.fn.count<number>('score').as('scored'),
      sql<number | null>`round(avg(${sql.ref('score')}), 2)`.as('average'),
      eb.fn.min<number | null>('score').as('min'),
      eb.fn.max<number | null>('score').as('max'),
      eb.exists(eb.selectFrom('evaluations').select('evaluations.id').where('evaluations.id', '=', evaluationId)).as('evaluationExists'),
    ])
    .where('evaluationId', '=', evaluationId)
    .groupBy(sql`grouping sets ((${sql.ref('agentType')}), ())`)
    .orderBy(sql`grouping(${sql.ref('agentType')})`)
    .orderBy('agentType'),
);

/**
 * Creates the agent runs of an evaluation in one statement (all or none): pending, or with
 * `{ start: true }` already running (`startedAt` now), which spares a worker that starts every
 * agent at once one `startAgentRun` statement (and one audited update) per run. Each run is an
 * agent type, or `{ agentType, inputData }`. Returns the rows in the order given.
 *
 * Without a token (an owner's or the application's call): a plain multi-row INSERT; each type at
 * most once per evaluation; the runs record attempt 0 (made outside any attempt), so a worker adopts
 * them with its own token through this function before its token-carrying writes.
 *
 * With a worker's token (`workerId`, `attempt`: the attempt its claim returned), the runs are
 * written for that attempt, and only while it is current (checked in the same statement). This is
 * the agent-level retry: an agent type the evaluation has no run for is created; a run of an
 * earlier attempt that did not complete (pending, running under a dead worker, failed) is taken
 * over in place (reset to pending or running for this attempt: output, insights, score, error and
 * completion key cleared; the audit log keeps what it held); a run completed by an earlier attempt
 * is kept and returned as it is (status completed: skip it), unless `rerunCompleted` takes it over
 * too. A run this attempt already wrote is returned as it is, so repeating the call is safe. So the
 * evaluation keeps exactly one run per agent type, the current one.
 *
 * @throws InvalidReferenceError when the evaluation does not exist (no token).
 * @throws ConflictError (fields `evaluationId`, `agentType`) when the evaluation already has one of the types (no token).
 * @throws NotFoundError when the evaluation does not exist (token).
 * @throws StaleAttemptError when the token's attempt is no longer current.
 * @example
 * ```ts
 * const runs = await createAgentRuns(database.worker, evaluation.id, [
 *   'market-research',
 *   { agentType: 'competitive-analysis', inputData: { model: 'gpt-4.1', promptVersion: '3' } },
 * ], { start: true, workerId, attempt: evaluation.attempt });
 * const toRun = runs.filter((run) => run.status !== 'completed');
 * ```
 */
export const createAgentRuns = traced(
  'agentResults.createAgentRuns',
  async (
    executor: Executor,
    evaluationId: string,
    runs: readonly AgentRunSpec[],
    options?: CreateAgentRunsOptions | null,
  ): Promise<AgentResult[]> => {
    const db = tables(executor);
    const parsed = parseInput(createAgentRunsSchema, withKeys(options, { evaluationId, runs }), 'agent runs');
    const specs = parsed.runs.map((run) =>
      typeof run === 'string' ? { agentType: run, inputData: {} } : { agentType: run.agentType, inputData: run.inputData ?? {} },
    );
    const token = tokenOf(parsed);
    if (token !== undefined) return takeOverRuns(db, evaluationId, specs, parsed.start === true, parsed.rerunCompleted === true, token);
    const started = parsed.start === true ? { status: 'running' as const, startedAt: sql<Date>`now()` } : {};
    const rows = await db
      .insertInto('agentResults')
      .values(specs.map((spec) => ({ evaluationId, agentType: spec.agentType, inputData: JSON.stringify(spec.inputData), ...started })))
      .returningAll()
      .execute();
    // RETURNING order is not promised by SQL; the caller's order is.
    const byType = new Map(rows.map((row) => [row.agentType, row]));
    return specs.map((spec) => byType.get(spec.agentType)!);
  },
);

/**
 * createAgentRuns with a token, in one statement: the fence (the evaluation analyzing at the
 * token's attempt and worker, share-locked against a claim), an upsert that creates the missing
 * runs and takes over those of earlier attempts, and the rows it left alone.
 */
async function takeOverRuns(
  db: Kysely<DB>,
  evaluationId: string,
  specs: readonly { agentType: string; inputData: unknown }[],
  start: boolean,
  rerunCompleted: boolean,
  token: FencingToken,
): Promise<AgentResult[]> {
  const types = specs.map((spec) => spec.agentType);
  const inputs = specs.map((spec) => JSON.stringify(spec.inputData));
  const status: AgentResultStatus = start ? 'running' : 'pending';
  const { rows } = await sql<AgentResult & { taken: boolean }>`with fence as materialized (
  select e.id, e.attempt from evaluations e
   where e.id = ${evaluationId} and e.status = 'analyzing' and e.claimed_by = ${token.workerId} and e.attempt = ${token.attempt}
   for share),
input as (select * from unnest(${types}::text[], ${inputs}::jsonb[]) as i (agent_type, input_data)),
written as (
  insert into agent_results as a (evaluation_id, agent_type, input_data, attempt, status, started_at)
  select f.id, i.agent_type, i.input_data, f.attempt, ${status}::agent_result_status, case when ${start}::boolean then now() end
    from fence f cross join input i
  on conflict (evaluation_id, agent_type) do update
    set attempt = excluded.attempt, status = excluded.status, input_data = excluded.input_data, started_at = excluded.started_at,
        output_data = null, insights = null, score = null, error_message = null, completed_at = null, completion_key = null
    where a.attempt < excluded.attempt and (a.status <> 'completed' or ${rerunCompleted}::boolean)
  returning a.*)
select w.*, true as taken from written w
union all
select a.*, false from agent_results a join input i on i.agent_type = a.agent_type
 where a.evaluation_id = (select f.id from fence f) and a.id not in (select w.id from written w)`.execute(db);
  if (rows.length === 0) return fencedRun<AgentResult[]>(db, undefined, { evaluationId, token, to: status });
  const byType = new Map(rows.map(({ taken: _taken, ...row }) => [row.agentType, row]));
  return specs.map((spec) => byType.get(spec.agentType)!);
}

/**
 * Reads one agent result.
 *
 * @throws NotFoundError when there is no such agent result.
 * @example
 * ```ts
 * const { status, outputData } = await database.withUser(userId, (trx) => getAgentResult(trx, agentResultId));
 * ```
 */
export const getAgentResult = traced('agentResults.getAgentResult', async (executor: Executor, id: string): Promise<AgentResult> => {
  const db = tables(executor);
  parseId(id, 'id', 'agent result');
  const row = await agentResultById.first(db, id);
  if (!row) throw new NotFoundError('agent result', id);
  return row;
});

/**
 * Lists an evaluation's agent results by agent type, a page at a time (empty for an unknown
 * evaluation). An evaluation has one result per agent type, so the type is the page key.
 *
 * @example
 * ```ts
 * const { items } = await listAgentResults(database.worker, evaluation.id, { limit: 50 });
 * const pending = items.filter((r) => r.status === 'pending');
 * ```
 */
export const listAgentResults = traced(
  'agentResults.listAgentResults',
  async (executor: Executor, evaluationId: string, input?: ListAgentResultsInput | null): Promise<Page<AgentResult>> => {
    const db = tables(executor);
    const { limit, cursor } = parseInput(listAgentResultsSchema, withKeys(input, { evaluationId }), 'agent results');
    const rows = await agentResultsPage.all(db, { cursor: cursor !== undefined }, evaluationId, cursor, limit + 1);
    return pageOf(rows, limit, (row) => encodeKeyCursor(row.agentType));
  },
);

/**
 * Starts a pending run (pending -> running, `startedAt` now). With a worker's token
 * (`{ workerId, attempt }`), only while the run belongs to that attempt and the attempt is the
 * evaluation's current one (checked in the same statement); without, an owner's write.
 *
 * @throws NotFoundError when there is no such agent result.
 * @throws StaleAttemptError when the token's attempt is no longer current.
 * @throws InvalidTransitionError when it is not pending (e.g. another worker started it first), or belongs to another attempt.
 * @example
 * ```ts
 * const run = await startAgentRun(database.worker, runId, { workerId, attempt: evaluation.attempt });
 * ```
 */
export const startAgentRun = traced(
  'agentResults.startAgentRun',
  async (executor: Executor, id: string, token?: AgentRunToken | null): Promise<AgentResult> => {
    const db = tables(executor);
    const parsed = parseInput(startAgentRunSchema, withKeys(token, { id }), 'agent result');
    const fence = tokenOf(parsed);
    const started = await startRun.first(db, { fenced: fence !== undefined }, id, parsed.workerId, parsed.attempt);
    if (fence) return fencedRun(db, started, { id, token: fence, to: 'running', from: ['pending'] });
    return transitioned(db, started, { table: 'agentResults', id, to: 'running', from: ['pending'] });
  },
);

/**
 * Completes a running run with its output, and optionally its insights and score (0 to 100, two
 * decimals): running -> completed, `completedAt` now. With a worker's token (`workerId`,
 * `attempt`), only while the run belongs to that attempt and the attempt is current (checked in
 * the same statement); without, an owner's write.
 * With an `idempotencyKey`, a retry after a lost connection returns the run the first attempt
 * completed; the same key with another result is a `ConflictError` on `idempotencyKey`.
 *
 * @throws NotFoundError when there is no such agent result.
 * @throws StaleAttemptError when the token's attempt is no longer current.
 * @throws InvalidTransitionError when it is not running, or belongs to another attempt.
 * @example
 * ```ts
 * await completeAgentRun(database.worker, runId, {
 *   workerId,
 *   attempt: evaluation.attempt,
 *   outputData: { version: 1, summary: 'A growing niche', findings: [{ topic: 'market-size', statement: 'About $1.2B' }] },
 *   insights: { version: 1, items: [{ kind: 'opportunity', title: 'Underserved rural clinics', impact: 'high' }] },
 *   score: 78.5,
 * });
 * ```
 */
export const completeAgentRun = traced(
  'agentResults.completeAgentRun',
  async (executor: Executor, id: string, input: CompleteAgentRunInput): Promise<AgentResult> => {
    const db = tables(executor);
    const parsed = parseInput(completeAgentRunSchema, withKeys(input, { id }), 'agent result');
    const result = {
      outputData: JSON.stringify(parsed.outputData),
      insights: parsed.insights == null ? null : JSON.stringify(parsed.insights),
      score: parsed.score ?? null,
    };
    const keyed = parsed.idempotencyKey !== undefined;
    const fence = tokenOf(parsed);
    const completed = await completeRun.first(
      db,
      { keyed, fenced: fence !== undefined },
      id,
      result.outputData,
      result.insights,
      result.score,
      parsed.idempotencyKey,
      parsed.workerId,
      parsed.attempt,
    );
    if (completed === undefined && parsed.idempotencyKey !== undefined) {
      // Nothing matched: the key's first request may already have completed the run.
      const first = await completedByKey.first(db, id, parsed.idempotencyKey, result.outputData, result.insights, result.score);
      if (first) {
        const { sameResult, ...run } = first;
        if (!sameResult) throw keyReused('agent_results');
        return run;
      }
    }
    if (fence) return fencedRun(db, completed, { id, token: fence, to: 'completed', from: ['running'] });
    return transitioned(db, completed, { table: 'agentResults', id, to: 'completed', from: ['running'] });
  },
);

/**
 * Completes several running runs in one statement, all or none: each completion is a run's `id`
 * and what `completeAgentRun` takes (output, optional insights and score, optional
 * `idempotencyKey`). The runs are locked and checked first, and the update writes only when every
 * one of them is running, so a run that is not leaves every run as it was. With an
 * `idempotencyKey` on every completion, a retry after a lost connection returns the runs the first
 * attempt completed; a key that completed its run with another result is a `ConflictError` on
 * `completions.<i>.idempotencyKey`. Returns the rows in the order given. With a worker's token
 * (`{ workerId, attempt }`, one for the batch), every run must belong to that attempt and the
 * attempt be its evaluation's current one, checked in the same statement; without, an owner's write.
 *
 * @throws ValidationError naming the field (`completions.2.score`) when a completion is invalid or an id repeats.
 * @throws NotFoundError when one of the runs does not exist.
 * @throws StaleAttemptError when the token's attempt is no longer current.
 * @throws InvalidTransitionError when one of them is not running, or belongs to another attempt.
 * @example
 * ```ts
 * const completed = await completeAgentRuns(database.worker, [
 *   { id: marketRun.id, outputData: marketOutput, insights: marketInsights, score: 78.5 },
 *   { id: competitionRun.id, outputData: competitionOutput, score: 64 },
 * ], { workerId, attempt: evaluation.attempt });
 * ```
 */
export const completeAgentRuns = traced(
  'agentResults.completeAgentRuns',
  async (executor: Executor, completions: readonly AgentRunCompletion[], token?: AgentRunToken | null): Promise<AgentResult[]> => {
    const db = tables(executor);
    const batch = parseInput(completeAgentRunsSchema, withKeys(token, { completions }), 'agent results');
    const parsed = batch.completions;
    const fence = tokenOf(batch);
    const ids = parsed.map((c) => c.id);
    const outputs = parsed.map((c) => JSON.stringify(c.outputData));
    const insights = parsed.map((c) => (c.insights == null ? null : JSON.stringify(c.insights)));
    const scores = parsed.map((c) => c.score ?? null);
    const keys = parsed.map((c) => c.idempotencyKey ?? null);
    // One statement, so all or none needs no transaction: the runs are locked first, in id order
    // so that two overlapping batches cannot deadlock (FOR NO KEY UPDATE re-reads a row changed
    // since the statement began), and the UPDATE writes only when every one of them is still
    // running; otherwise it matches nothing.
    const input = sql`unnest(${ids}::uuid[], ${outputs}::jsonb[], ${insights}::jsonb[], ${scores}::numeric[], ${keys}::text[]) as i (id, output_data, insights, score, completion_key)`;
    // With a token, each run must belong to it and its evaluation be at that attempt (see currentAttempt).
    const current = fence
      ? sql` and a.attempt = ${fence.attempt} and exists (select from evaluations e where e.id = a.evaluation_id and e.status = 'analyzing' and e.claimed_by = ${fence.workerId} and e.attempt = ${fence.attempt} for share)`
      : sql``;
    const { rows } = await sql<AgentResult>`with input as (select * from ${input}),
running as materialized (select a.id from agent_results a join input i on i.id = a.id where a.status = 'running'${current} order by a.id for no key update of a)
update agent_results a set status = 'completed', output_data = i.output_data, insights = i.insights, score = i.score,
  completion_key = coalesce(i.completion_key, a.completion_key), completed_at = now()
from input i where a.id = i.id and a.status = 'running' and (select count(*) from running) = (select count(*) from input)
returning a.*`.execute(db);
    if (rows.length === ids.length) return inOrder(ids, rows);
    // Nothing was written: say why, for the first run (in the order given) that was not running.
    const state = await sql<{ id: string; status: string; sameKey: boolean; sameResult: boolean }>`select a.id, a.status,
  a.completion_key = i.completion_key as same_key,
  a.output_data = i.output_data and a.insights is not distinct from i.insights and a.score is not distinct from i.score as same_result
from ${input} join agent_results a on a.id = i.id`.execute(db);
    const byId = new Map(state.rows.map((row) => [row.id, row]));
    const retried = ids.every((id) => {
      const row = byId.get(id);
      return row?.status === 'completed' && row.sameKey;
    });
    if (retried) {
      const index = ids.findIndex((id) => !byId.get(id)!.sameResult);
      if (index >= 0) throw keyReusedAt(index);
      const first = await db.selectFrom('agentResults').selectAll().where('id', 'in', ids).execute();
      return inOrder(ids, first);
    }
    if (fence) {
      // Row-level security may hide the runs of an ended attempt: read their attempt state.
      for (const id of ids) {
        const run = await runAttemptState.first(db, id);
        const fine =
          run?.status === 'running' &&
          run.attempt === fence.attempt &&
          run.evaluationStatus === 'analyzing' &&
          run.evaluationAttempt === fence.attempt &&
          run.claimedBy === fence.workerId;
        if (!fine) return fencedRun<AgentResult[]>(db, undefined, { id, token: fence, to: 'completed', from: ['running'] });
      }
    }
    const failing = ids.find((id) => byId.get(id)?.status !== 'running') ?? ids[0]!;
    return transitioned<AgentResult[]>(db, undefined, { table: 'agentResults', id: failing, to: 'completed', from: ['running'] });
  },
);

/**
 * Fails a pending or running run with `errorMessage` (-> failed, `completedAt` now). With a
 * worker's token, only while the run belongs to that attempt and the attempt is current; the
 * next attempt's createAgentRuns takes the failed run over.
 *
 * @throws NotFoundError when there is no such agent result.
 * @throws StaleAttemptError when the token's attempt is no longer current.
 * @throws InvalidTransitionError when it already ended, or belongs to another attempt.
 * @example
 * ```ts
 * await failAgentRun(database.worker, runId, { workerId, attempt: evaluation.attempt, errorMessage: 'rate limited by the model provider' });
 * ```
 */
export const failAgentRun = traced(
  'agentResults.failAgentRun',
  async (executor: Executor, id: string, input: FailAgentRunInput): Promise<AgentResult> => {
    const db = tables(executor);
    const parsed = parseInput(failAgentRunSchema, withKeys(input, { id }), 'agent result');
    const fence = tokenOf(parsed);
    const failed = await failRun.first(db, { fenced: fence !== undefined }, id, parsed.errorMessage, parsed.workerId, parsed.attempt);
    if (fence) return fencedRun(db, failed, { id, token: fence, to: 'failed', from: ['pending', 'running'] });
    return transitioned(db, failed, { table: 'agentResults', id, to: 'failed', from: ['pending', 'running'] });
  },
);

/**
 * Finds agent results whose insights contain `contains` (`insights @> contains`, served by a GIN
 * index), newest first, a page at a time; optionally within one evaluation or agent type.
 *
 * @example
 * ```ts
 * // Every run that reported a high-impact threat.
 * const page = await findAgentResultsByInsights(database.owner, { contains: { items: [{ kind: 'threat', impact: 'high' }] } });
 * ```
 */
export const findAgentResultsByInsights = traced(
  'agentResults.findAgentResultsByInsights',
  async (executor: Executor, input: FindByInsightsInput): Promise<Page<AgentResult>> => {
    const db = tables(executor);
    const parsed = parseInput(findByInsightsSchema, input, 'agent result search');
    return findPage(db, 'insights', JSON.stringify(parsed.contains), parsed);
  },
);

/**
 * Finds agent results whose output has `equals` at `path` (`output_data @? '$."a"."b" ? (@ == v)'`,
 * served by a GIN index), newest first, a page at a time. Arrays along the path are searched
 * element by element, so `['findings', 'topic']` matches any finding with that topic.
 *
 * @example
 * ```ts
 * const page = await findAgentResultsByOutput(database.owner, { path: ['findings', 'topic'], equals: 'market-size', agentType: 'market-research' });
 * ```
 */
export const findAgentResultsByOutput = traced(
  'agentResults.findAgentResultsByOutput',
  async (executor: Executor, input: FindByOutputInput): Promise<Page<AgentResult>> => {
    const db = tables(executor);
    const parsed = parseInput(findByOutputSchema, input, 'agent result search');
    return findPage(db, 'output', outputPath(parsed.path, parsed.equals), parsed);
  },
);

/**
 * Score figures of an evaluation's agent results, computed in SQL: per agent type and overall,
 * the number of runs and of scored runs, and the average (two decimals), minimum and maximum score.
 *
 * @throws NotFoundError when there is no such evaluation.
 * @example
 * ```ts
 * const { overall, byAgentType } = await scoreSummary(database.worker, evaluation.id);
 * console.log(overall.average, byAgentType.map((s) => `${s.agentType}: ${s.max}`));
 * ```
 */
export const scoreSummary = traced('agentResults.scoreSummary', async (executor: Executor, evaluationId: string): Promise<ScoreSummary> => {
  const db = tables(executor);
  parseId(evaluationId, 'evaluationId', 'score summary');
  // GROUPING SETS: one row per agent type plus the overall row, which exists even for an
  // evaluation without agent results; evaluationExists tells that case from an unknown id.
  const rows = await scoresOf.all(db, evaluationId);
  const overall = rows.find((row) => row.isOverall);
  if (!overall?.evaluationExists) throw new NotFoundError('evaluation', evaluationId);
  const stats = ({ runs, scored, average, min, max }: (typeof rows)[number]): ScoreStats => ({ runs, scored, average, min, max });
  return {
    evaluationId,
    overall: stats(overall),
    byAgentType: rows.filter((row) => !row.isOverall).map((row) => ({ agentType: row.agentType, ...stats(row) })),
  };
});

// -----------------------------------------------------------------------------------------------

/** The token of a validated input that carries one (both fields, or neither: validation saw to that). */
function tokenOf(input: { workerId?: string | undefined; attempt?: number | undefined }): FencingToken | undefined {
  return input.workerId !== undefined && input.attempt !== undefined ? { workerId: input.workerId, attempt: input.attempt } : undefined;
}

/**
 * The row a fenced agent-run write returned or, when it matched nothing, why: no such run (or
 * evaluation), the token's attempt no longer current (StaleAttemptError), the run belonging to
 * another attempt, or its status.
 */
async function fencedRun<R>(
  db: Kysely<DB>,
  row: R | undefined,
  change: { token: FencingToken; to: string } & ({ id: string; from: readonly AgentResultStatus[] } | { evaluationId: string }),
): Promise<R> {
  if (row !== undefined) return row;
  const { token, to } = change;
  if ('evaluationId' in change) {
    const state = await evaluationState.first(db, change.evaluationId);
    if (!state) throw new NotFoundError('evaluation', change.evaluationId);
    const { evaluationId } = change;
    throw new StaleAttemptError({ entity: 'evaluation', id: evaluationId, evaluationId, ...token, ...stateOf(state), to });
  }
  const state = await runAttemptState.first(db, change.id);
  if (!state) throw new NotFoundError('agent result', change.id);
  const current = state.evaluationStatus === 'analyzing' && state.evaluationAttempt === token.attempt && state.claimedBy === token.workerId;
  if (!current) {
    const { evaluationId, evaluationStatus: status, evaluationAttempt: attempt, claimedBy } = state;
    throw new StaleAttemptError({
      entity: 'agent result',
      id: change.id,
      evaluationId,
      ...token,
      ...stateOf({ status, attempt, claimedBy }),
      to,
    });
  }
  const reason =
    state.attempt !== token.attempt
      ? `the run belongs to attempt ${state.attempt}; createAgentRuns with this attempt's token takes it over`
      : change.from.includes(state.status)
        ? 'it changed concurrently'
        : `only from ${change.from.join(' or ')}`;
  throw new InvalidTransitionError({ entity: 'agent result', id: change.id, from: state.status, to, reason });
}

function stateOf(state: { status: EvaluationStatus; attempt: number; claimedBy: string | null }) {
  return { status: state.status, currentAttempt: state.attempt, claimedBy: state.claimedBy };
}

const evaluationState = compiled((db, id: string) =>
  db
    .selectFrom(sql<{ status: EvaluationStatus; attempt: number; claimedBy: string | null }>`evaluation_attempt_state(${id})`.as('state'))
    .selectAll(),
);

/** `rows` in the order of `ids` (RETURNING order is not promised by SQL). */
function inOrder(ids: readonly string[], rows: readonly AgentResult[]): AgentResult[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id)!);
}

/** The key of completion `index` completed its run with another result. */
function keyReusedAt(index: number): ConflictError {
  return new ConflictError({ table: 'agent_results', fields: [`completions.${index}.idempotencyKey`] });
}

/** One page of agent results whose insights contain a document, or whose output matches a jsonpath, newest first. */
async function findPage(
  db: Kysely<DB>,
  match: 'insights' | 'output',
  value: string,
  filters: { evaluationId?: string | undefined; agentType?: string | undefined; limit: number; cursor?: CursorKey | undefined },
): Promise<Page<AgentResult>> {
  const { evaluationId, agentType, limit, cursor } = filters;
  const shape = {
    output: match === 'output',
    evaluationId: evaluationId !== undefined,
    agentType: agentType !== undefined,
    cursor: cursor !== undefined,
  };
  const rows = await searchPage.all(db, shape, value, evaluationId, agentType, cursor?.createdAt, cursor?.id, limit + 1);
  return toPage(rows, limit);
}

/**
 * The jsonpath `$."k1"."k2" ? (@ == value)`. It travels as a bound parameter, never as SQL text;
 * keys and string values are written as JSON strings, whose escapes jsonpath reads the same way
 * (validation has ruled out NUL and lone surrogates, which neither accepts).
 */
function outputPath(path: readonly string[], equals: string | number | boolean | null): string {
  return `$${path.map((key) => `.${JSON.stringify(key)}`).join('')} ? (@ == ${JSON.stringify(equals)})`;
}
