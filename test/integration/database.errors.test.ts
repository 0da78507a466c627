/**
 * Database errors as the caller sees them through createDatabase(): typed (src/errors.ts), with
 * the pg error as `cause`, and messages that name fields and constraints but never a value.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/database.js';
import { ConflictError, DataLayerError, InvalidReferenceError, QueryError, TimeoutError, ValidationError } from '../../src/errors.js';
import { createTestIdea, createTestUser, fakePasswordHash, ideaDescription, uniqueEmail } from '../support/factories.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();

/** Awaits a rejection and returns the error (fails if the promise resolves). */
async function failure(promise: Promise<unknown>): Promise<DataLayerError> {
  const error = await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataLayerError);
  return error as DataLayerError;
}

const sqlState = (error: Error) => (error.cause as { code?: string } | undefined)?.code;

describe('database errors through createDatabase()', () => {
  it('a duplicate email is a ConflictError naming the field, without the email, name or hash', async () => {
    const email = uniqueEmail('conflict-canary');
    await createTestUser(t.db, { email });
    const hash = `scrypt$HASH-CANARY-${fakePasswordHash()}`;
    const error = await failure(createTestUser(t.db, { email, passwordHash: hash, name: 'Name Canary' }));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'CONFLICT', table: 'users', fields: ['email'], constraint: 'users_email_key' });
    expect(sqlState(error)).toBe('23505');
    for (const secret of [email, 'conflict-canary', 'HASH-CANARY', 'Name Canary']) expect(error.message).not.toContain(secret);
    expect(error.message).toBe('users: email already exists (users_email_key)');
  });

  it('a missing parent is an InvalidReferenceError naming the field, without the id', async () => {
    const missing = randomUUID();
    const error = await failure(createTestIdea(t.db, missing));
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect(error).toMatchObject({ table: 'business_ideas', fields: ['userId'], constraint: 'business_ideas_user_id_fkey' });
    expect(sqlState(error)).toBe('23503');
    expect(error.message).not.toContain(missing);
  });

  it('a CHECK violation is a ValidationError naming the constraint, without the value', async () => {
    const user = await createTestUser(t.db);
    const title = 'x';
    const error = await failure(createTestIdea(t.db, user.id, { title, description: `${ideaDescription()} CHECK-CANARY` }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: 'business_ideas_title_length_check', message: 'violates check constraint business_ideas_title_length_check' },
    ]);
    expect(sqlState(error)).toBe('23514');
    expect(error.message).not.toContain('CHECK-CANARY');
  });

  it('a NOT NULL violation is a ValidationError naming the field', async () => {
    const error = await failure(
      sql`insert into users (email, password_hash, name) values (${uniqueEmail()}, ${fakePasswordHash()}, null)`.execute(t.db),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path: 'name', message: 'is required' }]);
  });

  it('malformed uuid or enum text is a ValidationError without the value', async () => {
    const bad = 'not-a-uuid-UUID-CANARY';
    const error = await failure(t.db.selectFrom('users').select('id').where('id', '=', bad).execute());
    expect(error).toBeInstanceOf(ValidationError);
    expect(sqlState(error)).toBe('22P02');
    expect(error.message).not.toContain('UUID-CANARY');
    // PostgreSQL itself quotes the value; the mapping must not pass that on.
    expect((error.cause as Error).message).toContain('UUID-CANARY');

    const status = await failure(
      t.db
        .selectFrom('businessIdeas')
        .select('id')
        .where('status', '=', 'ENUM-CANARY' as 'draft')
        .execute(),
    );
    expect(status).toBeInstanceOf(ValidationError);
    expect(status.message).not.toContain('ENUM-CANARY');
  });

  it('a statement that outlives statement_timeout is a TimeoutError', async () => {
    const quick = createDatabase({ connectionString: t.testDatabase.url, env: {}, pool: { max: 1, statementTimeoutMs: 100 } });
    try {
      const error = await failure(sql`select pg_sleep(2)`.execute(quick.db));
      expect(error).toBeInstanceOf(TimeoutError);
      expect(sqlState(error)).toBe('57014');
      expect(error.message).toMatch(/statement_timeout/);
      // The connection is still good for the next query.
      expect((await sql<{ one: number }>`select 1 as one`.execute(quick.db)).rows).toEqual([{ one: 1 }]);
    } finally {
      await quick.close();
    }
  });

  it('a lock wait past lock_timeout is a TimeoutError', async () => {
    const user = await createTestUser(t.db);
    await t.database.transaction(t.db, async (holder) => {
      await holder.selectFrom('users').select('id').where('id', '=', user.id).forUpdate().execute();
      const error = await failure(
        t.database.transaction(t.db, async (trx) => {
          await sql`set local lock_timeout = '50ms'`.execute(trx);
          await trx.updateTable('users').set({ name: 'Blocked Rename' }).where('id', '=', user.id).execute();
        }),
      );
      expect(error).toBeInstanceOf(TimeoutError);
      expect(sqlState(error)).toBe('55P03');
    });
  });

  it('any other failure is a QueryError with the SQLSTATE; data exceptions drop the quoted value', async () => {
    const zero = await failure(sql`select 1 / 0`.execute(t.db));
    expect(zero).toBeInstanceOf(QueryError);
    expect(zero).toMatchObject({ sqlState: '22012', message: 'database error 22012: division by zero' });

    const date = await failure(sql`select ${'DATE-CANARY'}::timestamptz`.execute(t.db));
    expect(date).toMatchObject({ constructor: QueryError, sqlState: '22007' });
    expect(date.message).not.toContain('DATE-CANARY');
    expect((date.cause as Error).message).toContain('DATE-CANARY');

    const missing = await failure(sql`select * from no_such_table`.execute(t.db));
    expect(missing).toMatchObject({ constructor: QueryError, sqlState: '42P01' });
  });
});
