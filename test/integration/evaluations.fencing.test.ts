/**
 * Attempts and fencing (issue 12, item 1), through the worker role: every claim starts a numbered
 * attempt, and every write a worker makes for the run carries `{ workerId, attempt }` and is
 * refused with StaleAttemptError once that attempt is no longer current. The zombie: worker A
 * claims, stalls past its lease, worker B claims again and completes; every late write of A is
 * refused, before and after B completes, and nothing of A's is in the final state.
 */
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidTransitionError, NotFoundError, StaleAttemptError, ValidationError } from '../../src/errors.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import type { AgentOutputData, EvaluationResults } from '../../src/schema/json.js';
import { useTestDatabase } from '../support/database.js';
import { expireLease } from '../support/queue.js';
import { createSubmittedIdea } from '../support/factories.js';
import { useRoleConnections } from '../support/roles.js';

const t = useTestDatabase();
const connectAs = useRoleConnections(t);

const TYPES = ['market-research', 'competitive-analysis', 'customer-research'] as const;
const output = (by: string): AgentOutputData => ({ version: 1, summary: `found by ${by}`, findings: [] });
const results = (by: string): EvaluationResults => ({
  version: 1,
  overallScore: by === 'A' ? 11 : 77,
  recommendation: 'pivot',
  confidence: 0.5,
  summary: `aggregated by ${by}`,
  agentScores: [],
  strengths: [],
  risks: [],
  nextSteps: [],
  generatedAt: '2026-12-03T09:00:00.000Z',
});

beforeEach(async () => {
  await t.db.deleteFrom('evaluations').execute();
});

/** Every late write a worker can make for a run, with its token. */
function lateWrites(
  worker: Parameters<typeof evaluations.claimNext>[0],
  evaluationId: string,
  runIds: readonly string[],
  token: { workerId: string; attempt: number },
): [string, () => Promise<unknown>][] {
  return [
    ['renewLease', () => evaluations.renewLease(worker, evaluationId, { ...token, leaseSeconds: 60 })],
    ['releaseLease', () => evaluations.releaseLease(worker, evaluationId, token)],
    ['completeEvaluation', () => evaluations.completeEvaluation(worker, evaluationId, { ...token, results: results('A') })],
    ['failEvaluation', () => evaluations.failEvaluation(worker, evaluationId, { ...token, errorMessage: 'A gave up' })],
    ['createAgentRuns', () => agentResults.createAgentRuns(worker, evaluationId, [...TYPES, 'go-to-market'], { start: true, ...token })],
    ['startAgentRun', () => agentResults.startAgentRun(worker, runIds[0]!, token)],
    ['completeAgentRun', () => agentResults.completeAgentRun(worker, runIds[0]!, { ...token, outputData: output('A'), score: 11 })],
    [
      'completeAgentRuns',
      () =>
        agentResults.completeAgentRuns(
          worker,
          runIds.map((id) => ({ id, outputData: output('A'), score: 11 })),
          token,
        ),
    ],
    ['failAgentRun', () => agentResults.failAgentRun(worker, runIds[1]!, { ...token, errorMessage: 'A failed it' })],
  ];
}

async function expectAllStale(writes: [string, () => Promise<unknown>][], evaluationId: string, attempt: number) {
  for (const [name, write] of writes) {
    const error = await write().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, name).toBeInstanceOf(StaleAttemptError);
    expect(error, name).toBeInstanceOf(InvalidTransitionError);
    expect(error, name).toMatchObject({ code: 'STALE_ATTEMPT', evaluationId, attempt });
  }
}

describe('the zombie worker', () => {
  it('A claims, stalls past its lease, B claims again and completes: every late write of A is refused, nothing of A is left', async () => {
    const a = await connectAs('ai_validation_worker', 2, 'worker');
    const b = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id);
    expect(queued).toMatchObject({ attempt: 0, failures: 0, maxAttempts: 5 });

    const claimedByA = (await evaluations.claimNext(a.worker, 'worker-a', { leaseSeconds: 30 }))!;
    expect(claimedByA).toMatchObject({ id: queued.id, attempt: 1, claimedBy: 'worker-a' });
    const tokenA = { workerId: 'worker-a', attempt: claimedByA.attempt };
    const runsOfA = await agentResults.createAgentRuns(a.worker, queued.id, [...TYPES], { start: true, ...tokenA });
    expect(runsOfA.map((run) => [run.agentType, run.status, run.attempt])).toEqual(TYPES.map((type) => [type, 'running', 1]));

    // A stalls; its lease runs out and B takes the run: attempt 2, and the expiry counts as a failure.
    await expireLease(t.db, queued.id);
    const claimedByB = (await evaluations.claimNext(b.worker, 'worker-b', { leaseSeconds: 30 }))!;
    expect(claimedByB).toMatchObject({ id: queued.id, attempt: 2, failures: 1, claimedBy: 'worker-b' });
    const tokenB = { workerId: 'worker-b', attempt: claimedByB.attempt };
    // B takes over A's running runs in place: same rows, now B's attempt, started again.
    const runsOfB = await agentResults.createAgentRuns(b.worker, queued.id, [...TYPES], { start: true, ...tokenB });
    expect(runsOfB.map((run) => run.id)).toEqual(runsOfA.map((run) => run.id));
    expect(runsOfB.every((run) => run.status === 'running' && run.attempt === 2)).toBe(true);

    const runIds = runsOfA.map((run) => run.id);
    // While B works: every write of A is refused.
    await expectAllStale(lateWrites(a.worker, queued.id, runIds, tokenA), queued.id, 1);

    await agentResults.completeAgentRuns(
      b.worker,
      runsOfB.map((run) => ({ id: run.id, outputData: output('B'), score: 77 })),
      tokenB,
    );
    await evaluations.completeEvaluation(b.worker, queued.id, { ...tokenB, results: results('B') });

    // After B completed (the run is now invisible to the worker role): still refused, and typed.
    await expectAllStale(lateWrites(a.worker, queued.id, runIds, tokenA), queued.id, 1);
    const refused = await evaluations.renewLease(a.worker, queued.id, tokenA).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 'completed', currentAttempt: 2 });
    expect((refused as Error).message).toContain('attempt 1 of worker-a is no longer current');

    const final = await evaluations.getEvaluation(t.db, queued.id);
    expect(final).toMatchObject({ status: 'completed', attempt: 2, claimedBy: 'worker-b', results: results('B'), errorMessage: null });
    expect(final.agentResults.map((run) => [run.agentType, run.status, run.attempt, run.outputData, run.score])).toEqual(
      [...TYPES].sort().map((type) => [type, 'completed', 2, output('B'), 77]),
    );
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from agent_results
      where evaluation_id = ${queued.id} and (output_data::text like '%by A%' or error_message is not null)`.execute(t.db);
    expect(rows[0]!.n).toBe(0);
  });

  it('the same worker id restarted: its old attempt is refused, by the number alone', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id);
    const before = (await evaluations.claimNext(w.worker, 'host-1'))!;
    const old = { workerId: 'host-1', attempt: before.attempt };
    const runs = await agentResults.createAgentRuns(w.worker, queued.id, [...TYPES], { start: true, ...old });
    await expireLease(t.db, queued.id);
    const after = (await evaluations.claimNext(w.worker, 'host-1'))!;
    expect(after).toMatchObject({ attempt: 2, claimedBy: 'host-1' });
    await agentResults.createAgentRuns(w.worker, queued.id, [...TYPES], { start: true, workerId: 'host-1', attempt: 2 });
    await expectAllStale(
      lateWrites(
        w.worker,
        queued.id,
        runs.map((run) => run.id),
        old,
      ),
      queued.id,
      1,
    );
    const final = await evaluations.getEvaluation(t.db, queued.id);
    expect(final.agentResults.every((run) => run.status === 'running' && run.attempt === 2 && run.outputData === null)).toBe(true);
  });

  it('no write of an ended attempt slips in beside the next claim: the claim passes a run an agent-run write holds, and a write after the claim is refused', async () => {
    const w = await connectAs('ai_validation_worker', 4, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id);
    const claimed = (await evaluations.claimNext(w.worker, 'worker-a'))!;
    const token = { workerId: 'worker-a', attempt: claimed.attempt };
    const [run] = await agentResults.createAgentRuns(w.worker, queued.id, ['market-research'], { start: true, ...token });
    await expireLease(t.db, queued.id);

    // A's completion is in flight (its transaction open) when B asks for work: B passes the run by.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const inFlight = new Promise<void>((resolve) => (written = resolve));
    const completion = w.transaction(w.worker, async (trx) => {
      const done = await agentResults.completeAgentRun(trx, run!.id, { ...token, outputData: output('A, in time'), score: 50 });
      written();
      await held;
      return done;
    });
    await inFlight;
    expect(await evaluations.claimNext(w.worker, 'worker-b')).toBeNull();
    release();
    await expect(completion).resolves.toMatchObject({ status: 'completed', attempt: 1 });

    // Once it committed, B claims; A's next write is refused.
    expect(await evaluations.claimNext(w.worker, 'worker-b')).toMatchObject({ id: queued.id, attempt: 2 });
    await expect(agentResults.failAgentRun(w.worker, run!.id, { ...token, errorMessage: 'late' })).rejects.toThrow(StaleAttemptError);
  });

  it("a released attempt's token is stale, and so is one that never was (another worker's, a wrong number)", async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id);
    const claimed = (await evaluations.claimNext(w.worker, 'worker-a'))!;
    await expect(evaluations.renewLease(w.worker, queued.id, { workerId: 'worker-a', attempt: claimed.attempt + 1 })).rejects.toMatchObject(
      {
        code: 'STALE_ATTEMPT',
        currentAttempt: 1,
      },
    );
    await expect(evaluations.renewLease(w.worker, queued.id, { workerId: 'worker-b', attempt: claimed.attempt })).rejects.toThrow(
      /another worker holds attempt 1/,
    );
    await evaluations.releaseLease(w.worker, queued.id, { workerId: 'worker-a', attempt: claimed.attempt });
    await expect(
      evaluations.completeEvaluation(w.worker, queued.id, { workerId: 'worker-a', attempt: claimed.attempt, results: results('A') }),
    ).rejects.toMatchObject({ code: 'STALE_ATTEMPT', status: 'pending' });
    // The next claim is attempt 2; the released one never becomes current again.
    expect(await evaluations.claimNext(w.worker, 'worker-a')).toMatchObject({ attempt: 2, failures: 0 });
  });

  it('an unknown evaluation or agent run is NotFoundError, through the worker role too', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const missing = '00000000-0000-4000-8000-00000000abcd';
    const token = { workerId: 'worker-a', attempt: 1 };
    await expect(evaluations.renewLease(w.worker, missing, token)).rejects.toThrow(NotFoundError);
    await expect(agentResults.startAgentRun(w.worker, missing, token)).rejects.toThrow(NotFoundError);
    await expect(agentResults.createAgentRuns(w.worker, missing, ['market-research'], token)).rejects.toThrow(NotFoundError);
  });

  it('a run of an earlier attempt must be taken over before the current attempt writes it', async () => {
    const w = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id);
    const first = (await evaluations.claimNext(w.worker, 'worker-a'))!;
    const [run] = await agentResults.createAgentRuns(w.worker, queued.id, ['market-research'], {
      workerId: 'worker-a',
      attempt: first.attempt,
    });
    await evaluations.releaseLease(w.worker, queued.id, { workerId: 'worker-a', attempt: first.attempt });
    const second = (await evaluations.claimNext(w.worker, 'worker-a'))!;
    const token = { workerId: 'worker-a', attempt: second.attempt };
    await expect(agentResults.startAgentRun(w.worker, run!.id, token)).rejects.toThrow(/belongs to attempt 1; createAgentRuns/);
    const [taken] = await agentResults.createAgentRuns(w.worker, queued.id, ['market-research'], token);
    expect(taken).toMatchObject({ id: run!.id, attempt: 2, status: 'pending' });
    await expect(agentResults.startAgentRun(w.worker, run!.id, token)).resolves.toMatchObject({ status: 'running', attempt: 2 });
    // Repeating the call in the same attempt returns the run as it is.
    await expect(agentResults.createAgentRuns(w.worker, queued.id, ['market-research'], token)).resolves.toMatchObject([
      { id: run!.id, status: 'running' },
    ]);
  });

  it('half a token is a ValidationError naming the missing field', async () => {
    const id = '00000000-0000-4000-8000-00000000abcd';
    await expect(evaluations.completeEvaluation(t.db, id, { workerId: 'w', results: results('A') })).rejects.toMatchObject({
      issues: [{ path: 'attempt' }],
    });
    await expect(evaluations.failEvaluation(t.db, id, { attempt: 1, errorMessage: 'x' })).rejects.toMatchObject({
      issues: [{ path: 'workerId' }],
    });
    await expect(agentResults.startAgentRun(t.db, id, { workerId: 'w' })).rejects.toThrow(ValidationError);
    await expect(evaluations.renewLease(t.db, id, { workerId: 'w', attempt: -1 })).rejects.toMatchObject({ issues: [{ path: 'attempt' }] });
    await expect(agentResults.createAgentRuns(t.db, id, ['market-research'], { rerunCompleted: true })).rejects.toMatchObject({
      issues: [{ path: 'rerunCompleted' }],
    });
  });
});
