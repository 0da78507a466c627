/** listUsers: keyset pages in a stable order, correct while rows are inserted, with validated cursors. */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { encodeCursor } from '../../src/validation/cursor.js';
import * as users from '../../src/repositories/users.js';
import { useTestDatabase } from '../support/database.js';
import { createTestUser, fakePasswordHash, uniqueEmail } from '../support/factories.js';

const t = useTestDatabase();

/** Every live user's id in the documented order, straight from SQL. */
const expectedOrder = async (includeDeleted = false): Promise<string[]> =>
  (
    await t.db
      .selectFrom('users')
      .select('id')
      .$if(!includeDeleted, (qb) => qb.where('deletedAt', 'is', null))
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc')
      .execute()
  ).map((r) => r.id);

async function walk(limit: number, onPage?: (page: number) => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let page = 1; ; page++) {
    const result = await users.listUsers(t.db, { limit, ...(cursor ? { cursor } : {}) });
    expect(result.items.length).toBeLessThanOrEqual(limit);
    seen.push(...result.items.map((u) => u.id));
    await onPage?.(page);
    if (!result.nextCursor) return seen;
    cursor = result.nextCursor;
  }
}

describe('listUsers', () => {
  it('pages through rows that share one created_at (one INSERT, one now()) exactly once, by id', async () => {
    // Same transaction => identical created_at down to the microsecond: only the id breaks ties.
    await t.db
      .insertInto('users')
      .values(Array.from({ length: 7 }, (_, i) => ({ email: uniqueEmail(`tie${i}`), name: `Tie ${i}`, passwordHash: fakePasswordHash() })))
      .execute();
    const expected = await expectedOrder();
    expect(await walk(3)).toEqual(expected);
  });

  it('stays correct while newer rows are inserted between pages: no repeats, no skips', async () => {
    for (let i = 0; i < 5; i++) await createTestUser(t.db);
    const before = await expectedOrder();
    const inserted: string[] = [];
    const seen = await walk(2, async (page) => {
      if (page === 1 || page === 2) for (let i = 0; i < 3; i++) inserted.push((await createTestUser(t.db)).id);
    });
    expect(new Set(seen).size).toBe(seen.length);
    // Newer rows sort before the first page, so the walk sees exactly the rows that existed when it began.
    expect(seen).toEqual(before);
    expect(seen.filter((id) => inserted.includes(id))).toEqual([]);
  });

  it('keeps microsecond order where a millisecond cursor would repeat or skip rows', async () => {
    // Three users 1 µs apart within one millisecond.
    const base = '2020-01-01T00:00:00.000100Z';
    const ids: string[] = [];
    for (const micro of [1, 2, 3]) {
      const user = await createTestUser(t.db, {
        createdAt: sql<Date>`${base}::timestamptz + ${`${micro} microseconds`}::interval` as never,
      });
      ids.push(user.id);
    }
    const all = await walk(1);
    expect(all.filter((id) => ids.includes(id))).toEqual([...ids].reverse());
    expect(new Set(all).size).toBe(all.length);
  });

  it('includeDeleted adds closed accounts in the same order', async () => {
    const closed = await createTestUser(t.db, { deletedAt: new Date() });
    expect((await users.listUsers(t.db, { limit: 100 })).items.map((u) => u.id)).not.toContain(closed.id);
    const all = (await users.listUsers(t.db, { limit: 100, includeDeleted: true })).items.map((u) => u.id);
    expect(all).toContain(closed.id);
    expect(all).toEqual(await expectedOrder(true));
  });

  it('a tampered cursor or a bad limit is a ValidationError before the database', async () => {
    const queries = t.database.stats().queries;
    const forged = encodeCursor({
      createdAt: "2026-01-01T00:00:00.000000Z'; drop table users; --",
      id: '00000000-0000-4000-8000-000000000000',
    });
    for (const [options, path] of [
      [{ cursor: forged }, 'cursor'],
      [{ cursor: 'eyJ0IjoxfQ' }, 'cursor'],
      [{ limit: 0 }, 'limit'],
      [{ limit: 101 }, 'limit'],
      [{ limit: 2.5 }, 'limit'],
      [{ includeDeleted: 'yes' }, 'includeDeleted'],
    ] as const) {
      const error = await users.listUsers(t.db, options as users.ListUsersInput).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toEqual([path]);
    }
    expect(t.database.stats().queries).toBe(queries);
  });

  it('a cursor for a row that no longer exists still continues after its position', async () => {
    for (let i = 0; i < 4; i++) await createTestUser(t.db);
    const first = await users.listUsers(t.db, { limit: 2 });
    await t.db.deleteFrom('users').where('id', '=', first.items[1]!.id).execute();
    const expected = await expectedOrder();
    const rest = await users.listUsers(t.db, { limit: 100, cursor: first.nextCursor! });
    expect(rest.items.map((u) => u.id)).toEqual(expected.slice(1));
  });
});
