/**
 * Per-user isolation (migration 20261125110000): through the app role, row-level security shows a
 * transaction only the business ideas, evaluations and agent results of the user named by
 * `database.withUser(userId, fn)`; without a user it shows nothing. The evaluation workers' role
 * sees the work in flight of every user, and nothing else. Tried through uniquely named LOGIN
 * roles (dropped in afterAll) on this file's database; fixtures are written as the owner.
 */
import { sql, type QueryExecutorProvider } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { NotFoundError, QueryError, ValidationError } from '../../src/errors.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import type { Executor } from '../../src/repositories/executor.js';
import type { EvaluationResults } from '../../src/schema/json.js';
import { useTestDatabase } from '../support/database.js';
import { createTestAgentResult, createTestEvaluation, createTestIdea, createTestUser, ideaDescription } from '../support/factories.js';
import { useRoleConnections } from '../support/roles.js';

const t = useTestDatabase();
const connectAs = useRoleConnections(t);

interface Owned {
  userId: string;
  ideaId: string;
  evaluationId: string;
  agentResultId: string;
}

/** A user with an idea, an evaluation of it and an agent result, written as the owner. */
async function ownedRows(): Promise<Owned> {
  const user = await createTestUser(t.db);
  const idea = await createTestIdea(t.db, user.id, { status: 'submitted' });
  const evaluation = await createTestEvaluation(t.db, idea.id, {
    status: 'failed',
    completedAt: new Date(),
    errorMessage: 'agent timed out',
  });
  const result = await createTestAgentResult(t.db, evaluation.id);
  return { userId: user.id, ideaId: idea.id, evaluationId: evaluation.id, agentResultId: result.id };
}

const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();

/** The SQLSTATE `run` fails with (undefined when it succeeds). */
async function sqlStateOf(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    if (error instanceof QueryError) return error.sqlState;
    throw error;
  }
}

describe('the app role', () => {
  let app: Database;
  let a: Owned;
  let b: Owned;
  beforeAll(async () => {
    app = await connectAs('ai_validation_app');
    a = await ownedRows();
    b = await ownedRows();
  });

  it("shows user A only A's ideas, evaluations and agent results, even to hand-written SQL", async () => {
    await app.withUser(a.userId, async (trx) => {
      // Unfiltered queries: the policies do the filtering.
      expect(ids(await trx.selectFrom('businessIdeas').select('id').execute())).toEqual([a.ideaId]);
      expect(ids(await trx.selectFrom('evaluations').select('id').execute())).toEqual([a.evaluationId]);
      expect(ids(await trx.selectFrom('agentResults').select('id').execute())).toEqual([a.agentResultId]);
      const raw = await sql<{ n: number }>`SELECT (SELECT count(*) FROM business_ideas)::int + (SELECT count(*) FROM evaluations)::int
        + (SELECT count(*) FROM agent_results)::int AS n`.execute(trx);
      expect(raw.rows[0]?.n).toBe(3);
      // Asking for B's rows by id, directly or by joins, finds nothing.
      const byId = await sql`SELECT i.id FROM business_ideas i LEFT JOIN evaluations e ON e.business_idea_id = i.id
        LEFT JOIN agent_results r ON r.evaluation_id = e.id WHERE i.id = ${b.ideaId} OR e.id = ${b.evaluationId} OR r.id = ${b.agentResultId}`.execute(
        trx,
      );
      expect(byId.rows).toEqual([]);
    });
    // The owner sees both users' rows (ENABLE, not FORCE).
    expect((await t.db.selectFrom('businessIdeas').select('id').where('id', 'in', [a.ideaId, b.ideaId]).execute()).length).toBe(2);
  });

  it("through the repositories: B's idea is not found for A, and A's list holds only A's ideas", async () => {
    await app.withUser(a.userId, async (trx) => {
      await expect(businessIdeas.getIdea(trx, b.ideaId)).rejects.toThrow(NotFoundError);
      await expect(evaluations.getEvaluation(trx, b.evaluationId)).rejects.toThrow(NotFoundError);
      await expect(agentResults.getAgentResult(trx, b.agentResultId)).rejects.toThrow(NotFoundError);
      expect((await businessIdeas.listIdeasByUser(trx, b.userId)).items).toEqual([]);
      expect(ids((await businessIdeas.listIdeasByUser(trx, a.userId)).items)).toEqual([a.ideaId]);
      expect((await evaluations.getEvaluation(trx, a.evaluationId)).agentResults.map((r) => r.id)).toEqual([a.agentResultId]);
    });
  });

  it("cannot update or delete B's rows: the statements match nothing, and B's rows are unchanged", async () => {
    const before = await snapshotOf(b);
    await app.withUser(a.userId, async (trx) => {
      const counts = [
        await sql`UPDATE business_ideas SET title = 'Stolen by A' WHERE id = ${b.ideaId}`.execute(trx),
        await sql`UPDATE business_ideas SET user_id = ${a.userId} WHERE id = ${b.ideaId}`.execute(trx),
        await sql`UPDATE evaluations SET error_message = 'tampered' WHERE id = ${b.evaluationId}`.execute(trx),
        await sql`UPDATE agent_results SET score = 0 WHERE id = ${b.agentResultId}`.execute(trx),
        await sql`DELETE FROM agent_results WHERE id = ${b.agentResultId}`.execute(trx),
        await sql`DELETE FROM evaluations WHERE id = ${b.evaluationId}`.execute(trx),
        await sql`DELETE FROM business_ideas WHERE user_id = ${b.userId}`.execute(trx),
        await sql`DELETE FROM business_ideas WHERE id <> ${a.ideaId}`.execute(trx),
      ].map((r) => Number(r.numAffectedRows));
      expect(counts).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      await expect(businessIdeas.updateIdeaContent(trx, b.ideaId, { title: 'Stolen by A' })).rejects.toThrow(NotFoundError);
    });
    expect(await snapshotOf(b)).toEqual(before);
  });

  it("cannot write rows for B: an idea for B, an evaluation of B's idea, an agent result of B's evaluation, or moving its own idea to B (42501)", async () => {
    const asA = (run: (trx: Executor<'user'>) => Promise<unknown>) => sqlStateOf(() => app.withUser(a.userId, run));
    expect(
      await asA((trx) =>
        trx.insertInto('businessIdeas').values({ userId: b.userId, title: 'Planted idea', description: ideaDescription() }).execute(),
      ),
    ).toBe('42501');
    expect(await asA((trx) => trx.insertInto('evaluations').values({ businessIdeaId: b.ideaId }).execute())).toBe('42501');
    expect(
      await asA((trx) => trx.insertInto('agentResults').values({ evaluationId: b.evaluationId, agentType: 'planted' }).execute()),
    ).toBe('42501');
    expect(await asA((trx) => trx.updateTable('businessIdeas').set({ userId: b.userId }).where('id', '=', a.ideaId).execute())).toBe(
      '42501',
    );
    expect(
      await asA((trx) => trx.updateTable('evaluations').set({ businessIdeaId: b.ideaId }).where('id', '=', a.evaluationId).execute()),
    ).toBe('42501');
    // The repository refuses too (its insert selects the idea, which A cannot see).
    await expect(app.withUser(a.userId, (trx) => evaluations.createEvaluation(trx, b.ideaId))).rejects.toThrow(NotFoundError);
    expect((await t.db.selectFrom('businessIdeas').select('userId').where('id', '=', a.ideaId).executeTakeFirstOrThrow()).userId).toBe(
      a.userId,
    );
  });

  it("writes A's own rows normally: create, evaluate, record agent results, delete", async () => {
    await app.withUser(a.userId, async (trx) => {
      const idea = await businessIdeas.createIdea(trx, a.userId, { title: 'Isolated idea of A', description: ideaDescription() });
      await businessIdeas.setIdeaStatus(trx, idea.id, 'submitted');
      const evaluation = await evaluations.createEvaluation(trx, idea.id, { priority: 'low' });
      const [run] = await agentResults.createAgentRuns(trx, evaluation.id, ['market-research']);
      expect(run).toMatchObject({ evaluationId: evaluation.id, status: 'pending' });
      await trx.deleteFrom('businessIdeas').where('id', '=', idea.id).execute();
    });
  });

  it('shows nothing without a user: plain queries, transactions without userId, and after withUser on the same connection', async () => {
    const single = await connectAs('ai_validation_app', 1);
    const pid = async (db: QueryExecutorProvider) => (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid;
    const visible = async (db: QueryExecutorProvider) =>
      (
        await sql<{ n: number }>`SELECT (SELECT count(*) FROM business_ideas)::int + (SELECT count(*) FROM evaluations)::int
        + (SELECT count(*) FROM agent_results)::int AS n`.execute(db)
      ).rows[0]!.n;

    expect(await visible(single.db)).toBe(0);
    const pids = new Set<number>();
    await single.withUser(a.userId, async (trx) => {
      pids.add(await pid(trx));
      expect(await visible(trx)).toBe(3);
    });
    // Same connection, next statement and next transaction: the setting ended with the transaction.
    pids.add(await pid(single.db));
    expect(await visible(single.db)).toBe(0);
    expect(await single.transaction(single.db, (trx) => visible(trx))).toBe(0);
    const setting = await sql<{ v: string | null }>`SELECT current_setting('app.user_id', true) AS v`.execute(single.db);
    expect(setting.rows[0]?.v ?? '').toBe('');
    // A withUser that fails rolls the setting back as well.
    await expect(
      single.withUser(b.userId, async () => {
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    pids.add(await pid(single.db));
    expect(await visible(single.db)).toBe(0);
    expect(pids.size).toBe(1);
  });

  it('fails closed on a malformed user setting, and withUser refuses a non-UUID before touching the database', async () => {
    const error = await app.db
      .transaction()
      .execute(async (trx) => {
        await sql`SELECT set_config('app.user_id', ${"' OR true --"}, true)`.execute(trx);
        return trx.selectFrom('businessIdeas').select('id').execute();
      })
      .catch((e: unknown) => e);
    // 22P02 (not a uuid), mapped to a ValidationError: an error, never a match.
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).cause).toMatchObject({ code: '22P02' });
    const before = app.stats().queries;
    await expect(app.withUser('not-a-uuid', async () => 1)).rejects.toThrow(ValidationError);
    await expect(app.withUser('', async () => 1)).rejects.toThrow(ValidationError);
    expect(app.stats().queries).toBe(before);
  });

  it('withUser with an explicit actorId acts as the user and names that actor in the audit log', async () => {
    await app.withUser(
      a.userId,
      async (trx) => {
        expect(ids(await trx.selectFrom('businessIdeas').select('id').execute())).toEqual([a.ideaId]);
        await trx.updateTable('businessIdeas').set({ title: 'Renamed by support' }).where('id', '=', a.ideaId).execute();
      },
      { actorId: 'support:42' },
    );
    const last = await t.db
      .selectFrom('auditLog')
      .select('actor')
      .where('rowId', '=', a.ideaId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(last.actor).toBe('support:42');
  });
});

describe('the worker role', () => {
  let worker: Database;
  beforeAll(async () => {
    worker = await connectAs('ai_validation_worker');
  });

  it('claims pending evaluations of every user, works them through, and then loses sight of them', async () => {
    const users = [await createTestUser(t.db), await createTestUser(t.db)];
    const ideas = await Promise.all(users.map((u) => createTestIdea(t.db, u.id, { status: 'submitted' })));
    const queued = await Promise.all(ideas.map((i) => createTestEvaluation(t.db, i.id, { priority: 'high' })));
    const draft = await createTestIdea(t.db, users[0]!.id); // no evaluation: none of the worker's business

    const claimed = [];
    for (let i = 0; i < 10; i++) {
      const evaluation = await evaluations.claimNext(worker.worker, 'worker-rls', { leaseSeconds: 60 });
      if (!evaluation) break;
      claimed.push(evaluation);
    }
    expect(ids(claimed)).toEqual(expect.arrayContaining(ids(queued)));
    const mine = claimed.filter((e) => ids(queued).includes(e.id));

    for (const evaluation of mine) {
      // It reads the idea it evaluates (claimNext moved it to evaluating), and records agent results.
      const idea = await worker.db
        .selectFrom('businessIdeas')
        .select(['title', 'status'])
        .where('id', '=', evaluation.businessIdeaId)
        .executeTakeFirst();
      expect(idea?.status).toBe('evaluating');
      const token = { workerId: evaluation.claimedBy!, attempt: evaluation.attempt };
      const [run] = await agentResults.createAgentRuns(worker.worker, evaluation.id, ['market-research'], token);
      await agentResults.startAgentRun(worker.worker, run!.id, token);
      await agentResults.completeAgentRun(worker.worker, run!.id, {
        ...token,
        outputData: { version: 1, summary: 'A growing niche', findings: [] },
        score: 70,
      });
      const completed = await evaluations.completeEvaluation(worker.worker, evaluation.id, { ...token, results: RESULTS });
      expect(completed.status).toBe('completed');
    }
    // As the owner: every idea moved to completed, for both users.
    const statuses = await t.db
      .selectFrom('businessIdeas')
      .select('status')
      .where(
        'id',
        'in',
        ideas.map((i) => i.id),
      )
      .execute();
    expect(statuses.map((s) => s.status)).toEqual(['completed', 'completed']);

    // Finished work, and ideas without work, are out of the worker's sight.
    const seen = await worker.db
      .selectFrom('businessIdeas')
      .select('id')
      .where('id', 'in', [...ideas.map((i) => i.id), draft.id])
      .execute();
    expect(seen).toEqual([]);
    expect(await worker.db.selectFrom('evaluations').select('id').where('id', 'in', ids(queued)).execute()).toEqual([]);
    expect(await worker.db.selectFrom('agentResults').select('id').where('evaluationId', 'in', ids(queued)).execute()).toEqual([]);
  });

  it('cannot change ideas, evaluations or agent results outside the work in flight', async () => {
    const owned = await ownedRows(); // a failed evaluation: not in flight
    const counts = await worker.db
      .transaction()
      .execute(async (trx) =>
        [
          await sql`UPDATE business_ideas SET status = 'archived' WHERE id = ${owned.ideaId}`.execute(trx),
          await sql`UPDATE evaluations SET status = 'pending', completed_at = NULL WHERE id = ${owned.evaluationId}`.execute(trx),
          await sql`UPDATE agent_results SET score = 1 WHERE id = ${owned.agentResultId}`.execute(trx),
        ].map((r) => Number(r.numAffectedRows)),
      );
    expect(counts).toEqual([0, 0, 0]);
    expect(await snapshotOf(owned)).toMatchObject({ idea: { status: 'submitted' }, evaluation: { status: 'failed' } });
    expect(
      await sqlStateOf(() =>
        worker.db.insertInto('agentResults').values({ evaluationId: owned.evaluationId, agentType: 'planted' }).execute(),
      ),
    ).toBe('42501');
  });
});

describe('the policies are served by indexes', () => {
  let app: Database;
  beforeAll(async () => {
    app = await connectAs('ai_validation_app');
  });

  // With sequential scans priced out, a plan that still scans sequentially has no usable index.
  it.each([
    ['an idea list', (_o: Owned) => sql`SELECT * FROM business_ideas WHERE deleted_at IS NULL ORDER BY created_at DESC LIMIT 20`],
    ['an idea by id', (o: Owned) => sql`SELECT * FROM business_ideas WHERE id = ${o.ideaId}`],
    ['an evaluation by id', (o: Owned) => sql`SELECT * FROM evaluations WHERE id = ${o.evaluationId}`],
    ['the evaluations of an idea', (o: Owned) => sql`SELECT * FROM evaluations WHERE business_idea_id = ${o.ideaId}`],
    ['the agent results of an evaluation', (o: Owned) => sql`SELECT * FROM agent_results WHERE evaluation_id = ${o.evaluationId}`],
  ])('%s, as the app role', async (_what, query) => {
    const owned = await ownedRows();
    const plan = await app.withUser(owned.userId, async (trx) => {
      await sql`SET LOCAL enable_seqscan = off`.execute(trx);
      const rows = await sql<{ 'QUERY PLAN': string }>`EXPLAIN ${query(owned)}`.execute(trx);
      return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index/);
    expect(plan).not.toMatch(/Seq Scan/);
  });
});

const RESULTS: EvaluationResults = {
  version: 1,
  overallScore: 70,
  recommendation: 'go',
  confidence: 0.7,
  summary: 'Worth a pilot.',
  agentScores: [{ agentType: 'market-research', score: 70, weight: 1, status: 'completed' }],
  strengths: ['Clear buyer'],
  risks: [{ title: 'Crowded market', severity: 'low' }],
  nextSteps: ['Run a pilot'],
  generatedAt: '2026-11-25T09:00:00.000Z',
};

/** The owner's view of a user's rows, to compare before and after an attempt on them. */
async function snapshotOf(owned: Owned) {
  return {
    idea: await t.db.selectFrom('businessIdeas').selectAll().where('id', '=', owned.ideaId).executeTakeFirst(),
    evaluation: await t.db.selectFrom('evaluations').selectAll().where('id', '=', owned.evaluationId).executeTakeFirst(),
    agentResult: await t.db.selectFrom('agentResults').selectAll().where('id', '=', owned.agentResultId).executeTakeFirst(),
  };
}
