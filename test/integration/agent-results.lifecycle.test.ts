/**
 * The agent results repository on a real database: the whole set of runs created in one
 * statement, start / complete / fail with their failure paths, listing, and the score summary.
 * JSONB queries: agent-results.jsonb.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { AgentInsights, AgentOutputData } from '../../src/schema/json.js';
import { ConflictError, InvalidReferenceError, InvalidTransitionError, NotFoundError, ValidationError } from '../../src/errors.js';
import {
  completeAgentRun,
  createAgentRuns,
  failAgentRun,
  getAgentResult,
  listAgentResults,
  scoreSummary,
  startAgentRun,
} from '../../src/repositories/agent-results.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea, createTestAgentResult, createTestEvaluation } from '../support/factories.js';

const t = useTestDatabase();
const MISSING = '00000000-0000-4000-8000-000000000000';

const OUTPUT: AgentOutputData = {
  version: 1,
  summary: 'Clinics lose ~6 h/week to phone scheduling; it\'s "real" -- \'; DROP TABLE agent_results; $$',
  findings: [{ topic: 'market-size', statement: 'About 40k independent clinics in the EU', confidence: 0.7, sourceRefs: [0] }],
  sources: [{ title: 'Eurostat', url: 'https://ec.europa.eu/eurostat' }],
  usage: { inputTokens: 1200, outputTokens: 800, durationMs: 5400, costUsd: 0.02 },
  details: { marketSize: { estimate: 1.2e9, currency: 'EUR' }, unicode: 'naïve 日本 \u{1F600}' },
};
const INSIGHTS: AgentInsights = {
  version: 1,
  items: [{ kind: 'opportunity', title: 'Underserved rural clinics', impact: 'high', confidence: 0.8 }],
  metrics: { tamUsd: 1_200_000_000 },
};

async function newEvaluation() {
  const idea = await createSubmittedIdea(t.db);
  return createTestEvaluation(t.db, idea.id);
}

const count = async (evaluationId: string) =>
  (
    await t.db
      .selectFrom('agentResults')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('evaluationId', '=', evaluationId)
      .executeTakeFirstOrThrow()
  ).n;

describe('createAgentRuns', () => {
  it('creates every run, pending, in the order given, with its input data', async () => {
    const evaluation = await newEvaluation();
    const runs = await createAgentRuns(t.db, evaluation.id, [
      'market-research',
      { agentType: 'competitive-analysis', inputData: { model: 'gpt-4.1', promptVersion: '3', parameters: { regions: ['EU', 'UK'] } } },
      { agentType: 'customer-research' },
      'pricing-strategy',
    ]);
    expect(runs.map((r) => r.agentType)).toEqual(['market-research', 'competitive-analysis', 'customer-research', 'pricing-strategy']);
    expect(runs.every((r) => r.status === 'pending' && r.evaluationId === evaluation.id && r.startedAt === null)).toBe(true);
    expect(runs[0]?.inputData).toEqual({});
    expect(runs[1]?.inputData).toEqual({ model: 'gpt-4.1', promptVersion: '3', parameters: { regions: ['EU', 'UK'] } });
    // One statement: every row carries the same transaction time.
    expect(new Set(runs.map((r) => r.createdAt.getTime())).size).toBe(1);
  });

  it('writes none of the set when one of them conflicts with an existing run (ConflictError naming the key)', async () => {
    const evaluation = await newEvaluation();
    await createAgentRuns(t.db, evaluation.id, ['market-research']);
    const error = await createAgentRuns(t.db, evaluation.id, ['customer-research', 'market-research']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ fields: ['evaluationId', 'agentType'], constraint: 'agent_results_evaluation_id_agent_type_key' });
    expect(await count(evaluation.id)).toBe(1);
  });

  it('is InvalidReferenceError for a missing evaluation', async () => {
    const error = await createAgentRuns(t.db, MISSING, ['market-research']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect(error).toMatchObject({ fields: ['evaluationId'] });
  });

  it('rejects bad agent types, duplicates and oversized input before the database', async () => {
    const evaluation = await newEvaluation();
    const bad = (await createAgentRuns(t.db, evaluation.id, [
      'Market Research',
      { agentType: 'ok', inputData: { parameters: { blob: 'x'.repeat(300 * 1024) } } },
    ]).catch((e: unknown) => e)) as ValidationError;
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.issues.map((i) => i.path)).toEqual(['runs.0', 'runs.1.inputData']);
    await expect(createAgentRuns(t.db, evaluation.id, ['pricing', 'pricing'])).rejects.toMatchObject({ issues: [{ path: 'runs.1' }] });
    await expect(createAgentRuns(t.db, evaluation.id, [])).rejects.toThrow(ValidationError);
    expect(await count(evaluation.id)).toBe(0);
  });
});

describe('startAgentRun, completeAgentRun, failAgentRun', () => {
  it('runs pending -> running -> completed with output, insights and score', async () => {
    const evaluation = await newEvaluation();
    const [run] = await createAgentRuns(t.db, evaluation.id, ['market-research']);
    const started = await startAgentRun(t.db, run!.id);
    expect(started).toMatchObject({ status: 'running', completedAt: null });
    expect(started.startedAt).toBeInstanceOf(Date);
    const completed = await completeAgentRun(t.db, run!.id, { outputData: OUTPUT, insights: INSIGHTS, score: 78.25 });
    expect(completed).toMatchObject({ status: 'completed', score: 78.25, outputData: OUTPUT, insights: INSIGHTS });
    expect(completed.completedAt!.getTime()).toBeGreaterThanOrEqual(completed.startedAt!.getTime());
    // Read back verbatim, JSON keys untouched by the camelCase plugin.
    expect(await getAgentResult(t.db, run!.id)).toMatchObject({ outputData: OUTPUT, insights: INSIGHTS, score: 78.25 });
  });

  it('completes without insights or score', async () => {
    const evaluation = await newEvaluation();
    const run = await createTestAgentResult(t.db, evaluation.id);
    await startAgentRun(t.db, run.id);
    await expect(completeAgentRun(t.db, run.id, { outputData: OUTPUT })).resolves.toMatchObject({
      insights: null,
      score: null,
      status: 'completed',
    });
  });

  it('refuses transitions out of order (InvalidTransitionError naming the status), and NotFoundError for a missing run', async () => {
    const evaluation = await newEvaluation();
    const run = await createTestAgentResult(t.db, evaluation.id);
    await expect(completeAgentRun(t.db, run.id, { outputData: OUTPUT })).rejects.toMatchObject({
      name: 'InvalidTransitionError',
      from: 'pending',
      to: 'completed',
    });
    await startAgentRun(t.db, run.id);
    await expect(startAgentRun(t.db, run.id)).rejects.toMatchObject({ name: 'InvalidTransitionError', from: 'running', to: 'running' });
    await completeAgentRun(t.db, run.id, { outputData: OUTPUT, score: 50 });
    await expect(failAgentRun(t.db, run.id, { errorMessage: 'late' })).rejects.toMatchObject({
      name: 'InvalidTransitionError',
      from: 'completed',
    });
    for (const call of [
      () => startAgentRun(t.db, MISSING),
      () => completeAgentRun(t.db, MISSING, { outputData: OUTPUT }),
      () => failAgentRun(t.db, MISSING, { errorMessage: 'x' }),
    ]) {
      await expect(call()).rejects.toMatchObject({ name: 'NotFoundError', entity: 'agent result' });
    }
    await expect(getAgentResult(t.db, MISSING)).rejects.toThrow(NotFoundError);
  });

  it('fails a pending or a running run with its message', async () => {
    const evaluation = await newEvaluation();
    const [pending, running] = await createAgentRuns(t.db, evaluation.id, ['market-research', 'customer-research']);
    await startAgentRun(t.db, running!.id);
    await expect(failAgentRun(t.db, pending!.id, { errorMessage: 'no input' })).resolves.toMatchObject({
      status: 'failed',
      startedAt: null,
      errorMessage: 'no input',
    });
    const failed = await failAgentRun(t.db, running!.id, { errorMessage: 'rate limited: "429" \u{1F600}' });
    expect(failed).toMatchObject({ status: 'failed', errorMessage: 'rate limited: "429" \u{1F600}' });
    expect(failed.completedAt).toBeInstanceOf(Date);
  });

  it('exactly one of ten concurrent starts wins', async () => {
    const evaluation = await newEvaluation();
    const run = await createTestAgentResult(t.db, evaluation.id);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => startAgentRun(t.db, run.id)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(InvalidTransitionError);
  });

  it('rejects a bad score or payload before the database and leaves the run running', async () => {
    const evaluation = await newEvaluation();
    const run = await createTestAgentResult(t.db, evaluation.id);
    await startAgentRun(t.db, run.id);
    const error = (await completeAgentRun(t.db, run.id, { outputData: [] as unknown as AgentOutputData, score: 100.5 }).catch(
      (e: unknown) => e,
    )) as ValidationError;
    expect(error.issues.map((i) => i.path)).toEqual(['outputData', 'score']);
    await expect(completeAgentRun(t.db, run.id, { outputData: OUTPUT, score: 12.345 })).rejects.toMatchObject({
      issues: [{ path: 'score', message: 'must have at most two decimals' }],
    });
    await expect(completeAgentRun(t.db, run.id, { outputData: { ...OUTPUT, summary: 'nul \u0000' } })).rejects.toMatchObject({
      issues: [{ path: 'outputData' }],
    });
    expect((await getAgentResult(t.db, run.id)).status).toBe('running');
  });
});

describe('listAgentResults', () => {
  it("lists one evaluation's results by agent type; an unknown evaluation has none", async () => {
    const evaluation = await newEvaluation();
    await createAgentRuns(t.db, evaluation.id, ['market-research', 'competitive-analysis', 'customer-research']);
    const other = await newEvaluation();
    await createAgentRuns(t.db, other.id, ['market-research']);
    expect((await listAgentResults(t.db, evaluation.id)).items.map((r) => r.agentType)).toEqual([
      'competitive-analysis',
      'customer-research',
      'market-research',
    ]);
    expect(await listAgentResults(t.db, MISSING)).toEqual({ items: [], nextCursor: null });
    await expect(listAgentResults(t.db, 'x')).rejects.toMatchObject({ issues: [{ path: 'evaluationId' }] });
  });

  it('pages by agent type with limit and cursor, and refuses a cursor it did not make', async () => {
    const evaluation = await newEvaluation();
    const types = ['agent-a', 'agent-b', 'agent-c', 'agent-d', 'agent-e'];
    await createAgentRuns(t.db, evaluation.id, [...types].reverse());
    const first = await listAgentResults(t.db, evaluation.id, { limit: 2 });
    const second = await listAgentResults(t.db, evaluation.id, { limit: 2, cursor: first.nextCursor! });
    const third = await listAgentResults(t.db, evaluation.id, { limit: 2, cursor: second.nextCursor! });
    expect([first, second, third].flatMap((page) => page.items.map((r) => r.agentType))).toEqual(types);
    expect(third.nextCursor).toBeNull();
    await expect(listAgentResults(t.db, evaluation.id, { cursor: 'not-a-cursor' })).rejects.toMatchObject({ issues: [{ path: 'cursor' }] });
  });
});

describe('scoreSummary', () => {
  it('computes runs, scored runs, average, min and max per agent type and overall', async () => {
    const evaluation = await newEvaluation();
    const at = (agentType: string, status: 'completed' | 'failed' | 'pending', score: number | null) =>
      createTestAgentResult(t.db, evaluation.id, {
        agentType,
        status,
        score,
        ...(status === 'pending' ? {} : { startedAt: new Date(), completedAt: new Date() }),
      });
    await at('market-research', 'completed', 78.5);
    await at('competitive-analysis', 'completed', 66);
    await at('customer-research', 'completed', 40.25);
    await at('pricing', 'failed', null);
    await at('regulatory', 'pending', null);
    // Another evaluation's scores do not leak in.
    const other = await newEvaluation();
    await createTestAgentResult(t.db, other.id, {
      agentType: 'market-research',
      status: 'completed',
      score: 1,
      startedAt: new Date(),
      completedAt: new Date(),
    });

    const summary = await scoreSummary(t.db, evaluation.id);
    expect(summary.evaluationId).toBe(evaluation.id);
    expect(summary.overall).toEqual({ runs: 5, scored: 3, average: 61.58, min: 40.25, max: 78.5 });
    expect(summary.byAgentType).toEqual([
      { agentType: 'competitive-analysis', runs: 1, scored: 1, average: 66, min: 66, max: 66 },
      { agentType: 'customer-research', runs: 1, scored: 1, average: 40.25, min: 40.25, max: 40.25 },
      { agentType: 'market-research', runs: 1, scored: 1, average: 78.5, min: 78.5, max: 78.5 },
      { agentType: 'pricing', runs: 1, scored: 0, average: null, min: null, max: null },
      { agentType: 'regulatory', runs: 1, scored: 0, average: null, min: null, max: null },
    ]);
  });

  it('gives zeros for an evaluation without results, and NotFoundError for a missing one', async () => {
    const evaluation = await newEvaluation();
    expect(await scoreSummary(t.db, evaluation.id)).toEqual({
      evaluationId: evaluation.id,
      overall: { runs: 0, scored: 0, average: null, min: null, max: null },
      byAgentType: [],
    });
    await expect(scoreSummary(t.db, MISSING)).rejects.toMatchObject({ name: 'NotFoundError', entity: 'evaluation' });
  });
});
