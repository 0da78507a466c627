/**
 * Agent results: one AI agent's run within an evaluation (pending -> running -> completed, or
 * failed), its JSONB input, output and insights, and the queries over them.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { ConflictError, NotFoundError } from '../errors.js';
import type { AgentResults, DB } from '../schema/generated.js';
import {
  completeAgentRunSchema,
  completeAgentRunsSchema,
  createAgentRunsSchema,
  failAgentRunSchema,
  findByInsightsSchema,
  findByOutputSchema,
  listAgentResultsSchema,
  type AgentRunCompletion,
  type AgentRunSpec,
  type CompleteAgentRunInput,
  type CreateAgentRunsOptions,
  type FailAgentRunInput,
  type FindByInsightsInput,
  type FindByOutputInput,
  type ListAgentResultsInput,
} from '../validation/agent-results.js';
import { parseId, parseInput, withKeys } from '../validation/common.js';
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

const startRun = compiled((db, id: string) =>
  db
    .updateTable('agentResults')
    .set({ status: 'running', startedAt: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .returningAll(),
);

const completeRun = compiledShapes(
  (
    db,
    shape: { keyed: boolean },
    id: string,
    outputData: string,
    insights: string | null,
    score: number | null,
    completionKey: string | undefined,
  ) =>
    db
      .updateTable('agentResults')
      .set({ status: 'completed', outputData, insights, score, completedAt: sql<Date>`now()` })
      .$if(shape.keyed, (qb) => qb.set({ completionKey: completionKey! }))
      .where('id', '=', id)
      .where('status', '=', 'running')
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

const failRun = compiled((db, id: string, errorMessage: string) =>
  db
    .updateTable('agentResults')
    .set({ status: 'failed', errorMessage, completedAt: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'running'])
    .returningAll(),
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
 * Creates the agent runs of an evaluation in one multi-row INSERT (all or none): pending, or
 * with `{ start: true }` already running (`startedAt` now), which spares a worker that starts
 * every agent at once one `startAgentRun` statement (and one audited update) per run.
 * Each run is an agent type, or `{ agentType, inputData }`; each type at most once per evaluation.
 * Returns the rows in the order given.
 *
 * @throws InvalidReferenceError when the evaluation does not exist.
 * @throws ConflictError (fields `evaluationId`, `agentType`) when the evaluation already has one of the types.
 * @example
 * ```ts
 * const runs = await createAgentRuns(database.worker, evaluation.id, [
 *   'market-research',
 *   { agentType: 'competitive-analysis', inputData: { model: 'gpt-4.1', promptVersion: '3' } },
 * ], { start: true });
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
 * Starts a pending run (pending -> running, `startedAt` now).
 *
 * @throws NotFoundError when there is no such agent result.
 * @throws InvalidTransitionError when it is not pending (e.g. another worker started it first).
 * @example
 * ```ts
 * const run = await startAgentRun(database.worker, runId);
 * ```
 */
export const startAgentRun = traced('agentResults.startAgentRun', async (executor: Executor, id: string): Promise<AgentResult> => {
  const db = tables(executor);
  parseId(id, 'id', 'agent result');
  const started = await startRun.first(db, id);
  return transitioned(db, started, { table: 'agentResults', id, to: 'running', from: ['pending'] });
});

/**
 * Completes a running run with its output, and optionally its insights and score (0 to 100, two
 * decimals): running -> completed, `completedAt` now.
 * With an `idempotencyKey`, a retry after a lost connection returns the run the first attempt
 * completed; the same key with another result is a `ConflictError` on `idempotencyKey`.
 *
 * @throws NotFoundError when there is no such agent result.
 * @throws InvalidTransitionError when it is not running.
 * @example
 * ```ts
 * await completeAgentRun(database.worker, runId, {
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
    const completed = await completeRun.first(db, { keyed }, id, result.outputData, result.insights, result.score, parsed.idempotencyKey);
    if (completed === undefined && parsed.idempotencyKey !== undefined) {
      // Nothing matched: the key's first request may already have completed the run.
      const first = await completedByKey.first(db, id, parsed.idempotencyKey, result.outputData, result.insights, result.score);
      if (first) {
        const { sameResult, ...run } = first;
        if (!sameResult) throw keyReused('agent_results');
        return run;
      }
    }
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
 * `completions.<i>.idempotencyKey`. Returns the rows in the order given.
 *
 * @throws ValidationError naming the field (`completions.2.score`) when a completion is invalid or an id repeats.
 * @throws NotFoundError when one of the runs does not exist.
 * @throws InvalidTransitionError when one of them is not running.
 * @example
 * ```ts
 * const completed = await completeAgentRuns(database.worker, [
 *   { id: marketRun.id, outputData: marketOutput, insights: marketInsights, score: 78.5 },
 *   { id: competitionRun.id, outputData: competitionOutput, score: 64 },
 * ]);
 * ```
 */
export const completeAgentRuns = traced(
  'agentResults.completeAgentRuns',
  async (executor: Executor, completions: readonly AgentRunCompletion[]): Promise<AgentResult[]> => {
    const db = tables(executor);
    const parsed = parseInput(completeAgentRunsSchema, { completions }, 'agent results').completions;
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
    const { rows } = await sql<AgentResult>`with input as (select * from ${input}),
running as materialized (select a.id from agent_results a join input i on i.id = a.id where a.status = 'running' order by a.id for no key update of a)
update agent_results a set status = 'completed', output_data = i.output_data, insights = i.insights, score = i.score,
  completion_key = coalesce(i.completion_key, a.completion_key), completed_at = now()
from input i where a.id = i.id and a.status = 'running' and (select count(*) from running) = (select count(*) from input)
returning a.*`.execute(db);
    if (rows.length === ids.length) return inOrder(ids, rows);
    // Nothing was written: say why, for the first run (in the order given) that was not running.
    const current = await sql<{ id: string; status: string; sameKey: boolean; sameResult: boolean }>`select a.id, a.status,
  a.completion_key = i.completion_key as same_key,
  a.output_data = i.output_data and a.insights is not distinct from i.insights and a.score is not distinct from i.score as same_result
from ${input} join agent_results a on a.id = i.id`.execute(db);
    const byId = new Map(current.rows.map((row) => [row.id, row]));
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
    const failing = ids.find((id) => byId.get(id)?.status !== 'running') ?? ids[0]!;
    return transitioned<AgentResult[]>(db, undefined, { table: 'agentResults', id: failing, to: 'completed', from: ['running'] });
  },
);

/**
 * Fails a pending or running run with `errorMessage` (-> failed, `completedAt` now).
 *
 * @throws NotFoundError when there is no such agent result.
 * @throws InvalidTransitionError when it already ended.
 * @example
 * ```ts
 * await failAgentRun(database.worker, runId, { errorMessage: 'rate limited by the model provider' });
 * ```
 */
export const failAgentRun = traced(
  'agentResults.failAgentRun',
  async (executor: Executor, id: string, input: FailAgentRunInput): Promise<AgentResult> => {
    const db = tables(executor);
    const parsed = parseInput(failAgentRunSchema, withKeys(input, { id }), 'agent result');
    const failed = await failRun.first(db, id, parsed.errorMessage);
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
