/**
 * The actor of an audited change: `database.transaction(executor, fn, { actorId })` (and
 * `withUser(userId, fn)`, whose user is the default actor) set app.actor_id for that transaction only, so it never leaks to the next transaction on the
 * same pooled connection, nor to a concurrent one.
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import type { DB } from '../../src/schema/generated.js';
import { ValidationError } from '../../src/errors.js';
import { createTestUser } from '../support/factories.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();

/** The actors recorded for a user's row, oldest change first. */
async function actors(userId: string): Promise<(string | null)[]> {
  const rows = await t.db
    .selectFrom('auditLog')
    .select('actor')
    .where('tableName', '=', 'users')
    .where('rowId', '=', userId)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.actor);
}

const rename = (db: Kysely<DB>, id: string, name: string) => db.updateTable('users').set({ name }).where('id', '=', id).execute();
const backendPid = async (db: Kysely<DB>) => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]!.pid;

describe('the audit actor', () => {
  it('is the actorId for every change in the transaction, and NULL without one', async () => {
    const user = await createTestUser(t.db);
    await t.database.transaction(
      t.db,
      async (trx) => {
        await rename(trx, user.id, 'First Rename');
        await rename(trx, user.id, 'Second Rename');
      },
      { actorId: 'admin-7' },
    );
    await t.database.transaction(t.db, (trx) => rename(trx, user.id, 'Third Rename'), { actorId: 'worker:eval-3' });
    await rename(t.db, user.id, 'Fourth Rename');
    await t.database.transaction(t.db, (trx) => rename(trx, user.id, 'Fifth Rename'));
    expect(await actors(user.id)).toEqual([null, 'admin-7', 'admin-7', 'worker:eval-3', null, null]);
  });

  it('is stored verbatim (any text, no interpretation)', async () => {
    const user = await createTestUser(t.db);
    const actor = `O'Brien; -- $$ ${'\u202e'}\u{1F600} ' or 1=1`;
    await t.database.transaction(t.db, (trx) => rename(trx, user.id, 'Verbatim Rename'), { actorId: actor });
    expect(await actors(user.id)).toEqual([null, actor]);
  });

  describe('on a pool of one connection', () => {
    let single: Database;
    beforeAll(() => {
      single = createDatabase({ connectionString: t.testDatabase.url, env: {}, pool: { max: 1 } });
    });
    afterAll(() => single?.close());

    it('does not leak to the next transaction or statement on the same connection', async () => {
      const user = await createTestUser(single.db);
      const pids = new Set<number>();
      await single.transaction(
        single.db,
        async (trx) => {
          pids.add(await backendPid(trx));
          await rename(trx, user.id, 'Renamed By Admin');
        },
        { actorId: 'admin-1' },
      );
      await single.transaction(single.db, async (trx) => {
        pids.add(await backendPid(trx));
        // Transaction-local: after COMMIT the setting reverts (to '' on this session, read as NULL).
        const { rows } = await sql<{ actor: string | null }>`select current_setting('app.actor_id', true) as actor`.execute(trx);
        expect(rows[0]?.actor ?? '').toBe('');
        await rename(trx, user.id, 'Renamed Anonymously');
      });
      pids.add(await backendPid(single.db));
      await rename(single.db, user.id, 'Renamed Outside A Transaction');
      expect(pids.size).toBe(1);
      expect(await actors(user.id)).toEqual([null, 'admin-1', null, null]);
    });

    it('does not leak after a rolled-back transaction with an actor either', async () => {
      const user = await createTestUser(single.db);
      await expect(
        single.transaction(
          single.db,
          async (trx) => {
            await rename(trx, user.id, 'Rolled Back Rename');
            throw new Error('abort');
          },
          { actorId: 'admin-2' },
        ),
      ).rejects.toThrow('abort');
      await rename(single.db, user.id, 'Anonymous Rename');
      expect(await actors(user.id)).toEqual([null, null]);
    });
  });

  it('concurrent transactions each record their own actor', async () => {
    const users = await Promise.all([1, 2, 3, 4].map(() => createTestUser(t.db)));
    let arrived = 0;
    let release!: () => void;
    const allIn = new Promise<void>((resolve) => (release = resolve));
    await Promise.all(
      users.map((user, i) =>
        t.database.transaction(
          t.db,
          async (trx) => {
            // All four transactions are open at once before any of them writes.
            if (++arrived === users.length) release();
            await allIn;
            await rename(trx, user.id, `Concurrent Rename ${i}`);
          },
          { actorId: `actor-${i}` },
        ),
      ),
    );
    // (The test pool has 4 connections, so all four ran at once.)
    for (const [i, user] of users.entries()) expect(await actors(user.id)).toEqual([null, `actor-${i}`]);
  });

  it('is set again when a serialization failure makes the transaction retry', async () => {
    const user = await createTestUser(t.db);
    let attempts = 0;
    await t.database.transaction(
      t.db,
      async (trx) => {
        attempts++;
        await rename(trx, user.id, `Attempt ${attempts}`);
        if (attempts === 1) {
          // What a serialization failure looks like to runTransaction, raised by the server.
          await sql`do $$ begin raise exception using errcode = 'serialization_failure', message = 'simulated'; end $$`.execute(trx);
        }
      },
      { actorId: 'retrying-actor' },
    );
    expect(attempts).toBe(2);
    expect(await actors(user.id)).toEqual([null, 'retrying-actor']);
  });

  it('rejects an empty, blank, oversized or NUL-holding actor id before starting a transaction', async () => {
    const before = t.database.stats().queries;
    for (const actorId of ['', '   ', 'x'.repeat(201), 'admin\u0000-1']) {
      await expect(t.database.transaction(t.db, async () => 'ran', { actorId })).rejects.toMatchObject({
        constructor: ValidationError,
        issues: [{ path: 'actorId', message: expect.any(String) }],
      });
    }
    expect(t.database.stats().queries).toBe(before);
  });
});
