/**
 * Retries with policy (issue 12, item 3) and agent-level retry (item 2), through the worker role:
 * a worker's failure goes back to the queue with exponential backoff and jitter (`runAfter`), a
 * lease that expires counts as a failure, the failure that exhausts `maxAttempts` dead-letters the
 * run, and an operator lists and requeues dead runs. Row-level security decides who may do which.
 * A new attempt takes over the agent runs of earlier ones and ends with one current run per type.
 */
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, QueryError } from '../../src/errors.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import type { AgentOutputData, EvaluationResults } from '../../src/schema/json.js';
import { useTestDatabase } from '../support/database.js';
import { expireLease } from '../support/queue.js';
import { createSubmittedIdea } from '../support/factories.js';
import { useRoleConnections } from '../support/roles.js';

const t = useTestDatabase();
const connectAs = useRoleConnections(t);

const RESULTS: EvaluationResults = {
  version: 1,
  overallScore: 64,
  recommendation: 'go',
  confidence: 0.7,
  summary: 'Done on a later attempt.',
  agentScores: [],
  strengths: [],
  risks: [],
  nextSteps: [],
  generatedAt: '2026-12-03T09:00:00.000Z',
};
const output = (summary: string): AgentOutputData => ({ version: 1, summary, findings: [] });

beforeEach(async () => {
  await t.db.deleteFrom('evaluations').execute();
});

/** The server's clock, for bounds on run_after. */
const serverNow = async () => (await sql<{ now: Date }>`select statement_timestamp() as now`.execute(t.db)).rows[0]!.now.getTime();
/** Ends a backoff early, as if the time had passed. */
const makeDue = (id: string) =>
  t.db
    .updateTable('evaluations')
    .set({ runAfter: sql<Date>`now() - interval '1 second'` })
    .where('id', '=', id)
    .execute();
const row = (id: string) => t.db.selectFrom('evaluations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('a worker failing its attempt', () => {
  it('goes back to the queue after an exponential backoff with jitter, and the last allowed failure dead-letters it', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 3 });
    const delays: number[] = [];
    for (const attempt of [1, 2]) {
      const claimed = (await evaluations.claimNext(w.worker, 'worker-a'))!;
      expect(claimed).toMatchObject({ id: queued.id, attempt });
      const before = await serverNow();
      const retried = await evaluations.failEvaluation(w.worker, queued.id, {
        workerId: 'worker-a',
        attempt,
        errorMessage: `timed out (${attempt})`,
      });
      expect(retried).toMatchObject({
        status: 'pending',
        failures: attempt,
        errorMessage: `timed out (${attempt})`,
        claimedBy: null,
        startedAt: null,
        completedAt: null,
        leaseExpiresAt: null,
      });
      delays.push(retried.runAfter.getTime() - before);
      // Not due yet: the claim passes it by.
      expect(await evaluations.claimNext(w.worker, 'worker-a')).toBeNull();
      await makeDue(queued.id);
    }
    // 10 s * 2^(n-1), times 0.5 to 1.
    expect(delays[0]).toBeGreaterThanOrEqual(5_000 - 50);
    expect(delays[0]).toBeLessThanOrEqual(10_000 + 1_000);
    expect(delays[1]).toBeGreaterThanOrEqual(10_000 - 50);
    expect(delays[1]).toBeLessThanOrEqual(20_000 + 1_000);

    const last = (await evaluations.claimNext(w.worker, 'worker-a'))!;
    const dead = await evaluations.failEvaluation(w.worker, queued.id, {
      workerId: 'worker-a',
      attempt: last.attempt,
      errorMessage: 'gave up',
    });
    expect(dead).toMatchObject({ status: 'dead', attempt: 3, failures: 3, errorMessage: 'gave up', leaseExpiresAt: null });
    expect(dead.completedAt).toBeInstanceOf(Date);
    expect(await evaluations.claimNext(w.worker, 'worker-a')).toBeNull();
  });

  it('waits at most the cap (an hour, times 0.5 to 1) however often it failed', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 100 });
    const claimed = (await evaluations.claimNext(w.worker, 'worker-a'))!;
    await t.db.updateTable('evaluations').set({ failures: 40 }).where('id', '=', queued.id).execute();
    const before = await serverNow();
    const retried = await evaluations.failEvaluation(w.worker, queued.id, {
      workerId: 'worker-a',
      attempt: claimed.attempt,
      errorMessage: 'x',
    });
    const delay = retried.runAfter.getTime() - before;
    expect(delay).toBeGreaterThanOrEqual(evaluations.RETRY_BACKOFF_CAP_SECONDS * 500 - 50);
    expect(delay).toBeLessThanOrEqual(evaluations.RETRY_BACKOFF_CAP_SECONDS * 1000 + 1_000);
  });

  it('spreads the retries of runs failing together (jitter)', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    for (let i = 0; i < 8; i++) await evaluations.createEvaluation(t.db, idea.id);
    const after: number[] = [];
    for (let i = 0; i < 8; i++) {
      const claimed = (await evaluations.claimNext(w.worker, 'worker-a'))!;
      const retried = await evaluations.failEvaluation(w.worker, claimed.id, { workerId: 'worker-a', attempt: 1, errorMessage: 'x' });
      after.push(retried.runAfter.getTime() - retried.updatedAt.getTime());
    }
    expect(new Set(after.map((ms) => Math.round(ms / 100))).size).toBeGreaterThan(1);
  });
});

describe('a lease that expires', () => {
  it('counts as a failed attempt, and the claim dead-letters a run whose last allowed attempt expired', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 2 });
    await evaluations.claimNext(w.worker, 'worker-a');
    await expireLease(t.db, queued.id);
    expect(await evaluations.claimNext(w.worker, 'worker-b')).toMatchObject({ id: queued.id, attempt: 2, failures: 1 });
    await expireLease(t.db, queued.id);
    const other = await evaluations.createEvaluation(t.db, idea.id);
    // The claim buries the expired run and hands out the next one, in one statement.
    expect(await evaluations.claimNext(w.worker, 'worker-c')).toMatchObject({ id: other.id, attempt: 1 });
    expect(await row(queued.id)).toMatchObject({
      status: 'dead',
      attempt: 2,
      failures: 2,
      leaseExpiresAt: null,
      claimedBy: 'worker-b',
      errorMessage: 'the lease of attempt 2 (worker-b) expired; 2 of 2 attempts failed',
    });
    await expect(evaluations.renewLease(w.worker, queued.id, { workerId: 'worker-b', attempt: 2 })).rejects.toMatchObject({
      code: 'STALE_ATTEMPT',
      status: 'dead',
    });
  });

  it('a release is not a failure', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 1 });
    for (const attempt of [1, 2, 3]) {
      await evaluations.claimNext(w.worker, 'worker-a');
      await evaluations.releaseLease(w.worker, queued.id, { workerId: 'worker-a', attempt });
    }
    expect(await row(queued.id)).toMatchObject({ status: 'pending', attempt: 3, failures: 0 });
  });
});

describe('who may retry (row-level security)', () => {
  it('the worker cannot end a run as failed, nor see or requeue a dead one; the owner lists and requeues it with a new budget', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 1 });
    const claimed = (await evaluations.claimNext(w.worker, 'worker-a'))!;

    // Failing for good is an operator's decision: the worker role's policy refuses the row.
    const refused = await evaluations.failEvaluation(w.worker, queued.id, { errorMessage: 'no retry' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QueryError);
    expect(refused).toMatchObject({ sqlState: '42501' });
    expect(await row(queued.id)).toMatchObject({ status: 'analyzing', failures: 0 });

    await evaluations.failEvaluation(w.worker, queued.id, {
      workerId: 'worker-a',
      attempt: claimed.attempt,
      errorMessage: 'out of budget',
    });
    await expect(evaluations.getEvaluation(w.worker, queued.id)).rejects.toThrow(NotFoundError);
    await expect(evaluations.retryEvaluation(w.worker, queued.id)).rejects.toThrow(NotFoundError);
    expect(await row(queued.id)).toMatchObject({ status: 'dead' });

    const dead = await evaluations.listEvaluationsByStatus(t.db, 'dead');
    expect(dead.items.map((e) => e.id)).toEqual([queued.id]);
    const requeued = await evaluations.retryEvaluation(t.db, queued.id, { maxAttempts: 2 });
    expect(requeued).toMatchObject({
      status: 'pending',
      attempt: 1,
      failures: 0,
      maxAttempts: 2,
      completedAt: null,
      errorMessage: 'out of budget',
    });
    expect(requeued.runAfter.getTime()).toBeLessThanOrEqual(await serverNow());
    // The attempt number goes on: the next claim is attempt 2, never 1 again.
    expect(await evaluations.claimNext(w.worker, 'worker-a')).toMatchObject({ id: queued.id, attempt: 2 });
  });

  it('the application may requeue a dead run of its own user, not of another', async () => {
    const app = await connectAs('ai_validation_app', 2, 'app');
    const idea = await createSubmittedIdea(t.db);
    const stranger = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 1 });
    const claimed = (await evaluations.claimNext(t.db, 'worker-a'))!;
    await evaluations.failEvaluation(t.db, queued.id, { workerId: 'worker-a', attempt: claimed.attempt, errorMessage: 'x' });
    await expect(app.withUser(stranger.userId, (trx) => evaluations.retryEvaluation(trx, queued.id))).rejects.toThrow(NotFoundError);
    await expect(app.withUser(idea.userId, (trx) => evaluations.retryEvaluation(trx, queued.id))).resolves.toMatchObject({
      status: 'pending',
    });
  });
});

describe('the retry budget', () => {
  it('defaults by priority and may be set per evaluation; an idempotency key holds it too', async () => {
    const idea = await createSubmittedIdea(t.db);
    expect((await evaluations.createEvaluation(t.db, idea.id, { priority: 'low' })).maxAttempts).toBe(3);
    expect((await evaluations.createEvaluation(t.db, idea.id)).maxAttempts).toBe(5);
    expect((await evaluations.createEvaluation(t.db, idea.id, { priority: 'high' })).maxAttempts).toBe(8);
    const keyed = await evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 2, idempotencyKey: 'k-1' });
    expect(keyed.maxAttempts).toBe(2);
    await expect(evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 2, idempotencyKey: 'k-1' })).resolves.toMatchObject({
      id: keyed.id,
    });
    await expect(evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 3, idempotencyKey: 'k-1' })).rejects.toThrow(ConflictError);
    await expect(evaluations.createEvaluation(t.db, idea.id, { maxAttempts: 0 })).rejects.toMatchObject({
      issues: [{ path: 'maxAttempts' }],
    });
    await expect(t.db.updateTable('evaluations').set({ maxAttempts: 0 }).where('id', '=', keyed.id).execute()).rejects.toMatchObject({
      issues: [{ path: 'evaluations_max_attempts_range_check' }],
    });
  });
});

describe('agent-level retry', () => {
  it('a new attempt keeps what completed, takes over what failed or was left running, and ends with one current run per type', async () => {
    const a = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id);
    const first = (await evaluations.claimNext(a.worker, 'worker-a'))!;
    const tokenA = { workerId: 'worker-a', attempt: first.attempt };
    const [market, competition, customers] = await agentResults.createAgentRuns(
      a.worker,
      queued.id,
      ['market-research', 'competitive-analysis', 'customer-research'],
      { start: true, ...tokenA },
    );
    await agentResults.completeAgentRun(a.worker, market!.id, { ...tokenA, outputData: output('market, attempt 1'), score: 80 });
    await agentResults.failAgentRun(a.worker, competition!.id, { ...tokenA, errorMessage: 'rate limited' });
    await evaluations.failEvaluation(a.worker, queued.id, { ...tokenA, errorMessage: 'competitive-analysis failed' });
    await makeDue(queued.id);

    const second = (await evaluations.claimNext(a.worker, 'worker-b'))!;
    const tokenB = { workerId: 'worker-b', attempt: second.attempt };
    const runs = await agentResults.createAgentRuns(
      a.worker,
      queued.id,
      ['market-research', 'competitive-analysis', 'customer-research', 'go-to-market'],
      { start: true, ...tokenB },
    );
    expect(runs.map((r) => [r.agentType, r.status, r.attempt, r.errorMessage])).toEqual([
      ['market-research', 'completed', 1, null],
      ['competitive-analysis', 'running', 2, null],
      ['customer-research', 'running', 2, null],
      ['go-to-market', 'running', 2, null],
    ]);
    expect(runs.slice(0, 3).map((r) => r.id)).toEqual([market!.id, competition!.id, customers!.id]);
    // The unique rule holds for the current runs: no second market-research run.
    await expect(agentResults.createAgentRuns(t.db, queued.id, ['market-research'])).rejects.toThrow(ConflictError);

    const toRun = runs.filter((r) => r.status !== 'completed');
    await agentResults.completeAgentRuns(
      a.worker,
      toRun.map((r) => ({ id: r.id, outputData: output(`${r.agentType}, attempt 2`), score: 60 })),
      tokenB,
    );
    await evaluations.completeEvaluation(a.worker, queued.id, { ...tokenB, results: RESULTS });

    const final = await evaluations.getEvaluation(t.db, queued.id);
    expect(final).toMatchObject({ status: 'completed', attempt: 2, failures: 1, errorMessage: null });
    expect(final.agentResults.map((r) => [r.agentType, r.status, r.attempt])).toEqual([
      ['competitive-analysis', 'completed', 2],
      ['customer-research', 'completed', 2],
      ['go-to-market', 'completed', 2],
      ['market-research', 'completed', 1],
    ]);
    const summary = await agentResults.scoreSummary(t.db, queued.id);
    expect(summary.overall).toMatchObject({ runs: 4, scored: 4, average: 65 });
    // What the run held before it was taken over is in the audit log.
    const { rows } = await sql<{ old: Record<string, unknown> }>`select old_row as old from audit_log
      where table_name = 'agent_results' and row_id = ${competition!.id}::uuid and old_row ? 'error_message' order by id`.execute(t.db);
    expect(rows.map((r) => r.old.error_message)).toContain('rate limited');
  });

  it('rerunCompleted takes over completed runs of earlier attempts too', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id);
    const first = (await evaluations.claimNext(w.worker, 'worker-a'))!;
    const [market] = await agentResults.createAgentRuns(w.worker, queued.id, ['market-research'], {
      start: true,
      workerId: 'worker-a',
      attempt: first.attempt,
    });
    await agentResults.completeAgentRun(w.worker, market!.id, { workerId: 'worker-a', attempt: 1, outputData: output('old'), score: 10 });
    await evaluations.releaseLease(w.worker, queued.id, { workerId: 'worker-a', attempt: 1 });
    await evaluations.claimNext(w.worker, 'worker-a');
    const [again] = await agentResults.createAgentRuns(w.worker, queued.id, ['market-research'], {
      workerId: 'worker-a',
      attempt: 2,
      rerunCompleted: true,
    });
    expect(again).toMatchObject({ id: market!.id, status: 'pending', attempt: 2, outputData: null, score: null, completedAt: null });
  });
});
