/** Users: soft delete hides a closed account everywhere; restore brings it back unless its email was taken. */
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors.js';
import * as users from '../../src/repositories/users.js';
import { useTestDatabase } from '../support/database.js';
import { createTestUser, fakePasswordHash } from '../support/factories.js';

const t = useTestDatabase();

const listedIds = async (includeDeleted: boolean): Promise<string[]> =>
  (await users.listUsers(t.db, { limit: 100, includeDeleted })).items.map((u) => u.id);

describe('softDeleteUser', () => {
  it('returns the closed account and hides it from every ordinary read', async () => {
    const user = await createTestUser(t.db);
    const closed = await users.softDeleteUser(t.db, user.id);
    expect(closed.id).toBe(user.id);
    expect(closed.deletedAt).toBeInstanceOf(Date);

    await expect(users.getUser(t.db, user.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(users.getUserByEmail(t.db, user.email)).rejects.toBeInstanceOf(NotFoundError);
    await expect(users.getUserCredentials(t.db, user.email)).rejects.toBeInstanceOf(NotFoundError);
    await expect(users.updateUser(t.db, user.id, { name: 'Changed' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await listedIds(false)).not.toContain(user.id);
    const withDeleted = (await users.listUsers(t.db, { limit: 100, includeDeleted: true })).items.find((u) => u.id === user.id);
    expect(withDeleted?.deletedAt).toEqual(closed.deletedAt);
  });

  it('closing an unknown or already closed account is a NotFoundError; a bad id is a ValidationError', async () => {
    const user = await createTestUser(t.db);
    await users.softDeleteUser(t.db, user.id);
    await expect(users.softDeleteUser(t.db, user.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(users.softDeleteUser(t.db, '00000000-0000-4000-8000-00000000abcd')).rejects.toBeInstanceOf(NotFoundError);
    await expect(users.softDeleteUser(t.db, '')).rejects.toBeInstanceOf(ValidationError);
  });

  it('frees the email for a new registration', async () => {
    const user = await createTestUser(t.db);
    await users.softDeleteUser(t.db, user.id);
    const again = await users.createUser(t.db, { email: user.email, name: 'New Owner', passwordHash: fakePasswordHash() });
    expect(again.id).not.toBe(user.id);
    expect((await users.getUserByEmail(t.db, user.email)).id).toBe(again.id);
  });
});

describe('restoreUser', () => {
  it('reopens a closed account', async () => {
    const user = await createTestUser(t.db);
    await users.softDeleteUser(t.db, user.id);
    const restored = await users.restoreUser(t.db, user.id);
    expect(restored).toMatchObject({ id: user.id, email: user.email, deletedAt: null });
    expect(await users.getUser(t.db, user.id)).toEqual(restored);
    expect(await listedIds(false)).toContain(user.id);
  });

  it('is a ConflictError on email when the email was registered again meanwhile, and the account stays closed', async () => {
    const user = await createTestUser(t.db);
    await users.softDeleteUser(t.db, user.id);
    const newcomer = await users.createUser(t.db, { email: user.email, name: 'Newcomer', passwordHash: fakePasswordHash() });
    const error = await users.restoreUser(t.db, user.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ table: 'users', fields: ['email'], constraint: 'users_email_key' });
    expect((error as Error).message).not.toContain(user.email);
    const row = await t.db.selectFrom('users').select('deletedAt').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.deletedAt).toBeInstanceOf(Date);
    expect((await users.getUserByEmail(t.db, user.email)).id).toBe(newcomer.id);
  });

  it('restoring a live account returns it unchanged; an unknown id is a NotFoundError', async () => {
    const user = await createTestUser(t.db);
    const live = await users.restoreUser(t.db, user.id);
    expect(live).toMatchObject({ id: user.id, deletedAt: null, updatedAt: user.updatedAt });
    await expect(users.restoreUser(t.db, '00000000-0000-4000-8000-00000000dcba')).rejects.toMatchObject({
      constructor: NotFoundError,
      id: '00000000-0000-4000-8000-00000000dcba',
    });
  });
});
