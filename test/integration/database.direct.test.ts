/**
 * The repositories' compiled queries run straight on the handle's pool (src/db/direct.ts), not
 * through Kysely's executor: the rows, the affected-row counts, the query log and the typed errors
 * must be exactly what Kysely's path gives.
 */
import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { compiled } from '../../src/repositories/compiled.js';
import { tables } from '../../src/repositories/executor.js';
import { ConflictError } from '../../src/errors.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();

const userById = compiled((db, id: string) =>
  db
    .selectFrom('users')
    .select(['users.id', 'users.email', 'users.createdAt', sql<string[]>`array[users.email, users.name]`.as('emailAndName')])
    .where('users.id', '=', id),
);
const insertUser = compiled((db, email: string) =>
  db
    .insertInto('users')
    .values({ email, name: 'Direct', passwordHash: 'x'.repeat(60) })
    .returningAll(),
);
// Column names a row builder must take as data: a repeated name, __proto__, and text that would be code if pasted in.
const awkwardColumns = compiled((db, id: string) =>
  db
    .selectFrom('users')
    .select([
      'users.id',
      sql<string>`users.email`.as('id'),
      sql<string>`'own'`.as('__proto__'),
      sql<string>`'quoted'`.as('a"}); globalThis.injected = 1; ({"b'),
      sql<string>`'snake'`.as('user_name'),
    ])
    .where('users.id', '=', id),
);
const renameUsers = compiled((db, name: string) => db.updateTable('users').set({ name }).where('users.name', '=', 'Direct'));

describe('compiled queries on a handle of createDatabase()', () => {
  it('return the rows and counts Kysely returns for the same compiled query, without going through its executor', async () => {
    const owner = tables(t.db);
    const executeQuery = vi.spyOn(owner, 'executeQuery');
    const user = await insertUser.one(owner, `direct-${Date.now()}@example.com`);
    const direct = await userById.all(owner, user.id);
    const renamed = await renameUsers.run(owner, 'Direct');
    expect(executeQuery).not.toHaveBeenCalled();
    executeQuery.mockRestore();

    const viaKysely = await owner.executeQuery(userById.compile(owner, user.id));
    expect(direct).toEqual(viaKysely.rows);
    expect(direct[0]).toMatchObject({ id: user.id, email: user.email, emailAndName: [user.email, 'Direct'] });
    expect(direct[0]!.createdAt).toBeInstanceOf(Date);
    expect(Object.keys(direct[0]!)).toEqual(Object.keys(viaKysely.rows[0]!));
    expect(renamed.numAffectedRows).toBe((await owner.executeQuery(renameUsers.compile(owner, 'Direct'))).numAffectedRows);
    expect(renamed.numAffectedRows).toBeGreaterThanOrEqual(1n);
    expect((await userById.run(owner, user.id)).numAffectedRows).toBeUndefined();
  });

  it('build rows from any column names as Kysely does: a repeated name, __proto__, names that look like code', async () => {
    const owner = tables(t.db);
    const user = await insertUser.one(owner, `direct-awkward-${Date.now()}@example.com`);
    const [row] = await awkwardColumns.all(owner, user.id);
    const [viaKysely] = (await owner.executeQuery(awkwardColumns.compile(owner, user.id))).rows;
    expect(row).toEqual(viaKysely);
    expect(Object.keys(row!)).toEqual(Object.keys(viaKysely!));
    expect(row!.id).toBe(user.email); // the later column of the same name wins
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(row, '_Proto')?.value).toBe('own'); // the plugin's key for __proto__
    expect((row as Record<string, unknown>)['a"}); globalThis.injected = 1; ({"b']).toBe('quoted');
    expect((row as Record<string, unknown>).userName).toBe('snake');
    expect((globalThis as { injected?: unknown }).injected).toBeUndefined();
  });

  it('are counted and logged like every other query, failures as typed errors', async () => {
    const owner = tables(t.db);
    const email = `direct-dup-${Date.now()}@example.com`;
    await insertUser.one(owner, email);
    const before = t.database.stats();
    await userById.all(owner, '00000000-0000-4000-8000-000000000000');
    const failure = await insertUser.one(owner, email).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConflictError);
    const after = t.database.stats();
    expect(after.queries - before.queries).toBe(2);
    expect(after.errors - before.errors).toBe(1);
  });
});
