/**
 * runSeedSet: idempotent (a recorded set + version + scale is skipped), a newer version applies
 * or refuses as the set says, an older code version and a different scale refuse with a message
 * naming the set and both versions, and the dev set upgrades a v1 database in place.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DEV_USERS, devId, devSet } from '../../seeds/dev.js';
import { runSeedSet } from '../../seeds/runner.js';
import type { SeedSet } from '../../seeds/types.js';
import { SeedError } from '../../seeds/errors.js';
import { createTestDatabase, useTestDatabase } from '../support/database.js';
import { createDatabase } from '../../src/db/database.js';

/** A tiny set that inserts `users` users per unit of scale, with ids from the PRNG. */
function tinySet(overrides: Partial<SeedSet> & { version: number }): SeedSet {
  return {
    name: 'tiny',
    description: 'test set',
    seed: `tiny-v${overrides.version}`,
    scalable: true,
    transactional: false,
    onOlderVersion: 'refuse',
    async run(ctx) {
      const n = Math.round(2 * ctx.scale);
      const rows = Array.from({ length: n }, (_, i) => ({
        id: ctx.random.uuid(),
        email: `tiny-${ctx.random.uuid().slice(0, 8)}-${i}@example.test`,
        passwordHash: 'scrypt$x',
        name: `Tiny ${i}`,
      }));
      await ctx.db.insertInto('users').values(rows).execute();
      return { rows: { users: n } };
    },
    ...overrides,
  };
}

const refusal = async (promise: Promise<unknown>): Promise<SeedError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SeedError);
  return error as SeedError;
};

describe('runSeedSet', () => {
  const t = useTestDatabase();
  const users = async () =>
    (
      await t.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;

  it('records a run and skips the same set + version + scale the second time, changing nothing', async () => {
    const first = await runSeedSet(t.direct, tinySet({ version: 1 }), { checks: false });
    expect(first).toMatchObject({ status: 'applied', rows: { users: 2 } });
    const second = await runSeedSet(t.direct, tinySet({ version: 1 }), { checks: false });
    expect(second.status).toBe('skipped');
    expect(second.message).toMatch(/Already loaded: nothing to do .*"tiny" v1 at scale 1/);
    expect(await users()).toBe(2);
    const history = await t.db.selectFrom('seedHistory').selectAll().execute();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ setName: 'tiny', version: 1, scale: 1, rowCounts: { users: 2 }, checksum: null });
  });

  it('refuses another scale of the recorded version, naming the recorded scale', async () => {
    const error = await refusal(runSeedSet(t.direct, tinySet({ version: 1 }), { scale: 2, checks: false }));
    expect(error.code).toBe('SEED_VERSION_REFUSED');
    expect(error.message).toMatch(/"tiny" v1 is loaded at scale 1, not 2.*db:clean.*--force/);
    expect(await users()).toBe(2);
  });

  it('refuses a newer version of a set that cannot apply its difference, naming both versions', async () => {
    const error = await refusal(runSeedSet(t.direct, tinySet({ version: 2 }), { checks: false }));
    expect(error.message).toMatch(/seed set "tiny": the database has v1 and this code has v2.*db:clean/);
    expect(await users()).toBe(2);
  });

  it('applies a newer version when the set says it can, keeping the older history row', async () => {
    const outcome = await runSeedSet(t.direct, tinySet({ version: 2, onOlderVersion: 'apply' }), { checks: false });
    expect(outcome).toMatchObject({ status: 'upgraded', previousVersion: 1, version: 2 });
    expect(outcome.message).toContain('upgraded from v1 to v2');
    expect(await users()).toBe(4);
    const versions = await t.db.selectFrom('seedHistory').select('version').where('setName', '=', 'tiny').orderBy('version').execute();
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
  });

  it('refuses code older than the recorded version', async () => {
    const error = await refusal(runSeedSet(t.direct, tinySet({ version: 1, onOlderVersion: 'apply' }), { scale: 3, checks: false }));
    expect(error.message).toMatch(/"tiny": the database has v2, newer than this code's v1/);
  });

  it('--force runs a recorded set again', async () => {
    const outcome = await runSeedSet(t.direct, tinySet({ version: 2, seed: 'other' }), { force: true, checks: false });
    expect(outcome.status).toBe('forced');
    expect(await users()).toBe(6);
  });

  it('refuses a bad scale, and any scale but 1 for a set that does not scale', async () => {
    expect((await refusal(runSeedSet(t.direct, tinySet({ version: 9 }), { scale: 0 }))).code).toBe('SEED_SCALE_INVALID');
    expect((await refusal(runSeedSet(t.direct, devSet, { scale: 2 }))).message).toMatch(/"dev" set does not scale/);
  });

  it('rolls back a failing transactional set together with its history row', async () => {
    const failing = tinySet({
      name: 'broken',
      version: 1,
      transactional: true,
      async run(ctx) {
        await ctx.db.insertInto('users').values({ email: 'broken@example.test', passwordHash: 'x', name: 'Broken' }).execute();
        throw new Error('generator bug');
      },
    });
    await expect(runSeedSet(t.direct, failing, { checks: false })).rejects.toThrow('generator bug');
    expect(await t.db.selectFrom('users').select('id').where('email', '=', 'broken@example.test').execute()).toEqual([]);
    expect(await t.db.selectFrom('seedHistory').select('id').where('setName', '=', 'broken').execute()).toEqual([]);
  });
});

describe('the dev set over a dev v1 database', () => {
  const t = useTestDatabase();

  it('upgrades in place by fixed ids: old people replaced, stale dev rows removed, other rows kept', async () => {
    // What dev v1 left behind (abridged): a real person's name on a dev id, a dev row v2 no longer has.
    await t.db
      .insertInto('users')
      .values({ id: devId(101), email: 'ada@example.com', passwordHash: 'scrypt$old', name: 'Ada Lovelace' })
      .execute();
    await t.db
      .insertInto('users')
      .values({ id: devId(199), email: 'gone@example.com', passwordHash: 'scrypt$old', name: 'Stale Row' })
      .execute();
    await t.db.insertInto('users').values({ email: 'mine@example.test', passwordHash: 'scrypt$x', name: 'Not A Dev Row' }).execute();
    await t.db.insertInto('seedHistory').values({ setName: 'dev', version: 1, rowCounts: '{}' }).execute();

    const outcome = await runSeedSet(t.direct, devSet);
    expect(outcome).toMatchObject({ status: 'upgraded', previousVersion: 1, version: 3 });
    expect(outcome.checks?.ok).toBe(true);
    const names = (await t.db.selectFrom('users').select('name').orderBy('name').execute()).map((u) => u.name);
    expect(names).toEqual([...DEV_USERS.map((u) => u.name), 'Not A Dev Row'].sort());
    expect((await runSeedSet(t.direct, devSet)).status).toBe('skipped');
  });
});

describe('runSeedSet on a database without the schema', () => {
  it('says to migrate first', async () => {
    const empty = await createTestDatabase({ migrated: false });
    const database = createDatabase({ connectionString: empty.url, env: {}, pool: { max: 2 } });
    try {
      const error = await refusal(runSeedSet(database, devSet));
      expect(error.code).toBe('SEED_SCHEMA_MISSING');
      expect(error.message).toContain('npm run migrate -- up');
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`.execute(database.db);
      expect(rows[0]?.n).toBe(0);
    } finally {
      await database.close();
      await empty.drop();
    }
  });
});
