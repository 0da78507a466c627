/**
 * The batched agent-run writes on a real database: createAgentRuns({ start: true }) (runs created
 * running, one statement, one audited insert each) and completeAgentRuns (several completions in
 * one statement, all or none: a run that is not running, a missing run or bad input leaves every
 * run as it was), their idempotency keys, and both through the worker role's row-level security.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { ConflictError, InvalidTransitionError, NotFoundError, ValidationError } from '../../src/errors.js';
import { completeAgentRuns, createAgentRuns, getAgentResult, startAgentRun } from '../../src/repositories/agent-results.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import type { AgentInsights, AgentOutputData } from '../../src/schema/json.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea, createTestEvaluation } from '../support/factories.js';
import { useRoleConnections } from '../support/roles.js';

const t = useTestDatabase();
const connectAs = useRoleConnections(t);
const MISSING = '00000000-0000-4000-8000-000000000000';

const output = (summary: string): AgentOutputData => ({
  version: 1,
  summary,
  findings: [{ topic: 'market-size', statement: `About 40k clinics -- '; DROP TABLE agent_results; $$ ${summary}` }],
  details: { currency: 'EUR', unicode: 'naïve 日本 \u{1F600}' },
});
const INSIGHTS: AgentInsights = { version: 1, items: [{ kind: 'opportunity', title: 'Underserved rural clinics', impact: 'high' }] };

async function newEvaluation() {
  const idea = await createSubmittedIdea(t.db);
  return createTestEvaluation(t.db, idea.id);
}

/** Runs of a new evaluation, created running. */
async function runningRuns(types: string[]) {
  const evaluation = await newEvaluation();
  return { evaluation, runs: await createAgentRuns(t.db, evaluation.id, types, { start: true }) };
}

/** The audit entries of agent results `ids`, oldest first. */
async function audit(ids: string[]) {
  return t.db.selectFrom('auditLog').selectAll().where('tableName', '=', 'agent_results').where('rowId', 'in', ids).orderBy('id').execute();
}

/** Every column of the runs, to prove a refused call changed nothing. */
const snapshot = (ids: string[]) => t.db.selectFrom('agentResults').selectAll().where('id', 'in', ids).orderBy('id').execute();

describe('createAgentRuns with { start: true }', () => {
  it('creates the runs running, started at the transaction time, each audited by one insert', async () => {
    const { runs } = await runningRuns(['market-research', 'customer-research', 'go-to-market']);
    expect(runs.map((r) => [r.agentType, r.status])).toEqual([
      ['market-research', 'running'],
      ['customer-research', 'running'],
      ['go-to-market', 'running'],
    ]);
    for (const run of runs) expect(run.startedAt).toEqual(run.createdAt);
    const entries = await audit(runs.map((r) => r.id));
    expect(entries.map((e) => [e.operation, e.newRow?.status])).toEqual([
      ['insert', 'running'],
      ['insert', 'running'],
      ['insert', 'running'],
    ]);
    // Started runs complete like any other; a started run cannot be started again.
    await expect(startAgentRun(t.db, runs[0]!.id)).rejects.toMatchObject({ name: 'InvalidTransitionError', from: 'running' });
  });

  it('creates them pending without the option, or with start: false', async () => {
    const evaluation = await newEvaluation();
    const [a] = await createAgentRuns(t.db, evaluation.id, ['market-research'], { start: false });
    const [b] = await createAgentRuns(t.db, evaluation.id, ['customer-research'], null);
    expect([a?.status, a?.startedAt, b?.status]).toEqual(['pending', null, 'pending']);
  });

  it('refuses a start that is not a boolean and unknown options, naming the field, before writing anything', async () => {
    const evaluation = await newEvaluation();
    await expect(createAgentRuns(t.db, evaluation.id, ['market-research'], { start: 'yes' as unknown as boolean })).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [{ path: 'start', message: 'must be true or false' }],
    });
    await expect(
      createAgentRuns(t.db, evaluation.id, ['market-research'], { begin: true } as unknown as { start: boolean }),
    ).rejects.toMatchObject({ name: 'ValidationError', issues: [{ path: '(root)' }] });
    expect((await t.db.selectFrom('agentResults').select('id').where('evaluationId', '=', evaluation.id).execute()).length).toBe(0);
  });
});

describe('completeAgentRuns', () => {
  it('completes every run in one statement and returns them in the order given', async () => {
    const { runs } = await runningRuns(['market-research', 'competitive-analysis', 'customer-research']);
    const [a, b, c] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
    const completed = await completeAgentRuns(t.db, [
      { id: c.id, outputData: output('c'), score: 12.5 },
      { id: a.id, outputData: output('a'), insights: INSIGHTS, score: 78.25 },
      { id: b.id, outputData: output('b') },
    ]);
    expect(completed.map((r) => [r.id, r.status, r.score])).toEqual([
      [c.id, 'completed', 12.5],
      [a.id, 'completed', 78.25],
      [b.id, 'completed', null],
    ]);
    expect(completed[1]).toMatchObject({ outputData: output('a'), insights: INSIGHTS, completionKey: null });
    expect(completed[2]?.insights).toBeNull();
    expect(await getAgentResult(t.db, a.id)).toMatchObject({ status: 'completed', outputData: output('a'), insights: INSIGHTS });
    // One statement: one transaction for the three audited updates, each only the changed columns.
    const updates = (await audit([a.id, b.id, c.id])).filter((e) => e.operation === 'update');
    expect(updates).toHaveLength(3);
    expect(new Set(updates.map((e) => e.txid)).size).toBe(1);
    const ofA = updates.find((e) => e.rowId === a.id)!;
    expect(Object.keys(ofA.newRow!).sort()).toEqual(['completed_at', 'insights', 'output_data', 'score', 'status', 'updated_at']);
    expect(ofA.oldRow).toMatchObject({ status: 'running', output_data: null, insights: null, score: null, completed_at: null });
  });

  it('writes nothing when one run is not running (InvalidTransitionError naming it)', async () => {
    const { evaluation, runs } = await runningRuns(['market-research', 'customer-research']);
    const [pending] = await createAgentRuns(t.db, evaluation.id, ['go-to-market']);
    const ids = [...runs.map((r) => r.id), pending!.id];
    const before = await snapshot(ids);
    const auditBefore = await audit(ids);
    const error = await completeAgentRuns(
      t.db,
      ids.map((id) => ({ id, outputData: output(id) })),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidTransitionError);
    expect(error).toMatchObject({ entity: 'agent result', id: pending!.id, from: 'pending', to: 'completed' });
    expect(await snapshot(ids)).toEqual(before);
    expect(await audit(ids)).toEqual(auditBefore);
  });

  it('writes nothing when one run does not exist (NotFoundError naming it)', async () => {
    const { runs } = await runningRuns(['market-research', 'customer-research']);
    const ids = runs.map((r) => r.id);
    const before = await snapshot(ids);
    await expect(
      completeAgentRuns(t.db, [
        { id: ids[0]!, outputData: output('x') },
        { id: MISSING, outputData: output('y') },
        { id: ids[1]!, outputData: output('z') },
      ]),
    ).rejects.toMatchObject({ name: 'NotFoundError', entity: 'agent result', id: MISSING });
    expect(await snapshot(ids)).toEqual(before);
  });

  it('refuses bad input naming the field, before the database', async () => {
    const { runs } = await runningRuns(['market-research', 'customer-research']);
    const ids = runs.map((r) => r.id);
    const before = await snapshot(ids);
    const bad = (await completeAgentRuns(t.db, [
      { id: ids[0]!, outputData: output('ok') },
      { id: ids[1]!, outputData: output('ok'), score: 100.5 },
      { id: 'not-a-uuid', outputData: [] as unknown as AgentOutputData },
    ]).catch((e: unknown) => e)) as ValidationError;
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.issues.map((i) => i.path)).toEqual(['completions.1.score', 'completions.2.id', 'completions.2.outputData']);
    await expect(
      completeAgentRuns(t.db, [
        { id: ids[0]!, outputData: output('a') },
        { id: ids[0]!, outputData: output('b') },
      ]),
    ).rejects.toMatchObject({ issues: [{ path: 'completions.1.id', message: 'repeats an agent result listed before it' }] });
    await expect(completeAgentRuns(t.db, [])).rejects.toMatchObject({ issues: [{ path: 'completions' }] });
    await expect(completeAgentRuns(t.db, null as unknown as [])).rejects.toThrow(ValidationError);
    await expect(completeAgentRuns(t.db, [{ id: ids[0]!, outputData: output('a'), extra: 1 } as never])).rejects.toMatchObject({
      issues: [{ path: 'completions.0' }],
    });
    expect(await snapshot(ids)).toEqual(before);
  });

  it('a retry with the same keys returns the first outcome; a key reused with another result is a ConflictError', async () => {
    const { runs } = await runningRuns(['market-research', 'customer-research']);
    const completions = runs.map((r, i) => ({ id: r.id, outputData: output(`first ${i}`), score: 50 + i, idempotencyKey: `req-${r.id}` }));
    const first = await completeAgentRuns(t.db, completions);
    const auditAfterFirst = await audit(runs.map((r) => r.id));
    const again = await completeAgentRuns(t.db, completions);
    expect(again).toEqual(first);
    expect(first.map((r) => r.completionKey)).toEqual(completions.map((c) => c.idempotencyKey));
    expect(await audit(runs.map((r) => r.id))).toEqual(auditAfterFirst);
    const error = await completeAgentRuns(t.db, [completions[0]!, { ...completions[1]!, score: 99 }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ fields: ['completions.1.idempotencyKey'] });
    // Without keys a second completion is a transition error, not a silent success.
    await expect(completeAgentRuns(t.db, [{ id: runs[0]!.id, outputData: output('first 0'), score: 50 }])).rejects.toMatchObject({
      name: 'InvalidTransitionError',
      from: 'completed',
    });
  });

  it('of two concurrent overlapping batches exactly one writes, and the other writes nothing', async () => {
    const { runs } = await runningRuns(['market-research', 'customer-research', 'go-to-market']);
    const [a, b, c] = runs.map((r) => r.id) as [string, string, string];
    const outcomes = await Promise.allSettled([
      completeAgentRuns(t.db, [
        { id: a, outputData: output('one') },
        { id: b, outputData: output('one') },
      ]),
      completeAgentRuns(t.db, [
        { id: c, outputData: output('two') },
        { id: b, outputData: output('two') },
      ]),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(InvalidTransitionError);
    const rows = new Map((await snapshot([a, b, c])).map((r) => [r.id, r]));
    const winner = outcomes[0].status === 'fulfilled' ? 'one' : 'two';
    expect(rows.get(b)?.outputData).toEqual(output(winner));
    // The loser's other run stayed running.
    expect(rows.get(winner === 'one' ? c : a)?.status).toBe('running');
  });
});

describe('through the worker role (row-level security)', () => {
  let worker: Database<'worker'>;

  it('claims, creates the runs started and completes them in one statement each', async () => {
    worker = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id, { priority: 'high' });
    const claimed = await evaluations.claimNext(worker.worker, 'worker-batched');
    expect(claimed?.id).toBe(queued.id);
    const token = { workerId: 'worker-batched', attempt: claimed!.attempt };
    const runs = await createAgentRuns(worker.worker, queued.id, ['market-research', 'customer-research'], { start: true, ...token });
    const done = await completeAgentRuns(
      worker.worker,
      runs.map((r) => ({ id: r.id, outputData: output(r.agentType), score: 70 })),
      token,
    );
    expect(done.map((r) => r.status)).toEqual(['completed', 'completed']);
    // A run of an evaluation the worker cannot see (no longer in flight) is not found, and nothing is written.
    await evaluations.completeEvaluation(worker.worker, queued.id, {
      ...token,
      results: {
        version: 1,
        overallScore: 70,
        recommendation: 'pivot',
        confidence: 0.5,
        summary: 'ok',
        agentScores: [],
        strengths: [],
        risks: [],
        nextSteps: [],
        generatedAt: new Date().toISOString(),
      },
    });
    const other = await runningRuns(['market-research']);
    await expect(
      completeAgentRuns(worker.worker, [
        { id: other.runs[0]!.id, outputData: output('x') },
        { id: runs[0]!.id, outputData: output('x') },
      ]),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect((await getAgentResult(t.db, other.runs[0]!.id)).status).toBe('running');
  });
});
