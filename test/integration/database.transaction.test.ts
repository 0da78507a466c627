/**
 * database.transaction(): commit and rollback, the isolation level, and bounded retries of the
 * whole callback on real serialization failures (40001) and deadlocks (40P01), and on nothing else.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { DB } from '../../src/schema/generated.js';
import { ConflictError, SerializationError, ValidationError } from '../../src/errors.js';
import { createTestUser, uniqueEmail } from '../support/factories.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();

/** A rendezvous for `parties` callers; later rounds (retries) pass straight through. */
function barrier(parties: number) {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return async (): Promise<void> => {
    if (++arrived === parties) open();
    await opened;
  };
}

const nameOf = async (db: Kysely<DB>, id: string) =>
  (await db.selectFrom('users').select('name').where('id', '=', id).executeTakeFirstOrThrow()).name;

/**
 * The on-call write skew: two users are on call; each transaction goes off call only if both
 * are on call. Both read before either writes, so under serializable one must fail with 40001.
 */
async function onCallPair() {
  const a = await createTestUser(t.db, { name: 'On Call' });
  const b = await createTestUser(t.db, { name: 'On Call' });
  const bothRead = barrier(2);
  const calls = { a: 0, b: 0 };
  const goOffCall = (self: 'a' | 'b') => async (trx: Transaction<DB>) => {
    calls[self]++;
    const onCall = await trx
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('id', 'in', [a.id, b.id])
      .where('name', '=', 'On Call')
      .executeTakeFirstOrThrow();
    await bothRead();
    if (onCall.n < 2) return 'stayed';
    await trx
      .updateTable('users')
      .set({ name: 'Off Call' })
      .where('id', '=', self === 'a' ? a.id : b.id)
      .execute();
    return 'left';
  };
  return { a, b, calls, goOffCall };
}

describe('database.transaction', () => {
  it('commits what the callback did and returns its value', async () => {
    const email = uniqueEmail();
    const id = await t.database.transaction(t.db, async (trx) => {
      const user = await createTestUser(trx, { email });
      return user.id;
    });
    expect(await t.db.selectFrom('users').select('email').where('id', '=', id).executeTakeFirst()).toEqual({ email });
  });

  it('rolls back everything when the callback throws, and rethrows the same error', async () => {
    const email = uniqueEmail();
    const failure = new Error('stop here');
    await expect(
      t.database.transaction(t.db, async (trx) => {
        await createTestUser(trx, { email });
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await t.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()).toBeUndefined();
  });

  it('applies the isolation level (read committed by default)', async () => {
    const level = (trx: Transaction<DB>) =>
      sql<{ transactionIsolation: string }>`show transaction_isolation`.execute(trx).then((r) => r.rows[0]?.transactionIsolation);
    expect(await t.database.transaction(t.db, level)).toBe('read committed');
    expect(await t.database.transaction(t.db, level, { isolationLevel: 'repeatable read' })).toBe('repeatable read');
    expect(await t.database.transaction(t.db, level, { isolationLevel: 'serializable' })).toBe('serializable');
    expect(await t.database.transaction(t.db, level, { actorId: 'someone', isolationLevel: 'serializable' })).toBe('serializable');
  });

  it('retries the whole callback after a real serialization failure, and the result is consistent', async () => {
    const { a, b, calls, goOffCall } = await onCallPair();
    // maxAttempts above the default: on a loaded machine the loser's retry can start before the
    // winner commits and lose once more; what matters is that it ends consistent.
    const outcomes = await Promise.all([
      t.database.transaction(t.db, goOffCall('a'), { isolationLevel: 'serializable', maxAttempts: 10 }),
      t.database.transaction(t.db, goOffCall('b'), { isolationLevel: 'serializable', maxAttempts: 10 }),
    ]);
    // One committed on its first attempt; the other lost, ran again (the whole callback), and saw the new state.
    expect(Math.min(calls.a, calls.b)).toBe(1);
    expect(Math.max(calls.a, calls.b)).toBeGreaterThanOrEqual(2);
    expect(outcomes.sort()).toEqual(['left', 'stayed']);
    expect([await nameOf(t.db, a.id), await nameOf(t.db, b.id)].sort()).toEqual(['Off Call', 'On Call']);
  });

  it('with maxAttempts: 1 the loser surfaces a SerializationError (40001) and changes nothing', async () => {
    const { a, b, calls, goOffCall } = await onCallPair();
    const settled = await Promise.allSettled([
      t.database.transaction(t.db, goOffCall('a'), { isolationLevel: 'serializable', maxAttempts: 1 }),
      t.database.transaction(t.db, goOffCall('b'), { isolationLevel: 'serializable', maxAttempts: 1 }),
    ]);
    expect(calls).toEqual({ a: 1, b: 1 });
    const rejected = settled.filter((s) => s.status === 'rejected');
    expect(rejected).toHaveLength(1);
    const error = rejected[0]!.reason as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.code).toBe('SERIALIZATION_FAILURE');
    expect((error.cause as { code?: string }).code).toBe('40001');
    expect([await nameOf(t.db, a.id), await nameOf(t.db, b.id)].sort()).toEqual(['Off Call', 'On Call']);
  });

  it('retries the deadlock victim (40P01) and both transactions end up applied', async () => {
    const a = await createTestUser(t.db);
    const b = await createTestUser(t.db);
    const bothLocked = barrier(2);
    const calls = { first: 0, second: 0 };
    const lockBoth = (label: 'first' | 'second', one: string, other: string) => async (trx: Transaction<DB>) => {
      calls[label]++;
      // Superuser-only setting; keeps the test fast (the default is 1 s).
      await sql`set local deadlock_timeout = '50ms'`.execute(trx);
      await trx
        .updateTable('users')
        .set({ name: `Locked By ${label}` })
        .where('id', '=', one)
        .execute();
      await bothLocked();
      await trx
        .updateTable('users')
        .set({ name: `Locked By ${label}` })
        .where('id', '=', other)
        .execute();
    };
    // As above: under load a retry can take its first lock before the winner takes its second,
    // and deadlock again; the test needs the retries, not their exact number.
    await Promise.all([
      t.database.transaction(t.db, lockBoth('first', a.id, b.id), { maxAttempts: 10 }),
      t.database.transaction(t.db, lockBoth('second', b.id, a.id), { maxAttempts: 10 }),
    ]);
    expect(calls.first + calls.second).toBeGreaterThanOrEqual(3);
    // Each transaction writes both rows, so whichever committed last wrote both: never a mix.
    const names = [await nameOf(t.db, a.id), await nameOf(t.db, b.id)];
    expect(names[0]).toBe(names[1]);
    expect(['Locked By first', 'Locked By second']).toContain(names[0]);
  });

  it('does not retry other errors: the callback runs once', async () => {
    let calls = 0;
    const failure = new Error('application error');
    await expect(
      t.database.transaction(t.db, async () => {
        calls++;
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);

    const taken = await createTestUser(t.db);
    calls = 0;
    await expect(
      t.database.transaction(t.db, async (trx) => {
        calls++;
        await createTestUser(trx, { email: taken.email });
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts serialization failures and throws the last one', async () => {
    let calls = 0;
    await expect(
      t.database.transaction(
        t.db,
        async (trx) => {
          calls++;
          await sql`do $$ begin raise exception using errcode = 'serialization_failure', message = 'simulated'; end $$`.execute(trx);
        },
        { maxAttempts: 4 },
      ),
    ).rejects.toBeInstanceOf(SerializationError);
    expect(calls).toBe(4);
  });

  it('rejects invalid options with a ValidationError before starting a transaction', async () => {
    const before = t.database.stats().queries;
    let ran = false;
    const fn = async () => {
      ran = true;
    };
    for (const maxAttempts of [0, -1, 1.5, 21, Number.NaN]) {
      await expect(t.database.transaction(t.db, fn, { maxAttempts })).rejects.toMatchObject({
        constructor: ValidationError,
        issues: [{ path: 'maxAttempts', message: expect.any(String) }],
      });
    }
    for (const actorId of ['', ' \t', 'a'.repeat(201), 'admin\u0000', 42 as unknown as string]) {
      await expect(t.database.transaction(t.db, fn, { actorId })).rejects.toMatchObject({
        constructor: ValidationError,
        issues: [{ path: 'actorId', message: expect.any(String) }],
      });
    }
    expect(ran).toBe(false);
    expect(t.database.stats().queries).toBe(before);
  });
});
