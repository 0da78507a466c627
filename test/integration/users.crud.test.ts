/** Users: create, get, get by email, credentials, update and hard delete on a real database. */
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors.js';
import * as users from '../../src/repositories/users.js';
import { useTestDatabase } from '../support/database.js';
import { createUserSchema } from '../../src/validation/users.js';
import { createTestIdea, createTestUser, fakePasswordHash, uniqueEmail } from '../support/factories.js';

const t = useTestDatabase();

const userCount = async (): Promise<number> =>
  Number(
    (
      await t.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

/** Runs `fn`, expecting it to throw before sending any query and to write nothing. */
async function rejectedBeforeDatabase(fn: () => Promise<unknown>): Promise<ValidationError> {
  const before = await userCount();
  const queries = t.database.stats().queries;
  const error = await fn().then(
    () => expect.unreachable('expected a ValidationError'),
    (e: unknown) => e,
  );
  expect(t.database.stats().queries).toBe(queries);
  expect(await userCount()).toBe(before);
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

const USER_KEYS = ['createdAt', 'deletedAt', 'email', 'id', 'name', 'updatedAt'];

describe('createUser', () => {
  it('stores the email normalised and returns the user without the hash', async () => {
    const hash = fakePasswordHash();
    const local = uniqueEmail('Ada.Lovelace');
    const user = await users.createUser(t.db, { email: `  ${local.toUpperCase()}\t`, name: 'Ada Lovelace', passwordHash: hash });
    expect(user.email).toBe(local.toLowerCase());
    expect(Object.keys(user).sort()).toEqual(USER_KEYS);
    expect(user.createdAt).toBeInstanceOf(Date);
    expect(user.deletedAt).toBeNull();
    const stored = await t.db.selectFrom('users').select(['email', 'passwordHash']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ email: local.toLowerCase(), passwordHash: hash });
  });

  it('an email taken by a live account (in any case) is a ConflictError on email that does not repeat it', async () => {
    const existing = await createTestUser(t.db);
    const error = await users
      .createUser(t.db, { email: existing.email.toUpperCase(), name: 'Someone Else', passwordHash: fakePasswordHash() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ table: 'users', fields: ['email'], constraint: 'users_email_key' });
    expect((error as Error).message).not.toContain(existing.email);
  });

  it('rejects invalid input before the database, listing every field and never echoing the hash', async () => {
    const error = await rejectedBeforeDatabase(() =>
      users.createUser(t.db, { email: 'ada@', name: '   ', passwordHash: 'hunter2 secret' }),
    );
    expect(error.issues.map((i) => i.path).sort()).toEqual(['email', 'name', 'passwordHash']);
    expect(error.message).not.toContain('hunter2');
  });

  it('rejects unknown fields (a plain password) and missing ones before the database', async () => {
    const input = { email: uniqueEmail(), name: 'Ada', password: 'plain-text' } as unknown as users.CreateUserInput;
    const error = await rejectedBeforeDatabase(() => users.createUser(t.db, input));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['(root)', 'passwordHash']);
    expect(error.message).not.toContain('plain-text');
  });
});

describe('getUser, getUserByEmail, getUserCredentials', () => {
  it('find a live user by id and by email in any case; only the credentials lookup returns the hash', async () => {
    const created = await createTestUser(t.db);
    const byId = await users.getUser(t.db, created.id);
    const byEmail = await users.getUserByEmail(t.db, ` ${created.email.toUpperCase()} `);
    expect(byId).toEqual(byEmail);
    expect(Object.keys(byId).sort()).toEqual(USER_KEYS);
    expect(JSON.stringify(byId)).not.toContain(created.passwordHash);
    expect(await users.getUserCredentials(t.db, created.email.toUpperCase())).toEqual({
      id: created.id,
      email: created.email,
      passwordHash: created.passwordHash,
    });
  });

  it('an unknown id or email is a NotFoundError (the email is not repeated in the message)', async () => {
    await expect(users.getUser(t.db, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      constructor: NotFoundError,
      entity: 'user',
      id: '00000000-0000-4000-8000-000000000000',
    });
    const email = uniqueEmail('nobody');
    for (const lookup of [users.getUserByEmail, users.getUserCredentials]) {
      const error = await lookup(t.db, email).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as Error).message).not.toContain(email);
    }
  });

  it('a malformed id or email is a ValidationError naming it, and no query is sent', async () => {
    expect((await rejectedBeforeDatabase(() => users.getUser(t.db, "1' OR '1'='1"))).issues).toEqual([
      { path: 'id', message: 'must be a UUID' },
    ]);
    expect((await rejectedBeforeDatabase(() => users.getUserByEmail(t.db, 'no at sign'))).issues[0]?.path).toBe('email');
    expect((await rejectedBeforeDatabase(() => users.getUserCredentials(t.db, ''))).issues[0]?.path).toBe('email');
  });
});

describe('updateUser', () => {
  it('changes name and email (normalised) and moves updatedAt', async () => {
    const user = await createTestUser(t.db);
    const email = uniqueEmail('renamed');
    const updated = await users.updateUser(t.db, user.id, { name: 'Ada King', email: ` ${email.toUpperCase()}` });
    expect(updated).toMatchObject({ id: user.id, name: 'Ada King', email, createdAt: user.createdAt });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(user.updatedAt.getTime());
    expect(Object.keys(updated).sort()).toEqual(USER_KEYS);
    expect(await users.getUserByEmail(t.db, email)).toEqual(updated);
  });

  it("another live account's email is a ConflictError on email, and nothing changes", async () => {
    const [a, b] = [await createTestUser(t.db), await createTestUser(t.db)];
    await expect(users.updateUser(t.db, a.id, { email: b.email })).rejects.toMatchObject({ constructor: ConflictError, fields: ['email'] });
    expect((await users.getUser(t.db, a.id)).email).toBe(a.email);
  });

  it('an unknown or soft-deleted user is a NotFoundError; empty or invalid changes are rejected before the database', async () => {
    await expect(users.updateUser(t.db, '00000000-0000-4000-8000-000000000001', { name: 'X' })).rejects.toBeInstanceOf(NotFoundError);
    const closed = await createTestUser(t.db, { deletedAt: new Date() });
    await expect(users.updateUser(t.db, closed.id, { name: 'Back Again' })).rejects.toBeInstanceOf(NotFoundError);
    const user = await createTestUser(t.db);
    expect((await rejectedBeforeDatabase(() => users.updateUser(t.db, user.id, {}))).issues).toEqual([
      { path: '(root)', message: 'must change at least one of email, name' },
    ]);
    const error = await rejectedBeforeDatabase(() => users.updateUser(t.db, user.id, { name: 'x'.repeat(101), email: 'a@b' }));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['email', 'name']);
  });
});

describe('hardDeleteUser', () => {
  it('erases the user and, by cascade, their ideas; a second call is a NotFoundError', async () => {
    const user = await createTestUser(t.db);
    const ideas = [await createTestIdea(t.db, user.id), await createTestIdea(t.db, user.id, { status: 'submitted' })];
    await users.hardDeleteUser(t.db, user.id);
    const left = await t.db
      .selectFrom('businessIdeas')
      .select('id')
      .where(
        'id',
        'in',
        ideas.map((i) => i.id),
      )
      .execute();
    expect(left).toEqual([]);
    expect(await t.db.selectFrom('users').select('id').where('id', '=', user.id).execute()).toEqual([]);
    await expect(users.hardDeleteUser(t.db, user.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('erases a soft-deleted (closed) account too', async () => {
    const closed = await createTestUser(t.db, { deletedAt: new Date() });
    await users.hardDeleteUser(t.db, closed.id);
    expect(await t.db.selectFrom('users').select('id').where('id', '=', closed.id).execute()).toEqual([]);
  });

  it('a malformed id is rejected before the database', async () => {
    await rejectedBeforeDatabase(() => users.hardDeleteUser(t.db, 'not-a-uuid'));
  });
});

describe('password_hash', () => {
  it('no ordinary read or write returns it; only getUserCredentials does', async () => {
    const hash = fakePasswordHash();
    const created = await users.createUser(t.db, { email: uniqueEmail(), name: 'Grace Hopper', passwordHash: hash });
    const results: unknown[] = [
      created,
      await users.getUser(t.db, created.id),
      await users.getUserByEmail(t.db, created.email),
      await users.listUsers(t.db, { limit: 100, includeDeleted: true }),
      await users.updateUser(t.db, created.id, { name: 'Grace B. Hopper' }),
      await users.softDeleteUser(t.db, created.id),
      await users.restoreUser(t.db, created.id),
    ];
    for (const result of results) {
      const text = JSON.stringify(result);
      expect(text).not.toContain(hash);
      expect(text).not.toContain('passwordHash');
    }
    expect((await users.getUserCredentials(t.db, created.email)).passwordHash).toBe(hash);
  });
});

describe('the schemas mirror the CHECK constraints', () => {
  // The database is the second line: at each boundary, validation and the CHECK must agree.
  const domain = '@example.com';
  const emails = [
    `${'a'.repeat(254 - domain.length)}${domain}`,
    `${'a'.repeat(255 - domain.length)}${domain}`,
    `${'😀'.repeat(254 - domain.length)}${domain}`, // 254 code points, more UTF-16 units
    `  ${'B'.repeat(240)}${domain}  `,
    'ÄDA@Bücher.de',
    'a@b.c',
    'a@b',
    'a b@c.de',
    '@c.de',
  ];
  const names = ['A', ' A ', '', '   ', 'x'.repeat(100), 'x'.repeat(101), '😀'.repeat(100), ' '.repeat(100) + 'x'];

  it.each([...emails.map((v) => ['email', v] as const), ...names.map((v) => ['name', v] as const)])('%s %j', async (field, value) => {
    const parsed = createUserSchema.shape[field].safeParse(value);
    // What the repository would send: the normalised value when validation passes.
    const sent = parsed.success ? parsed.data : field === 'email' ? value.trim().toLowerCase() : value;
    const row = { email: uniqueEmail(), name: 'Mirror Test', passwordHash: fakePasswordHash(), [field]: sent };
    const accepted = await t.db
      .insertInto('users')
      .values(row)
      .execute()
      .then(
        () => true,
        (error: unknown) => {
          expect(error).toBeInstanceOf(ValidationError); // a CHECK violation, mapped
          return false;
        },
      );
    expect(parsed.success).toBe(accepted);
  });
});
