/**
 * Users: platform accounts. Emails are stored normalised (lower, trimmed) and are unique among
 * live accounts; a soft-deleted (closed) account is hidden from every ordinary read.
 *
 * `password_hash` is read by exactly one function, `getUserCredentials`; every other query names
 * its columns (`USER_COLUMNS`), so a hash cannot leak through a `select *`.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, Users } from '../schema/generated.js';
import { NotFoundError } from '../errors.js';
import { parseInput } from '../validation/common.js';
import {
  createUserSchema,
  emailLookupSchema,
  listUsersSchema,
  updateUserSchema,
  userIdSchema,
  type CreateUserInput,
  type ListUsersInput,
  type UpdateUserInput,
} from '../validation/users.js';
import { afterCursor, cursorKeySelection, toPage, type Page } from './pagination.js';

export type { CreateUserInput, ListUsersInput, UpdateUserInput } from '../validation/users.js';

/** A user as ordinary reads return it: never the password hash. `deletedAt` is set only for closed accounts (listUsers with includeDeleted). */
export type User = Pick<Selectable<Users>, 'id' | 'email' | 'name' | 'createdAt' | 'updatedAt' | 'deletedAt'>;

/** What a login needs: the live account's id, email and password hash. */
export type UserCredentials = Pick<Selectable<Users>, 'id' | 'email' | 'passwordHash'>;

const USER_COLUMNS = ['users.id', 'users.email', 'users.name', 'users.createdAt', 'users.updatedAt', 'users.deletedAt'] as const;
const ENTITY = 'user';

const userId = (id: string): string => parseInput(userIdSchema, { id }, ENTITY).id;

/**
 * Creates an account. The email is normalised (trimmed, lowercased) before insert; the caller
 * hashes the password (this library never sees passwords) and passes the hash.
 * An email already used by a live account is a `ConflictError` with `fields: ['email']`.
 *
 * @example
 * ```ts
 * const user = await createUser(db, { email: 'Ada@Example.com ', name: 'Ada Lovelace', passwordHash: await argon2.hash(pw) });
 * user.email; // 'ada@example.com'
 * ```
 */
export async function createUser(db: Kysely<DB>, input: CreateUserInput): Promise<User> {
  const values = parseInput(createUserSchema, input, ENTITY);
  return db.insertInto('users').values(values).returning(USER_COLUMNS).executeTakeFirstOrThrow();
}

/**
 * A live account by id; a missing or soft-deleted one is a `NotFoundError`.
 *
 * @example
 * ```ts
 * const user = await getUser(db, '6f1c...');
 * ```
 */
export async function getUser(db: Kysely<DB>, id: string): Promise<User> {
  const key = userId(id);
  const user = await db.selectFrom('users').select(USER_COLUMNS).where('users.id', '=', key).where('users.deletedAt', 'is', null).executeTakeFirst();
  if (!user) throw new NotFoundError(ENTITY, key);
  return user;
}

/**
 * A live account by email (normalised first, so case and surrounding spaces do not matter).
 * Not found is a `NotFoundError` whose message does not repeat the email.
 *
 * @example
 * ```ts
 * const user = await getUserByEmail(db, 'ADA@example.com');
 * ```
 */
export async function getUserByEmail(db: Kysely<DB>, email: string): Promise<User> {
  const key = parseInput(emailLookupSchema, { email }, ENTITY).email;
  const user = await db.selectFrom('users').select(USER_COLUMNS).where('users.email', '=', key).where('users.deletedAt', 'is', null).executeTakeFirst();
  if (!user) throw new NotFoundError(ENTITY);
  return user;
}

/**
 * The only read that returns `passwordHash`: for verifying a login. Live accounts only; an
 * unknown email is a `NotFoundError` that does not repeat the email.
 *
 * @example
 * ```ts
 * const { id, passwordHash } = await getUserCredentials(db, form.email);
 * if (!(await argon2.verify(passwordHash, form.password))) throw new Unauthorized();
 * ```
 */
export async function getUserCredentials(db: Kysely<DB>, email: string): Promise<UserCredentials> {
  const key = parseInput(emailLookupSchema, { email }, ENTITY).email;
  const credentials = await db
    .selectFrom('users')
    .select(['users.id', 'users.email', 'users.passwordHash'])
    .where('users.email', '=', key)
    .where('users.deletedAt', 'is', null)
    .executeTakeFirst();
  if (!credentials) throw new NotFoundError(ENTITY);
  return credentials;
}

/**
 * Accounts, newest first (created_at DESC, id DESC), one keyset page at a time. Pass the previous
 * page's `nextCursor` as `cursor`; rows inserted meanwhile never cause repeats or skips.
 *
 * @example
 * ```ts
 * let page = await listUsers(db, { limit: 50 });
 * while (page.nextCursor) page = await listUsers(db, { limit: 50, cursor: page.nextCursor });
 * ```
 */
export async function listUsers(db: Kysely<DB>, options: ListUsersInput = {}): Promise<Page<User>> {
  const { limit, cursor, includeDeleted } = parseInput(listUsersSchema, options, ENTITY);
  const rows = await db
    .selectFrom('users')
    .select([...USER_COLUMNS, cursorKeySelection('users.createdAt')])
    .$if(!includeDeleted, (qb) => qb.where('users.deletedAt', 'is', null))
    .$if(cursor !== undefined, (qb) => qb.where(afterCursor('users.createdAt', 'users.id', cursor!)))
    .orderBy('users.createdAt', 'desc')
    .orderBy('users.id', 'desc')
    .limit(limit + 1)
    .execute();
  return toPage(rows, limit);
}

/**
 * Changes a live account's name and/or email (normalised). A missing or soft-deleted account is
 * a `NotFoundError`; an email taken by another live account is a `ConflictError` on `email`.
 *
 * @example
 * ```ts
 * const user = await updateUser(db, id, { name: 'Ada King' });
 * ```
 */
export async function updateUser(db: Kysely<DB>, id: string, input: UpdateUserInput): Promise<User> {
  const key = userId(id);
  const changes = parseInput(updateUserSchema, input, ENTITY);
  const user = await db
    .updateTable('users')
    .set(changes)
    .where('users.id', '=', key)
    .where('users.deletedAt', 'is', null)
    .returning(USER_COLUMNS)
    .executeTakeFirst();
  if (!user) throw new NotFoundError(ENTITY, key);
  return user;
}

/**
 * Closes an account: sets `deletedAt`, after which ordinary reads no longer see it and its email
 * may be registered again. Returns the closed account. A missing or already closed account is a
 * `NotFoundError`. The user's ideas are kept (and stay readable by id); `hardDeleteUser` erases them.
 *
 * @example
 * ```ts
 * await softDeleteUser(db, id);
 * ```
 */
export async function softDeleteUser(db: Kysely<DB>, id: string): Promise<User> {
  const key = userId(id);
  const user = await db
    .updateTable('users')
    .set({ deletedAt: sql<Date>`now()` })
    .where('users.id', '=', key)
    .where('users.deletedAt', 'is', null)
    .returning(USER_COLUMNS)
    .executeTakeFirst();
  if (!user) throw new NotFoundError(ENTITY, key);
  return user;
}

/**
 * Reopens a closed account. If its email was registered again meanwhile, the partial unique
 * index refuses and this is a `ConflictError` on `email`. Restoring a live account returns it
 * unchanged; an unknown id is a `NotFoundError`.
 *
 * @example
 * ```ts
 * const user = await restoreUser(db, id); // user.deletedAt === null
 * ```
 */
export async function restoreUser(db: Kysely<DB>, id: string): Promise<User> {
  const key = userId(id);
  const restored = await db
    .updateTable('users')
    .set({ deletedAt: null })
    .where('users.id', '=', key)
    .where('users.deletedAt', 'is not', null)
    .returning(USER_COLUMNS)
    .executeTakeFirst();
  if (restored) return restored;
  const live = await db.selectFrom('users').select(USER_COLUMNS).where('users.id', '=', key).where('users.deletedAt', 'is', null).executeTakeFirst();
  if (!live) throw new NotFoundError(ENTITY, key);
  return live;
}

/**
 * Erases an account, live or closed, and (by ON DELETE CASCADE) its ideas, their evaluations and
 * agent results. An unknown id is a `NotFoundError`.
 *
 * @example
 * ```ts
 * await hardDeleteUser(db, id); // e.g. a GDPR erasure request
 * ```
 */
export async function hardDeleteUser(db: Kysely<DB>, id: string): Promise<void> {
  const key = userId(id);
  const deleted = await db.deleteFrom('users').where('users.id', '=', key).returning('users.id').executeTakeFirst();
  if (!deleted) throw new NotFoundError(ENTITY, key);
}
