/**
 * Users: platform accounts. Emails are stored normalised (lower, trimmed) and are unique among
 * live accounts; a soft-deleted (closed) account is hidden from every ordinary read.
 *
 * `password_hash` is read by exactly one function, `getUserCredentials`; every other query names
 * its columns (`USER_COLUMNS`), so a hash cannot leak through a `select *`.
 */
import { sql, type Selectable } from 'kysely';
import { NotFoundError } from '../errors.js';
import type { Users } from '../schema/generated.js';
import { parseId, parseInput } from '../validation/common.js';
import {
  createUserSchema,
  emailLookupSchema,
  listUsersSchema,
  updateUserSchema,
  type CreateUserInput,
  type ListUsersInput,
  type UpdateUserInput,
} from '../validation/users.js';
import { traced } from '../telemetry.js';
import { compiled, compiledShapes } from './compiled.js';
import { tables, type Executor } from './executor.js';
import { newestFirst, toPage, type Page } from './page.js';

export type { CreateUserInput, ListUsersInput, UpdateUserInput } from '../validation/users.js';

/** A user as ordinary reads return it: never the password hash. `deletedAt` is set only for closed accounts (listUsers with includeDeleted). */
export type User = Pick<Selectable<Users>, 'id' | 'email' | 'name' | 'createdAt' | 'updatedAt' | 'deletedAt'>;

/** What a login needs: the live account's id, email and password hash. */
export type UserCredentials = Pick<Selectable<Users>, 'id' | 'email' | 'passwordHash'>;

const USER_COLUMNS = ['users.id', 'users.email', 'users.name', 'users.createdAt', 'users.updatedAt', 'users.deletedAt'] as const;
const ENTITY = 'user';

/**
 * Every path but the worker's may use this repository, `database.anonymous` included: the users
 * table is not filtered by row-level security (sign-up and login look accounts up before any
 * user is known). The worker role has no grant on it.
 */
type UsersExecutor = Executor<'user' | 'owner' | 'anonymous'>;

const insertUser = compiled((db, email: string, name: string, passwordHash: string) =>
  db.insertInto('users').values({ email, name, passwordHash }).returning(USER_COLUMNS),
);
const userById = compiled((db, key: string) =>
  db.selectFrom('users').select(USER_COLUMNS).where('users.id', '=', key).where('users.deletedAt', 'is', null),
);
const userByEmail = compiled((db, email: string) =>
  db.selectFrom('users').select(USER_COLUMNS).where('users.email', '=', email).where('users.deletedAt', 'is', null),
);
const credentialsByEmail = compiled((db, email: string) =>
  db
    .selectFrom('users')
    .select(['users.id', 'users.email', 'users.passwordHash'])
    .where('users.email', '=', email)
    .where('users.deletedAt', 'is', null),
);
const usersPage = compiledShapes(
  (
    db,
    shape: { includeDeleted: boolean; cursor: boolean },
    cursorCreatedAt: string | undefined,
    cursorId: string | undefined,
    take: number,
  ) =>
    newestFirst(
      db
        .selectFrom('users')
        .select(USER_COLUMNS)
        .$if(!shape.includeDeleted, (qb) => qb.where('users.deletedAt', 'is', null)),
      'users',
      shape.cursor ? { createdAt: cursorCreatedAt!, id: cursorId! } : undefined,
      take,
    ),
);
const updateLiveUser = compiledShapes(
  (db, shape: { email: boolean; name: boolean }, key: string, email: string | undefined, name: string | undefined) =>
    db
      .updateTable('users')
      .set({ ...(shape.email ? { email: email! } : {}), ...(shape.name ? { name: name! } : {}) })
      .where('users.id', '=', key)
      .where('users.deletedAt', 'is', null)
      .returning(USER_COLUMNS),
);
const closeUser = compiled((db, key: string) =>
  db
    .updateTable('users')
    .set({ deletedAt: sql<Date>`now()` })
    .where('users.id', '=', key)
    .where('users.deletedAt', 'is', null)
    .returning(USER_COLUMNS),
);
const reopenUser = compiled((db, key: string) =>
  db
    .updateTable('users')
    .set({ deletedAt: null })
    .where('users.id', '=', key)
    .where('users.deletedAt', 'is not', null)
    .returning(USER_COLUMNS),
);
const deleteUser = compiled((db, key: string) => db.deleteFrom('users').where('users.id', '=', key).returning('users.id'));

/**
 * Creates an account. The email is normalised (trimmed, lowercased) before insert; the caller
 * hashes the password (this library never sees passwords) and passes the hash.
 * An email already used by a live account is a `ConflictError` with `fields: ['email']`.
 *
 * @example
 * ```ts
 * const user = await createUser(database.anonymous, { email: 'Ada@Example.com ', name: 'Ada Lovelace', passwordHash: await argon2.hash(pw) });
 * user.email; // 'ada@example.com'
 * ```
 */
export const createUser = traced('users.createUser', async (executor: UsersExecutor, input: CreateUserInput): Promise<User> => {
  const db = tables(executor);
  const values = parseInput(createUserSchema, input, ENTITY);
  return insertUser.one(db, values.email, values.name, values.passwordHash);
});

/**
 * A live account by id; a missing or soft-deleted one is a `NotFoundError`.
 *
 * @example
 * ```ts
 * const me = await database.withUser(session.userId, (trx) => getUser(trx, session.userId));
 * ```
 */
export const getUser = traced('users.getUser', async (executor: UsersExecutor, id: string): Promise<User> => {
  const db = tables(executor);
  const key = parseId(id, 'id', ENTITY);
  const user = await userById.first(db, key);
  if (!user) throw new NotFoundError(ENTITY, key);
  return user;
});

/**
 * A live account by email (normalised first, so case and surrounding spaces do not matter).
 * Not found is a `NotFoundError` whose message does not repeat the email.
 *
 * @example
 * ```ts
 * const user = await getUserByEmail(database.anonymous, 'ADA@example.com');
 * ```
 */
export const getUserByEmail = traced('users.getUserByEmail', async (executor: UsersExecutor, email: string): Promise<User> => {
  const db = tables(executor);
  const key = parseInput(emailLookupSchema, { email }, ENTITY).email;
  const user = await userByEmail.first(db, key);
  if (!user) throw new NotFoundError(ENTITY);
  return user;
});

/**
 * The only read that returns `passwordHash`: for verifying a login. Live accounts only; an
 * unknown email is a `NotFoundError` that does not repeat the email.
 *
 * @example
 * ```ts
 * const { id, passwordHash } = await getUserCredentials(database.anonymous, form.email);
 * if (!(await argon2.verify(passwordHash, form.password))) throw new Unauthorized();
 * ```
 */
export const getUserCredentials = traced(
  'users.getUserCredentials',
  async (executor: UsersExecutor, email: string): Promise<UserCredentials> => {
    const db = tables(executor);
    const key = parseInput(emailLookupSchema, { email }, ENTITY).email;
    const credentials = await credentialsByEmail.first(db, key);
    if (!credentials) throw new NotFoundError(ENTITY);
    return credentials;
  },
);

/**
 * Accounts, newest first (created_at DESC, id DESC), one keyset page at a time. Pass the previous
 * page's `nextCursor` as `cursor`; rows inserted meanwhile never cause repeats or skips.
 *
 * @example
 * ```ts
 * let page = await listUsers(database.owner, { limit: 50 });
 * while (page.nextCursor) page = await listUsers(database.owner, { limit: 50, cursor: page.nextCursor });
 * ```
 */
export const listUsers = traced(
  'users.listUsers',
  async (executor: UsersExecutor, options?: ListUsersInput | null): Promise<Page<User>> => {
    const db = tables(executor);
    const { limit, cursor, includeDeleted } = parseInput(listUsersSchema, options ?? {}, ENTITY);
    const rows = await usersPage.all(db, { includeDeleted, cursor: cursor !== undefined }, cursor?.createdAt, cursor?.id, limit + 1);
    return toPage(rows, limit);
  },
);

/**
 * Changes a live account's name and/or email (normalised). A missing or soft-deleted account is
 * a `NotFoundError`; an email taken by another live account is a `ConflictError` on `email`.
 *
 * @example
 * ```ts
 * const user = await database.withUser(session.userId, (trx) => updateUser(trx, session.userId, { name: 'Ada King' }));
 * ```
 */
export const updateUser = traced('users.updateUser', async (executor: UsersExecutor, id: string, input: UpdateUserInput): Promise<User> => {
  const db = tables(executor);
  const key = parseId(id, 'id', ENTITY);
  const { email, name } = parseInput(updateUserSchema, input, ENTITY);
  const user = await updateLiveUser.first(db, { email: email !== undefined, name: name !== undefined }, key, email, name);
  if (!user) throw new NotFoundError(ENTITY, key);
  return user;
});

/**
 * Closes an account: sets `deletedAt`, after which ordinary reads no longer see it and its email
 * may be registered again. Returns the closed account. A missing or already closed account is a
 * `NotFoundError`. The user's ideas are kept (and stay readable by id); `hardDeleteUser` erases them.
 *
 * @example
 * ```ts
 * await database.withUser(session.userId, (trx) => softDeleteUser(trx, session.userId));
 * ```
 */
export const softDeleteUser = traced('users.softDeleteUser', async (executor: UsersExecutor, id: string): Promise<User> => {
  const db = tables(executor);
  const key = parseId(id, 'id', ENTITY);
  const user = await closeUser.first(db, key);
  if (!user) throw new NotFoundError(ENTITY, key);
  return user;
});

/**
 * Reopens a closed account. If its email was registered again meanwhile, the partial unique
 * index refuses and this is a `ConflictError` on `email`. Restoring a live account returns it
 * unchanged; an unknown id is a `NotFoundError`.
 *
 * @example
 * ```ts
 * const user = await restoreUser(database.owner, id); // user.deletedAt === null
 * ```
 */
export const restoreUser = traced('users.restoreUser', async (executor: UsersExecutor, id: string): Promise<User> => {
  const db = tables(executor);
  const key = parseId(id, 'id', ENTITY);
  const restored = await reopenUser.first(db, key);
  return restored ?? getUser(executor, key);
});

/**
 * Erases an account, live or closed, and (by ON DELETE CASCADE) its ideas, their evaluations and
 * agent results. An unknown id is a `NotFoundError`.
 *
 * @example
 * ```ts
 * await hardDeleteUser(database.owner, id); // e.g. a GDPR erasure request
 * ```
 */
export const hardDeleteUser = traced('users.hardDeleteUser', async (executor: UsersExecutor, id: string): Promise<void> => {
  const db = tables(executor);
  const key = parseId(id, 'id', ENTITY);
  const deleted = await deleteUser.first(db, key);
  if (!deleted) throw new NotFoundError(ENTITY, key);
});

/** Changes a live account, or throws `NotFoundError` when there is none with that id. */
