/**
 * seedDev: loads a consistent data set that covers every status, once (idempotent, also under
 * concurrency), with verifiable scrypt password hashes and JSON payloads that read back as objects.
 */
import { scryptSync, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEV_PASSWORD, DEV_USERS, hashPassword, seedDev } from '../../seeds/dev.js';
import { useTestDatabase } from '../support/database.js';

describe('seedDev', () => {
  const t = useTestDatabase();

  it('loads users, ideas in every status, evaluations and agent results in one go', async () => {
    const result = await seedDev(t.db);
    expect(result).toEqual({ skipped: false, inserted: { users: 3, businessIdeas: 6, evaluations: 5, agentResults: 11 } });

    const users = await t.db.selectFrom('users').select(['email', 'name']).orderBy('email').execute();
    expect(users.map((u) => u.email)).toEqual(DEV_USERS.map((u) => u.email).sort());

    const ideaStatuses = await t.db.selectFrom('businessIdeas').select('status').distinct().execute();
    expect(ideaStatuses.map((r) => r.status).sort()).toEqual(['archived', 'completed', 'draft', 'evaluating', 'submitted']);
    const evaluationStatuses = await t.db.selectFrom('evaluations').select('status').distinct().execute();
    expect(evaluationStatuses.map((r) => r.status).sort()).toEqual(['analyzing', 'completed', 'failed', 'pending']);
    const agentStatuses = await t.db.selectFrom('agentResults').select('status').distinct().execute();
    expect(agentStatuses.map((r) => r.status).sort()).toEqual(['completed', 'failed', 'pending', 'running']);
  });

  it('stores JSON payloads as objects that read back typed', async () => {
    const evaluation = await t.db
      .selectFrom('evaluations')
      .select(['results'])
      .where('status', '=', 'completed')
      .where('priority', '=', 'normal')
      .executeTakeFirstOrThrow();
    expect(evaluation.results?.recommendation).toBe('go');
    expect(evaluation.results?.agentScores).toHaveLength(3);

    const market = await t.db
      .selectFrom('agentResults')
      .select(['outputData', 'insights', 'inputData', 'score'])
      .where('agentType', '=', 'market-research')
      .where('score', '=', 78)
      .executeTakeFirstOrThrow();
    expect(market.outputData?.findings[0]?.topic).toBe('market-size');
    expect(market.insights?.metrics).toEqual({ tamUsd: 76_000_000, practices: 38_000 });
    expect(market.inputData.parameters).toEqual({ regions: ['US'] });
    expect(market.score).toBe(78);
  });

  it('hashes the dev password with scrypt in a verifiable, deterministic format', async () => {
    const user = await t.db.selectFrom('users').select('passwordHash').where('email', '=', 'ada@example.com').executeTakeFirstOrThrow();
    const [scheme, n, r, p, salt, hash] = user.passwordHash.split('$');
    expect([scheme, n, r, p]).toEqual(['scrypt', '16384', '8', '1']);
    const expected = Buffer.from(hash ?? '', 'base64');
    const derived = scryptSync(DEV_PASSWORD, Buffer.from(salt ?? '', 'base64'), expected.length, { N: 16_384, r: 8, p: 1 });
    expect(timingSafeEqual(derived, expected)).toBe(true);
    expect(await hashPassword(DEV_PASSWORD, Buffer.from(salt ?? '', 'base64'))).toBe(user.passwordHash);
    // Different users, different salts: equal passwords do not give equal hashes.
    const hashes = await t.db.selectFrom('users').select('passwordHash').execute();
    expect(new Set(hashes.map((h) => h.passwordHash)).size).toBe(3);
  });

  it('is idempotent: a second run, and concurrent runs, write nothing more', async () => {
    const before = await t.db.selectFrom('agentResults').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const results = await Promise.all([seedDev(t.db), seedDev(t.db)]);
    expect(results.every((r) => r.skipped)).toBe(true);
    const after = await t.db.selectFrom('agentResults').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });
});

describe('seedDev on an empty database, concurrently', () => {
  const t = useTestDatabase();

  it('lets exactly one of two concurrent runs load the set', async () => {
    const results = await Promise.all([seedDev(t.db), seedDev(t.db)]);
    expect(results.map((r) => r.skipped).sort()).toEqual([false, true]);
    const users = await t.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(users.n).toBe(3);
  });

  it('rolls back everything when a row fails, leaving the database as it was', async () => {
    await t.db.deleteFrom('users').execute(); // cascades to ideas, evaluations, agent results
    // A conflicting idea id (not a dev user) makes the idea insert fail after the users went in.
    await t.db.insertInto('users').values({ id: '00000000-0000-4000-8000-000000000999', email: 'other@example.com', passwordHash: 'x', name: 'Other' }).execute();
    await t.db
      .insertInto('businessIdeas')
      .values({
        id: '00000000-0000-4000-8000-000000000201',
        userId: '00000000-0000-4000-8000-000000000999',
        title: 'Occupies the id of a dev idea',
        description: 'A description long enough to satisfy the fifty character minimum of the check.',
      })
      .execute();
    const error = (await seedDev(t.db).then(() => undefined, (e: unknown) => e)) as { code?: string; cause?: { code?: string } };
    // A unique violation (23505), raw or mapped to the library's ConflictError with it as cause.
    expect([error?.code, error?.cause?.code]).toContain('23505');
    const users = await t.db.selectFrom('users').select('email').execute();
    expect(users).toEqual([{ email: 'other@example.com' }]);
  });
});
