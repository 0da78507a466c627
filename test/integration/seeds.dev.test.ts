/**
 * The dev set through the seed runner: every status of every enum, computed aggregates that agree
 * with the agent results, verifiable scrypt hashes, fictional users only, all-or-nothing writes,
 * and exactly one of two concurrent runs loading it.
 */
import { scryptSync, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEV_PASSWORD, DEV_USERS, devSet, hashPassword } from '../../seeds/dev.js';
import { runSeedSet } from '../../seeds/runner.js';
import { useTestDatabase } from '../support/database.js';

const count = async (t: ReturnType<typeof useTestDatabase>, table: 'users' | 'agentResults' | 'seedHistory'): Promise<number> =>
  (
    await t.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
  ).n;

describe('the dev seed set', () => {
  const t = useTestDatabase();

  it('loads at least 3 users, 6 ideas, 5 evaluations and 25 agent results, every status, checks passing', async () => {
    const outcome = await runSeedSet(t.direct, devSet);
    expect(outcome.status).toBe('applied');
    expect(outcome.rows).toEqual({ users: 4, business_ideas: 8, evaluations: 8, agent_results: 26 });
    expect(outcome.checks?.ok).toBe(true);
    expect(outcome.checksum).toMatch(/^[0-9a-f]{64}$/);

    const distinct = async (table: 'businessIdeas' | 'evaluations' | 'agentResults', column: 'status' | 'priority') =>
      (
        await t.db
          .selectFrom(table)
          .select(column as 'status')
          .distinct()
          .execute()
      )
        .map((r) => (r as Record<string, string>)[column])
        .sort();
    expect(await distinct('businessIdeas', 'status')).toEqual(['archived', 'completed', 'draft', 'evaluating', 'submitted']);
    expect(await distinct('evaluations', 'status')).toEqual(['analyzing', 'completed', 'dead', 'failed', 'pending']);
    expect(await distinct('evaluations', 'priority')).toEqual(['high', 'low', 'normal']);
    expect(await distinct('agentResults', 'status')).toEqual(['completed', 'failed', 'pending', 'running']);
    const agentTypes = await t.db.selectFrom('agentResults').select('agentType').distinct().execute();
    expect(agentTypes).toHaveLength(5);
  });

  it('uses fictional people on reserved example domains only', async () => {
    const users = await t.db.selectFrom('users').select(['email', 'name']).execute();
    for (const user of users) expect(user.email).toMatch(/@example\.(com|org)$/);
    const real = /lovelace|hopper|turing|knuth|dijkstra|liskov|ada |grace |alan /i;
    expect(users.filter((u) => real.test(`${u.name} ${u.email}`))).toEqual([]);
  });

  it('computes each completed evaluation from its agent results', async () => {
    const evaluations = await t.db.selectFrom('evaluations').select(['id', 'results']).where('status', '=', 'completed').execute();
    expect(evaluations.length).toBeGreaterThanOrEqual(3);
    for (const evaluation of evaluations) {
      const runs = await t.db
        .selectFrom('agentResults')
        .select(['agentType', 'score', 'outputData', 'insights'])
        .where('evaluationId', '=', evaluation.id)
        .execute();
      const results = evaluation.results!;
      expect(results.agentScores.map((s) => s.agentType).sort()).toEqual(runs.map((r) => r.agentType).sort());
      for (const score of results.agentScores) {
        expect(runs.find((r) => r.agentType === score.agentType)?.score ?? null).toBe(score.score);
      }
      const weights = results.agentScores.reduce((s, a) => s + a.weight, 0);
      expect(weights).toBeCloseTo(1, 1);
      const scored = results.agentScores.filter((s) => s.score !== null);
      const expected = scored.reduce((s, a) => s + (a.score ?? 0) * a.weight, 0);
      expect(results.overallScore).toBeCloseTo(expected, 0);
      for (const run of runs.filter((r) => r.score !== null)) {
        expect(run.outputData?.findings.length).toBeGreaterThan(0);
        expect(run.insights?.items.length).toBeGreaterThan(0);
      }
    }
  });

  it('hashes the dev password with scrypt, verifiably, a different salt per user', async () => {
    const user = await t.db.selectFrom('users').select('passwordHash').where('email', '=', DEV_USERS[0].email).executeTakeFirstOrThrow();
    const [scheme, n, r, p, salt, hash] = user.passwordHash.split('$');
    expect([scheme, n, r, p]).toEqual(['scrypt', '16384', '8', '1']);
    const expected = Buffer.from(hash ?? '', 'base64');
    const derived = scryptSync(DEV_PASSWORD, Buffer.from(salt ?? '', 'base64'), expected.length, { N: 16_384, r: 8, p: 1 });
    expect(timingSafeEqual(derived, expected)).toBe(true);
    expect(
      scryptSync('wrong-password', Buffer.from(salt ?? '', 'base64'), expected.length, { N: 16_384, r: 8, p: 1 }).equals(expected),
    ).toBe(false);
    expect(await hashPassword(DEV_PASSWORD, Buffer.from(salt ?? '', 'base64'))).toBe(user.passwordHash);
    const hashes = await t.db.selectFrom('users').select('passwordHash').execute();
    expect(new Set(hashes.map((h) => h.passwordHash)).size).toBe(DEV_USERS.length);
  });

  it('records itself as the audit actor seed:dev', async () => {
    const actors = await t.db.selectFrom('auditLog').select('actor').distinct().execute();
    expect(actors).toEqual([{ actor: 'seed:dev' }]);
  });
});

describe('the dev seed set on an empty database, concurrently and failing', () => {
  const t = useTestDatabase();

  it('lets exactly one of two concurrent runs load the set (advisory lock + seed_history)', async () => {
    const outcomes = await Promise.all([runSeedSet(t.direct, devSet, { checks: false }), runSeedSet(t.direct, devSet, { checks: false })]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['applied', 'skipped']);
    expect(await count(t, 'users')).toBe(DEV_USERS.length);
    expect(await count(t, 'seedHistory')).toBe(1);
  });

  it('rolls back everything, history included, when a row fails', async () => {
    await t.db.deleteFrom('users').execute(); // cascades to ideas, evaluations, agent results
    await t.db.deleteFrom('seedHistory').execute();
    // Another account holds a dev user's email: the upsert by id hits the unique email index.
    await t.db.insertInto('users').values({ email: DEV_USERS[1].email, passwordHash: 'x', name: 'Someone Else' }).execute();
    const error = (await runSeedSet(t.direct, devSet).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; cause?: { code?: string } };
    expect([error?.code, error?.cause?.code]).toContain('23505');
    expect(await t.db.selectFrom('users').select('name').execute()).toEqual([{ name: 'Someone Else' }]);
    expect(await count(t, 'seedHistory')).toBe(0);
  });
});
