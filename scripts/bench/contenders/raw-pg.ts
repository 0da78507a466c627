/**
 * Raw node-postgres: the hand-written statements of ./sql.ts through `pool.query`, either unnamed
 * (`pool.query(text, values)`: parse, plan and execute on every call) or as named prepared
 * statements (`pool.query({ name, text, values })`: each connection parses once, and after five
 * executions PostgreSQL may switch to a generic plan). The claim and the evaluation's completion
 * are one statement each, as the repository's (the idea follows in a data-modifying CTE).
 */
import pg from 'pg';
import { connectionOptions } from '../../../src/connection.js';
import { encodeCursor } from '../../../src/validation/cursor.js';
import type { Contender, ContenderContext, Driver } from './types.js';
import * as q from './sql.js';

const PAGE = 20;
const LEASE_SECONDS = 300;

export function rawPg(context: ContenderContext, named: boolean): Contender {
  const pool = context.createPool();
  type Queryable = Pick<pg.Pool, 'query'>;
  const run = <R extends pg.QueryResultRow>(on: Queryable, name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> =>
    named ? on.query<R>({ name, text, values }) : on.query<R>(text, values);

  const driver: Driver = {
    async getIdea(id) {
      const { rows } = await run(pool, 'bench_get_idea', q.GET_IDEA, [id]);
      if (!rows[0]) throw new Error(`idea ${id} not found`);
      return rows[0];
    },
    async listIdeas(userId, cursor) {
      const { rows } = cursor
        ? await run<IdeaRow>(pool, 'bench_list_ideas_after', q.LIST_IDEAS_AFTER, [userId, cursor.createdAt, cursor.id, PAGE + 1])
        : await run<IdeaRow>(pool, 'bench_list_ideas', q.LIST_IDEAS, [userId, PAGE + 1]);
      return toPage(rows);
    },
    async createIdea(userId, title, description) {
      const { rows } = await run(pool, 'bench_create_idea', q.CREATE_IDEA, [title, description, userId]);
      if (!rows[0]) throw new Error(`user ${userId} not found`);
      return rows[0];
    },
    async createAgentRuns(evaluationId, agentTypes) {
      const { rows } = await run<{ id: string; agentType: string }>(pool, 'bench_create_agent_runs', q.CREATE_AGENT_RUNS, [
        evaluationId,
        agentTypes,
        '{}',
      ]);
      return rows;
    },
    async startAgentRun(id) {
      const { rows } = await run(pool, 'bench_start_agent_run', q.START_AGENT_RUN, [id]);
      if (!rows[0]) throw new Error(`agent run ${id} is not pending`);
      return rows[0];
    },
    async completeAgentRun(id, { outputData, insights, score }) {
      const { rows } = await run(pool, 'bench_complete_agent_run', q.COMPLETE_AGENT_RUN, [
        JSON.stringify(outputData),
        JSON.stringify(insights),
        score,
        id,
      ]);
      if (!rows[0]) throw new Error(`agent run ${id} is not running`);
      return rows[0];
    },
    async startAgentRuns(claimed, workerId, agentTypes) {
      const { rows } = await run<{ id: string; agentType: string }>(pool, 'bench_start_agent_runs', q.START_AGENT_RUNS, [
        claimed.id,
        workerId,
        claimed.attempt,
        agentTypes,
        agentTypes.map(() => '{}'),
      ]);
      if (rows.length !== agentTypes.length) throw new Error(`evaluation ${claimed.id} is not analyzing for ${workerId}`);
      return rows;
    },
    async completeAgentRuns(claimed, workerId, completions) {
      const { rows } = await run(pool, 'bench_complete_agent_runs', q.COMPLETE_AGENT_RUNS, [
        completions.map((c) => c.id),
        completions.map((c) => JSON.stringify(c.outputData)),
        completions.map((c) => JSON.stringify(c.insights)),
        completions.map((c) => c.score),
        completions.map(() => null),
        claimed.attempt,
        workerId,
      ]);
      if (rows.length !== completions.length) throw new Error(`the agent runs of evaluation ${claimed.id} are not running for ${workerId}`);
      return rows;
    },
    async scoreSummary(evaluationId) {
      const { rows } = await run<{ agentType: string | null; isOverall: boolean; average: number | null; evaluationExists: boolean }>(
        pool,
        'bench_score_summary',
        q.SCORE_SUMMARY,
        [evaluationId],
      );
      const overall = rows.find((row) => row.isOverall);
      if (!overall?.evaluationExists) throw new Error(`evaluation ${evaluationId} not found`);
      return {
        overall: overall.average,
        byAgentType: rows.filter((row) => !row.isOverall).map((row) => ({ agentType: row.agentType!, average: row.average })),
      };
    },
    // One statement each, as the repository's: the idea follows in a data-modifying CTE.
    async claimNext(workerId) {
      const { rows } = await run<{ id: string; businessIdeaId: string; attempt: number }>(pool, 'bench_claim_next', q.CLAIM_NEXT, [
        workerId,
        LEASE_SECONDS,
      ]);
      return rows[0] ?? null;
    },
    async completeEvaluation(claimed, workerId, results) {
      const { rows } = await run(pool, 'bench_complete_evaluation', q.COMPLETE_EVALUATION, [
        JSON.stringify(results),
        claimed.id,
        workerId,
        claimed.attempt,
      ]);
      if (!rows[0]) throw new Error(`evaluation ${claimed.id} is not analyzing for ${workerId}`);
      return rows[0];
    },
    async enqueue(businessIdeaId) {
      const { rows } = await run<{ id: string }>(pool, 'bench_enqueue', q.ENQUEUE, [businessIdeaId]);
      if (!rows[0]) throw new Error(`idea ${businessIdeaId} cannot be evaluated`);
      return rows[0].id;
    },
    // The same loop by hand: LISTEN on a client of its own, claim until the queue is empty on each
    // notification, one run at a time.
    async startQueueWorker(workerId, results, hooks) {
      const listener = new pg.Client(connectionOptions(context.connection));
      let draining: Promise<void> | undefined;
      let again = false;
      let failure: unknown;
      const drain = (): void => {
        if (draining) {
          again = true;
          return;
        }
        draining = (async () => {
          do {
            again = false;
            for (;;) {
              const claimed = await driver.claimNext!(workerId);
              if (!claimed) break;
              hooks.started(claimed.id);
              await driver.completeEvaluation!(claimed, workerId, results);
              hooks.finished(claimed.id);
            }
          } while (again);
        })()
          .catch((error: unknown) => void (failure ??= error))
          .finally(() => (draining = undefined));
      };
      listener.on('notification', drain);
      listener.on('error', (error) => void (failure ??= error));
      await listener.connect();
      await listener.query('LISTEN ai_validation_evaluation_queue');
      drain();
      return async () => {
        listener.removeAllListeners('notification');
        await listener.end();
        await draining;
        if (failure) throw new Error(`the queue worker failed: ${(failure as Error).message}`, { cause: failure });
      };
    },
  };
  return {
    driver,
    settings: named
      ? 'pool.query({ name, text, values }): one named prepared statement per query shape'
      : 'pool.query(text, values): unnamed statements',
    close: () => pool.end(),
  };
}

interface IdeaRow {
  id: string;
  cursorCreatedAt: string;
}

/** `limit + 1` rows -> a page and the cursor after its last row, as the repository's toPage does. */
export function toPage<R extends IdeaRow>(rows: readonly R[]): { items: Omit<R, 'cursorCreatedAt'>[]; nextCursor: string | null } {
  const last = rows[PAGE - 1];
  return {
    items: rows.slice(0, PAGE).map(({ cursorCreatedAt: _key, ...item }) => item),
    nextCursor: rows.length > PAGE && last ? encodeCursor({ createdAt: last.cursorCreatedAt, id: last.id }) : null,
  };
}
