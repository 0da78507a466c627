/**
 * claimNext on a real database: which run comes next (expired leases, then priority, then age),
 * the lease it sets and its expiry, the idea following in the same transaction (and rolling back
 * with it), caller transactions, and the indexes its lookups use. 50 concurrent workers:
 * evaluations.claimNext.concurrency.test.ts.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EvaluationResults } from '../../src/schema/json.js';
import { InvalidTransitionError, ValidationError } from '../../src/errors.js';
import { claimNext, completeEvaluation, createEvaluation, getEvaluation, renewLease } from '../../src/repositories/evaluations.js';
import { captureSql } from '../support/sql-capture.js';
import { useTestDatabase } from '../support/database.js';
import { expireLease } from '../support/queue.js';
import { createSubmittedIdea, createTestEvaluation } from '../support/factories.js';

const t = useTestDatabase();

const RESULTS: EvaluationResults = {
  version: 1,
  overallScore: 50,
  recommendation: 'pivot',
  confidence: 0.5,
  summary: 'Completed by whichever worker held the run.',
  agentScores: [],
  strengths: [],
  risks: [],
  nextSteps: [],
  generatedAt: '2026-11-25T09:00:00.000Z',
};

// Every test starts with an empty queue, so the run it expects is the only candidate.
beforeEach(async () => {
  await t.db.deleteFrom('evaluations').execute();
});

const ideaStatus = async (id: string) =>
  (await t.db.selectFrom('businessIdeas').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

describe('claimNext', () => {
  it('claims the pending run: analyzing, started now, held by the worker until the lease ends; the idea becomes evaluating', async () => {
    const idea = await createSubmittedIdea(t.db);
    const evaluation = await createEvaluation(t.db, idea.id);
    const claimed = await claimNext(t.db, 'worker-1', { leaseSeconds: 90 });
    expect(claimed).toMatchObject({ id: evaluation.id, status: 'analyzing', claimedBy: 'worker-1', completedAt: null });
    const { now } = await sql<{ now: Date }>`select statement_timestamp() as now`.execute(t.db).then((r) => r.rows[0]!);
    expect(claimed!.startedAt!.getTime()).toBeLessThanOrEqual(now.getTime());
    const lease = claimed!.leaseExpiresAt!.getTime() - claimed!.startedAt!.getTime();
    expect(lease).toBeGreaterThanOrEqual(90_000);
    expect(lease).toBeLessThan(95_000);
    expect(await ideaStatus(idea.id)).toBe('evaluating');
  });

  it('returns null when there is nothing to claim (and changes nothing)', async () => {
    expect(await claimNext(t.db, 'worker-1')).toBeNull();
    const idea = await createSubmittedIdea(t.db);
    const { id } = await createEvaluation(t.db, idea.id);
    await claimNext(t.db, 'worker-1');
    // The only run is held under a live lease.
    expect(await claimNext(t.db, 'worker-2')).toBeNull();
    expect((await getEvaluation(t.db, id)).claimedBy).toBe('worker-1');
  });

  it('serves high priority first, then the oldest; the same priority by age', async () => {
    const idea = await createSubmittedIdea(t.db);
    const at = (day: number) => `2026-01-0${day}T00:00:00Z`;
    const lowOld = await createTestEvaluation(t.db, idea.id, { priority: 'low', createdAt: at(1) });
    const normalNew = await createTestEvaluation(t.db, idea.id, { priority: 'normal', createdAt: at(5) });
    const highNew = await createTestEvaluation(t.db, idea.id, { priority: 'high', createdAt: at(4) });
    const highOld = await createTestEvaluation(t.db, idea.id, { priority: 'high', createdAt: at(2) });
    const normalOld = await createTestEvaluation(t.db, idea.id, { priority: 'normal', createdAt: at(3) });
    const order = [];
    for (let i = 0; i < 6; i++) order.push((await claimNext(t.db, 'worker-1'))?.id ?? null);
    expect(order).toEqual([highOld.id, highNew.id, normalOld.id, normalNew.id, lowOld.id, null]);
  });

  it('serves expired leases before pending work (longest expired first), whatever their priority', async () => {
    const idea = await createSubmittedIdea(t.db, { status: 'evaluating' });
    const pendingHigh = await createTestEvaluation(t.db, idea.id, { priority: 'high', createdAt: '2026-01-01T00:00:00Z' });
    const crashed = (secondsAgo: number) =>
      createTestEvaluation(t.db, idea.id, {
        priority: 'low',
        status: 'analyzing',
        startedAt: sql<Date>`now() - interval '1 hour'`,
        claimedBy: 'dead-worker',
        leaseExpiresAt: sql<Date>`now() - make_interval(secs => ${secondsAgo})`,
      });
    const recent = await crashed(5);
    const old = await crashed(60);
    const live = await createTestEvaluation(t.db, idea.id, {
      status: 'analyzing',
      startedAt: sql<Date>`now()`,
      claimedBy: 'live-worker',
      leaseExpiresAt: sql<Date>`now() + interval '1 minute'`,
    });

    const order = [];
    for (let i = 0; i < 4; i++) order.push((await claimNext(t.db, 'worker-2'))?.id ?? null);
    expect(order).toEqual([old.id, recent.id, pendingHigh.id, null]);
    expect((await getEvaluation(t.db, old.id)).claimedBy).toBe('worker-2');
    expect((await getEvaluation(t.db, live.id)).claimedBy).toBe('live-worker');
  });

  it('a 1 s lease runs out: another worker claims the run, and the first one can no longer complete or renew it', async () => {
    const idea = await createSubmittedIdea(t.db);
    const { id } = await createEvaluation(t.db, idea.id);
    const first = await claimNext(t.db, 'worker-a', { leaseSeconds: 1 });
    expect(first?.id).toBe(id);
    expect(await claimNext(t.db, 'worker-b')).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const second = await claimNext(t.db, 'worker-b');
    expect(second).toMatchObject({ id, claimedBy: 'worker-b' });
    expect(second!.startedAt!.getTime()).toBeGreaterThan(first!.startedAt!.getTime());

    expect(second).toMatchObject({ attempt: 2, failures: 1 });

    const late = await completeEvaluation(t.db, id, { results: RESULTS, workerId: 'worker-a', attempt: first!.attempt }).catch(
      (e: unknown) => e,
    );
    expect(late).toBeInstanceOf(InvalidTransitionError);
    expect((late as Error).message).toContain('attempt 2 holds the run now');
    await expect(renewLease(t.db, id, { workerId: 'worker-a', attempt: first!.attempt })).rejects.toThrow(InvalidTransitionError);
    await expect(completeEvaluation(t.db, id, { results: RESULTS, workerId: 'worker-b', attempt: second!.attempt })).resolves.toMatchObject(
      {
        status: 'completed',
        claimedBy: 'worker-b',
      },
    );
    expect(await ideaStatus(idea.id)).toBe('completed');
  });

  it('re-claiming an expired run leaves its evaluating idea evaluating', async () => {
    const idea = await createSubmittedIdea(t.db);
    const { id } = await createEvaluation(t.db, idea.id);
    await claimNext(t.db, 'worker-a');
    await expireLease(t.db, id);
    await expect(claimNext(t.db, 'worker-b')).resolves.toMatchObject({ id, claimedBy: 'worker-b' });
    expect(await ideaStatus(idea.id)).toBe('evaluating');
  });

  it('claims a run whose idea was archived or soft-deleted meanwhile, leaving the idea alone', async () => {
    const archived = await createSubmittedIdea(t.db);
    await createEvaluation(t.db, archived.id);
    await t.db.updateTable('businessIdeas').set({ status: 'archived' }).where('id', '=', archived.id).execute();
    await expect(claimNext(t.db, 'worker-1')).resolves.toMatchObject({ businessIdeaId: archived.id });
    expect(await ideaStatus(archived.id)).toBe('archived');

    const deleted = await createSubmittedIdea(t.db);
    await createEvaluation(t.db, deleted.id);
    await t.db.updateTable('businessIdeas').set({ deletedAt: new Date() }).where('id', '=', deleted.id).execute();
    await expect(claimNext(t.db, 'worker-1')).resolves.toMatchObject({ businessIdeaId: deleted.id });
    expect(await ideaStatus(deleted.id)).toBe('submitted');
  });

  it('rolls the claim back when the idea update fails: the run stays pending and unclaimed', async () => {
    const idea = await createSubmittedIdea(t.db);
    const { id } = await createEvaluation(t.db, idea.id);
    await sql`ALTER TABLE business_ideas ADD CONSTRAINT test_no_evaluating_check CHECK (status <> 'evaluating' OR id <> ${sql.lit(idea.id)}::uuid) NOT VALID`.execute(
      t.db,
    );
    try {
      const error = await claimNext(t.db, 'worker-1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]?.path).toBe('test_no_evaluating_check');
    } finally {
      await sql`ALTER TABLE business_ideas DROP CONSTRAINT test_no_evaluating_check`.execute(t.db);
    }
    expect(await getEvaluation(t.db, id)).toMatchObject({ status: 'pending', claimedBy: null, leaseExpiresAt: null, startedAt: null });
    expect(await ideaStatus(idea.id)).toBe('submitted');
    await expect(claimNext(t.db, 'worker-1')).resolves.toMatchObject({ id });
  });

  it("runs in the caller's transaction when given one, and rolls back with it", async () => {
    const idea = await createSubmittedIdea(t.db);
    const { id } = await createEvaluation(t.db, idea.id);
    await expect(
      t.database.transaction(t.db, async (trx) => {
        expect(trx.isTransaction).toBe(true);
        await expect(claimNext(trx, 'worker-1')).resolves.toMatchObject({ id });
        throw new Error('the caller gives up');
      }),
    ).rejects.toThrow('the caller gives up');
    expect(await getEvaluation(t.db, id)).toMatchObject({ status: 'pending', claimedBy: null });
    expect(await ideaStatus(idea.id)).toBe('submitted');
  });

  it('rejects a bad worker id or lease before the database', async () => {
    const idea = await createSubmittedIdea(t.db);
    const { id } = await createEvaluation(t.db, idea.id);
    const error = (await claimNext(t.db, ' ', { leaseSeconds: 0 }).catch((e: unknown) => e)) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues.map((i) => i.path)).toEqual(['workerId', 'leaseSeconds']);
    expect((await getEvaluation(t.db, id)).status).toBe('pending');
  });

  it('finds its candidates through the queue and lease indexes (no sequential scan)', async () => {
    // Enough rows of every status that the indexes matter, then the plan of the exact SQL claimNext sends.
    const idea = await createSubmittedIdea(t.db);
    await sql`
      INSERT INTO evaluations (business_idea_id, status, priority, started_at, completed_at, claimed_by, lease_expires_at)
      SELECT ${idea.id}, s, 'normal', CASE WHEN s <> 'pending' THEN now() END, CASE WHEN s IN ('completed', 'failed') THEN now() END,
             CASE WHEN s <> 'pending' THEN 'w' END, CASE WHEN s = 'analyzing' THEN now() + interval '1 hour' END
        FROM generate_series(1, 200) g, unnest('{pending,analyzing,completed,failed}'::evaluation_status[]) s`.execute(t.db);
    await sql`ANALYZE evaluations`.execute(t.db);
    const [claim] = await captureSql().queriesOf((db) => claimNext(db, 'w'));
    if (!claim) throw new Error('claimNext sent no query');
    const client = new pg.Client({ connectionString: t.testDatabase.url });
    await client.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${claim.sql}`, [...claim.parameters]);
      const plan = JSON.stringify(rows[0]['QUERY PLAN']);
      expect(plan).toContain('"Index Name":"evaluations_lease_expires_at_idx"');
      expect(plan).toContain('"Index Name":"evaluations_pending_queue_idx"');
      expect(plan).toContain('"Index Name":"evaluations_pkey"');
      expect(plan).not.toContain('Seq Scan');
      expect(plan).not.toContain('"Node Type":"Sort"');
    } finally {
      await client.end();
    }
  });
});
