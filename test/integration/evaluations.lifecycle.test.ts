/**
 * The evaluations repository on a real database: create, get with agent results, list by idea and
 * by status with keyset pagination, and the transitions after a claim (complete, fail, retry,
 * renew, release), success and failure paths. claimNext itself: evaluations.claimNext.test.ts.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { EvaluationResults } from '../../src/schema/json.js';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../../src/errors.js';
import {
  claimNext,
  completeEvaluation,
  createEvaluation,
  failEvaluation,
  getEvaluation,
  listEvaluationsByIdea,
  listEvaluationsByStatus,
  releaseLease,
  renewLease,
  retryEvaluation,
} from '../../src/repositories/evaluations.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea, createTestAgentResult, createTestEvaluation, createTestIdea, createTestUser } from '../support/factories.js';

const t = useTestDatabase();
const MISSING = '00000000-0000-4000-8000-000000000000';

const RESULTS: EvaluationResults = {
  version: 1,
  overallScore: 72.5,
  recommendation: 'go',
  confidence: 0.8,
  summary: 'A real niche; pricing is the open question. It\'s "fine"; -- really $$',
  agentScores: [{ agentType: 'market-research', score: 78, weight: 1, status: 'completed' }],
  strengths: ['Underserved segment'],
  risks: [{ title: 'Long sales cycle', severity: 'medium' }],
  nextSteps: ['Interview ten clinic managers'],
  generatedAt: '2026-11-25T09:00:00.000Z',
};

/** An evaluation claimed by `workerId`, set up directly (claimNext has its own tests). */
async function analyzing(workerId = 'worker-a', ideaOverrides = {}) {
  const idea = await createSubmittedIdea(t.db, { status: 'evaluating', ...ideaOverrides });
  const evaluation = await createTestEvaluation(t.db, idea.id, {
    status: 'analyzing',
    startedAt: sql<Date>`now()`,
    claimedBy: workerId,
    leaseExpiresAt: sql<Date>`now() + interval '5 minutes'`,
  });
  return { idea, evaluation };
}

const ideaStatus = async (id: string) =>
  (await t.db.selectFrom('businessIdeas').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

describe('createEvaluation', () => {
  it('queues a pending evaluation of a submitted idea with the given priority (default normal)', async () => {
    const idea = await createSubmittedIdea(t.db);
    const high = await createEvaluation(t.db, idea.id, { priority: 'high' });
    const normal = await createEvaluation(t.db, idea.id);
    expect(high).toMatchObject({
      businessIdeaId: idea.id,
      status: 'pending',
      priority: 'high',
      startedAt: null,
      claimedBy: null,
      leaseExpiresAt: null,
      results: null,
    });
    expect(high.createdAt).toBeInstanceOf(Date);
    expect(normal.priority).toBe('normal');
    expect(await ideaStatus(idea.id)).toBe('submitted'); // the idea moves when a worker claims the run
  });

  it('accepts an idea already evaluating or completed (a re-run)', async () => {
    for (const status of ['evaluating', 'completed'] as const) {
      const idea = await createSubmittedIdea(t.db, { status });
      await expect(createEvaluation(t.db, idea.id)).resolves.toMatchObject({ status: 'pending' });
    }
  });

  it('refuses a draft or archived idea with InvalidTransitionError, and writes nothing', async () => {
    for (const status of ['draft', 'archived'] as const) {
      const idea = await createSubmittedIdea(t.db, { status });
      const error = await createEvaluation(t.db, idea.id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidTransitionError);
      expect(error).toMatchObject({ entity: 'business idea', id: idea.id, from: status, to: 'evaluating' });
      expect(await t.db.selectFrom('evaluations').select('id').where('businessIdeaId', '=', idea.id).execute()).toEqual([]);
    }
  });

  it('is NotFoundError for a missing or soft-deleted idea', async () => {
    await expect(createEvaluation(t.db, MISSING)).rejects.toThrow(NotFoundError);
    const deleted = await createSubmittedIdea(t.db, { deletedAt: new Date() });
    await expect(createEvaluation(t.db, deleted.id)).rejects.toMatchObject({
      name: 'NotFoundError',
      entity: 'business idea',
      id: deleted.id,
    });
  });

  it('rejects invalid input before the database, listing every field', async () => {
    const before = await t.db
      .selectFrom('evaluations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const error = (await createEvaluation(t.db, 'not-a-uuid', { priority: 'urgent' as 'high' }).catch(
      (e: unknown) => e,
    )) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues.map((i) => i.path)).toEqual(['businessIdeaId', 'priority']);
    const after = await t.db
      .selectFrom('evaluations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });
});

describe('getEvaluation', () => {
  it('returns the evaluation with its agent results ordered by agent type', async () => {
    const idea = await createSubmittedIdea(t.db);
    const evaluation = await createTestEvaluation(t.db, idea.id);
    await createTestAgentResult(t.db, evaluation.id, { agentType: 'market-research', inputData: JSON.stringify({ model: 'm1' }) });
    await createTestAgentResult(t.db, evaluation.id, { agentType: 'competitive-analysis' });
    const other = await createTestEvaluation(t.db, idea.id);
    await createTestAgentResult(t.db, other.id, { agentType: 'customer-research' });

    const found = await getEvaluation(t.db, evaluation.id);
    expect(found).toMatchObject({ id: evaluation.id, status: 'pending' });
    expect(found.agentResults.map((r) => r.agentType)).toEqual(['competitive-analysis', 'market-research']);
    expect(found.agentResults[1]?.inputData).toEqual({ model: 'm1' });
    expect(found.agentResults[0]?.createdAt).toBeInstanceOf(Date);
    expect((await getEvaluation(t.db, other.id)).agentResults).toHaveLength(1);
  });

  it('returns an empty list for an evaluation without agent results; NotFoundError for a missing one', async () => {
    const idea = await createSubmittedIdea(t.db);
    const evaluation = await createTestEvaluation(t.db, idea.id);
    expect((await getEvaluation(t.db, evaluation.id)).agentResults).toEqual([]);
    await expect(getEvaluation(t.db, MISSING)).rejects.toMatchObject({ name: 'NotFoundError', entity: 'evaluation' });
    await expect(getEvaluation(t.db, 'nope')).rejects.toThrow(ValidationError);
  });
});

describe('listEvaluationsByIdea and listEvaluationsByStatus', () => {
  it("pages through an idea's evaluations newest first, and stays correct while rows are inserted", async () => {
    const idea = await createSubmittedIdea(t.db);
    // Seven evaluations, two pairs sharing a created_at to the microsecond (the id breaks the tie).
    const times = [
      '2026-01-01T00:00:00.000001Z',
      '2026-01-01T00:00:00.000001Z',
      '2026-01-01T00:00:00.000002Z',
      '2026-01-02T00:00:00Z',
      '2026-01-02T00:00:00Z',
      '2026-01-03T00:00:00Z',
      '2026-01-04T00:00:00Z',
    ];
    for (const createdAt of times) await createTestEvaluation(t.db, idea.id, { createdAt });
    const expected = await t.db
      .selectFrom('evaluations')
      .select('id')
      .where('businessIdeaId', '=', idea.id)
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc')
      .execute();

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listEvaluationsByIdea(t.db, idea.id, { limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.id));
      expect(page.items.every((e) => !('cursorCreatedAt' in e))).toBe(true);
      cursor = page.nextCursor ?? undefined;
      // A new evaluation arriving mid-way is newer than the cursor: it neither shifts nor repeats rows.
      if (pages++ === 0) await createTestEvaluation(t.db, idea.id);
    } while (cursor);
    expect(seen).toEqual(expected.map((r) => r.id));
    expect(pages).toBe(3);
  });

  it('lists by status, newest first, and only that status', async () => {
    const idea = await createSubmittedIdea(t.db);
    const failedOld = await createTestEvaluation(t.db, idea.id, {
      status: 'failed',
      completedAt: new Date(),
      errorMessage: 'x',
      createdAt: '2020-01-01T00:00:00Z',
    });
    const failedNew = await createTestEvaluation(t.db, idea.id, {
      status: 'failed',
      completedAt: new Date(),
      errorMessage: 'y',
      createdAt: '2020-01-02T00:00:00Z',
    });
    const firstPage = await listEvaluationsByStatus(t.db, 'failed', { limit: 1 });
    expect(firstPage.items.map((e) => e.status)).toEqual(['failed']);
    const all = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof listEvaluationsByStatus>> = await listEvaluationsByStatus(t.db, 'failed', {
        limit: 1,
        ...(cursor ? { cursor } : {}),
      });
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(all.every((e) => e.status === 'failed')).toBe(true);
    const ids = all.map((e) => e.id);
    expect(ids.indexOf(failedNew.id)).toBeLessThan(ids.indexOf(failedOld.id));
  });

  it('rejects a tampered cursor, an unknown status and a bad limit with ValidationError', async () => {
    const idea = await createSubmittedIdea(t.db);
    const page = await listEvaluationsByIdea(t.db, idea.id);
    expect(page).toEqual({ items: [], nextCursor: null });
    await expect(listEvaluationsByIdea(t.db, idea.id, { cursor: 'eyJ0IjoieCJ9' })).rejects.toMatchObject({ issues: [{ path: 'cursor' }] });
    await expect(listEvaluationsByStatus(t.db, 'done' as 'failed', { limit: 500 })).rejects.toMatchObject({
      issues: [{ path: 'status' }, { path: 'limit' }],
    });
  });
});

describe('completeEvaluation', () => {
  it('completes an analyzing run with its results and moves the idea to completed', async () => {
    const { idea, evaluation } = await analyzing();
    const completed = await completeEvaluation(t.db, evaluation.id, { results: RESULTS, workerId: 'worker-a', attempt: 0 });
    expect(completed).toMatchObject({ status: 'completed', leaseExpiresAt: null, claimedBy: 'worker-a', results: RESULTS });
    expect(completed.completedAt!.getTime()).toBeGreaterThanOrEqual(completed.startedAt!.getTime());
    expect((await getEvaluation(t.db, evaluation.id)).results).toEqual(RESULTS);
    expect(await ideaStatus(idea.id)).toBe('completed');
  });

  it('without a token, completes whoever holds it', async () => {
    const { evaluation } = await analyzing('worker-z');
    await expect(completeEvaluation(t.db, evaluation.id, { results: RESULTS })).resolves.toMatchObject({ status: 'completed' });
  });

  it('rejects a worker that does not hold the lease, and changes nothing', async () => {
    const { idea, evaluation } = await analyzing('worker-a');
    const error = await completeEvaluation(t.db, evaluation.id, { results: RESULTS, workerId: 'worker-b', attempt: 0 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidTransitionError);
    expect(error).toMatchObject({
      code: 'STALE_ATTEMPT',
      from: 'analyzing',
      to: 'completed',
      message: expect.stringContaining('another worker holds attempt 0'),
    });
    expect((await getEvaluation(t.db, evaluation.id)).status).toBe('analyzing');
    expect(await ideaStatus(idea.id)).toBe('evaluating');
  });

  it('only from analyzing: pending, completed and failed runs are InvalidTransitionError; a missing one NotFoundError', async () => {
    const idea = await createSubmittedIdea(t.db);
    const pending = await createTestEvaluation(t.db, idea.id);
    await expect(completeEvaluation(t.db, pending.id, { results: RESULTS })).rejects.toMatchObject({
      name: 'InvalidTransitionError',
      from: 'pending',
    });
    const { evaluation } = await analyzing();
    await completeEvaluation(t.db, evaluation.id, { results: RESULTS });
    await expect(completeEvaluation(t.db, evaluation.id, { results: RESULTS })).rejects.toMatchObject({
      name: 'InvalidTransitionError',
      from: 'completed',
    });
    await expect(completeEvaluation(t.db, MISSING, { results: RESULTS })).rejects.toThrow(NotFoundError);
  });

  it('exactly one of ten concurrent completions wins', async () => {
    const { evaluation } = await analyzing();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => completeEvaluation(t.db, evaluation.id, { results: RESULTS })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const losers = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(losers).toHaveLength(9);
    for (const loser of losers) expect(loser.reason).toBeInstanceOf(InvalidTransitionError);
  });

  it('leaves an idea that is no longer evaluating (archived meanwhile) as it is, and still completes', async () => {
    const { idea, evaluation } = await analyzing('worker-a', { status: 'archived' });
    await expect(completeEvaluation(t.db, evaluation.id, { results: RESULTS })).resolves.toMatchObject({ status: 'completed' });
    expect(await ideaStatus(idea.id)).toBe('archived');
  });

  it('rolls back the evaluation when the idea update fails (one transaction)', async () => {
    const { idea, evaluation } = await analyzing();
    // A constraint only this test's rows can trip: the idea may not become completed.
    await sql`ALTER TABLE business_ideas ADD CONSTRAINT test_no_completed_check CHECK (status <> 'completed' OR id <> ${sql.lit(idea.id)}::uuid) NOT VALID`.execute(
      t.db,
    );
    try {
      const error = await completeEvaluation(t.db, evaluation.id, { results: RESULTS }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]?.path).toBe('test_no_completed_check');
    } finally {
      await sql`ALTER TABLE business_ideas DROP CONSTRAINT test_no_completed_check`.execute(t.db);
    }
    expect(await getEvaluation(t.db, evaluation.id)).toMatchObject({
      status: 'analyzing',
      results: null,
      completedAt: null,
      claimedBy: 'worker-a',
    });
    expect(await ideaStatus(idea.id)).toBe('evaluating');
  });

  it('runs inside a caller transaction, and rolls back with it', async () => {
    const { idea, evaluation } = await analyzing();
    await expect(
      t.database.transaction(t.db, async (trx) => {
        await completeEvaluation(trx, evaluation.id, { results: RESULTS });
        expect(await trx.selectFrom('businessIdeas').select('status').where('id', '=', idea.id).executeTakeFirstOrThrow()).toEqual({
          status: 'completed',
        });
        throw new Error('caller changed its mind');
      }),
    ).rejects.toThrow('caller changed its mind');
    expect((await getEvaluation(t.db, evaluation.id)).status).toBe('analyzing');
    expect(await ideaStatus(idea.id)).toBe('evaluating');
  });

  it('rejects results that are not a JSON object before the database', async () => {
    const { evaluation } = await analyzing();
    await expect(completeEvaluation(t.db, evaluation.id, { results: 'great' as unknown as EvaluationResults })).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [{ path: 'results' }],
    });
    expect((await getEvaluation(t.db, evaluation.id)).status).toBe('analyzing');
  });
});

describe('failEvaluation and retryEvaluation', () => {
  it('fails an analyzing run for good without a token (an operator), and queues it again on retry', async () => {
    const { idea, evaluation } = await analyzing('worker-a');
    await expect(failEvaluation(t.db, evaluation.id, { errorMessage: 'nope', workerId: 'worker-b', attempt: 0 })).rejects.toMatchObject({
      name: 'StaleAttemptError',
      message: expect.stringContaining('another worker holds attempt 0'),
    });
    const message = 'market-research agent timed out; it\'s "late" -- $$ \u{1F600}';
    const failed = await failEvaluation(t.db, evaluation.id, { errorMessage: message });
    expect(failed).toMatchObject({ status: 'failed', errorMessage: message, leaseExpiresAt: null });
    expect(failed.completedAt).toBeInstanceOf(Date);
    expect(await ideaStatus(idea.id)).toBe('evaluating');

    const queued = await retryEvaluation(t.db, evaluation.id);
    expect(queued).toMatchObject({
      status: 'pending',
      startedAt: null,
      completedAt: null,
      claimedBy: null,
      leaseExpiresAt: null,
      errorMessage: message,
      failures: 0,
    });
    await expect(retryEvaluation(t.db, evaluation.id)).rejects.toMatchObject({
      name: 'InvalidTransitionError',
      from: 'pending',
      to: 'pending',
      message: expect.stringContaining('only from failed or dead'),
    });

    // The message is kept while the retry waits and runs, and cleared when it completes. (Claimed
    // as analyzing() does: other tests' pending runs share the queue.)
    await t.db
      .updateTable('evaluations')
      .set({
        status: 'analyzing',
        startedAt: sql<Date>`now()`,
        claimedBy: 'worker-c',
        leaseExpiresAt: sql<Date>`now() + interval '5 minutes'`,
      })
      .where('id', '=', evaluation.id)
      .execute();
    expect((await getEvaluation(t.db, evaluation.id)).errorMessage).toBe(message);
    const completed = await completeEvaluation(t.db, evaluation.id, { results: RESULTS, workerId: 'worker-c', attempt: 0 });
    expect(completed).toMatchObject({ status: 'completed', errorMessage: null });
    expect((await getEvaluation(t.db, evaluation.id)).errorMessage).toBeNull();
  });

  it('fails a pending run without a worker; refuses to fail one that ended; NotFoundError for a missing one', async () => {
    const idea = await createSubmittedIdea(t.db);
    const pending = await createTestEvaluation(t.db, idea.id);
    await expect(failEvaluation(t.db, pending.id, { errorMessage: 'cancelled', workerId: 'w', attempt: 0 })).rejects.toMatchObject({
      code: 'STALE_ATTEMPT',
      from: 'pending',
    });
    await expect(failEvaluation(t.db, pending.id, { errorMessage: 'cancelled' })).resolves.toMatchObject({
      status: 'failed',
      startedAt: null,
    });
    await expect(failEvaluation(t.db, pending.id, { errorMessage: 'again' })).rejects.toMatchObject({
      name: 'InvalidTransitionError',
      from: 'failed',
    });
    await expect(failEvaluation(t.db, MISSING, { errorMessage: 'x' })).rejects.toThrow(NotFoundError);
    await expect(retryEvaluation(t.db, MISSING)).rejects.toThrow(NotFoundError);
    await expect(failEvaluation(t.db, pending.id, { errorMessage: '  ' })).rejects.toMatchObject({ issues: [{ path: 'errorMessage' }] });
  });
});

describe('renewLease and releaseLease', () => {
  it('renews the holder’s lease from now, and refuses anyone else', async () => {
    const { evaluation } = await analyzing('worker-a');
    await t.db
      .updateTable('evaluations')
      .set({ leaseExpiresAt: sql<Date>`now() - interval '1 minute'` })
      .where('id', '=', evaluation.id)
      .execute();
    // Expired but not claimed again: still the holder's to renew.
    const renewed = await renewLease(t.db, evaluation.id, { workerId: 'worker-a', attempt: 0, leaseSeconds: 600 });
    const { now } = await sql<{ now: Date }>`select statement_timestamp() as now`.execute(t.db).then((r) => r.rows[0]!);
    expect(renewed.leaseExpiresAt!.getTime() - now.getTime()).toBeGreaterThan(590_000);
    expect(renewed.leaseExpiresAt!.getTime() - now.getTime()).toBeLessThanOrEqual(600_000);
    await expect(renewLease(t.db, evaluation.id, { workerId: 'worker-b', attempt: 0 })).rejects.toMatchObject({
      name: 'StaleAttemptError',
      from: 'analyzing',
    });
    await expect(renewLease(t.db, MISSING, { workerId: 'worker-a', attempt: 0 })).rejects.toThrow(NotFoundError);
    await expect(renewLease(t.db, evaluation.id, { workerId: 'worker-a', attempt: 0, leaseSeconds: 0 })).rejects.toMatchObject({
      issues: [{ path: 'leaseSeconds' }],
    });
  });

  it('releases the run back to pending (holder only), so the next claim gets it', async () => {
    const { evaluation } = await analyzing('worker-a');
    await expect(releaseLease(t.db, evaluation.id, { workerId: 'worker-b', attempt: 0 })).rejects.toThrow(InvalidTransitionError);
    const released = await releaseLease(t.db, evaluation.id, { workerId: 'worker-a', attempt: 0 });
    expect(released).toMatchObject({ status: 'pending', startedAt: null, claimedBy: null, leaseExpiresAt: null });
    await expect(releaseLease(t.db, evaluation.id, { workerId: 'worker-a', attempt: 0 })).rejects.toMatchObject({
      code: 'STALE_ATTEMPT',
      from: 'pending',
    });
  });
});

describe('the lease CHECKs (second line behind the repository)', () => {
  it('refuse an analyzing run without a lease or holder, and a pending one with a holder', async () => {
    const idea = await createTestIdea(t.db, (await createTestUser(t.db)).id, { status: 'submitted' });
    const now = sql<Date>`now()`;
    await expect(createTestEvaluation(t.db, idea.id, { status: 'analyzing', startedAt: now, claimedBy: 'w' })).rejects.toMatchObject({
      issues: [{ path: 'evaluations_status_lease_check' }],
    });
    await expect(createTestEvaluation(t.db, idea.id, { status: 'analyzing', startedAt: now, leaseExpiresAt: now })).rejects.toMatchObject({
      issues: [{ path: 'evaluations_status_claimed_by_check' }],
    });
    await expect(createTestEvaluation(t.db, idea.id, { claimedBy: 'w' })).rejects.toMatchObject({
      issues: [{ path: 'evaluations_status_claimed_by_check' }],
    });
    await expect(createTestEvaluation(t.db, idea.id, { leaseExpiresAt: now })).rejects.toMatchObject({
      issues: [{ path: 'evaluations_status_lease_check' }],
    });
    await expect(
      createTestEvaluation(t.db, idea.id, { status: 'analyzing', startedAt: now, claimedBy: '  ', leaseExpiresAt: now }),
    ).rejects.toMatchObject({ issues: [{ path: 'evaluations_claimed_by_format_check' }] });
    // A finished run may keep its holder as a record, but not a lease.
    await expect(
      createTestEvaluation(t.db, idea.id, { status: 'completed', startedAt: now, completedAt: now, claimedBy: 'w' }),
    ).resolves.toBeDefined();
    await expect(
      createTestEvaluation(t.db, idea.id, { status: 'completed', startedAt: now, completedAt: now, claimedBy: 'w', leaseExpiresAt: now }),
    ).rejects.toMatchObject({ issues: [{ path: 'evaluations_status_lease_check' }] });
  });
});

// claimNext appears here only to show that a claimed run completes end to end.
it('claim -> complete, end to end', async () => {
  await t.db.deleteFrom('evaluations').execute();
  const idea = await createSubmittedIdea(t.db);
  const created = await createEvaluation(t.db, idea.id);
  const claimed = await claimNext(t.db, 'worker-e2e');
  expect(claimed).toMatchObject({ id: created.id, attempt: 1 });
  expect(await ideaStatus(idea.id)).toBe('evaluating');
  await completeEvaluation(t.db, created.id, { results: RESULTS, workerId: 'worker-e2e', attempt: claimed!.attempt });
  expect(await ideaStatus(idea.id)).toBe('completed');
});
