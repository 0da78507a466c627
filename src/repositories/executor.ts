/**
 * Who a repository call acts as. Every repository function takes an `Executor` first: a Kysely
 * handle or transaction whose type records the path its caller chose, so a plain `Kysely<DB>`
 * does not compile there. Through the application role, row-level security shows business ideas,
 * evaluations and agent results only to the user a transaction acts for, and nothing at all
 * without one; making the choice explicit at every call is what keeps a query from silently
 * seeing nothing.
 *
 * - `user`: `database.withUser(userId, (trx) => ...)`, a transaction acting as that user.
 * - `worker`: `database.worker`, for the evaluation workers' role (its policies show the work in flight).
 * - `owner`: `database.owner`, for the role that owns the tables (migrations, seeds, operators),
 *   which row-level security does not filter.
 * - `anonymous`: `database.anonymous`, before any user is known (sign-up, login); only the users
 *   repository takes it, as the users table is not filtered.
 *
 * Each path's type also leaves out the tables its role may not query (src/schema/roles.ts): a
 * `user` or `anonymous` handle has no `auditLog`, a `worker` one no `users`. The mark and the
 * narrowing exist only in the type: at run time each is an ordinary Kysely instance or
 * transaction. Kysely's own `transaction()` returns an unmarked transaction; open one with
 * `database.transaction(executor, fn)` (or `withUser`) to keep the mark.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../schema/generated.js';
import type { RoleDB } from '../schema/roles.js';

declare const scope: unique symbol;

/** The four paths; see the module comment. */
export type Scope = 'user' | 'worker' | 'owner' | 'anonymous';

/** The role a path works through: `user` and `anonymous` are the application's. */
export type ScopeRole<S extends Scope> = S extends 'owner' ? 'owner' : S extends 'worker' ? 'worker' : 'app';

/**
 * A handle (or transaction) made for `S`, typed with the tables its role may query. The default,
 * any path but `anonymous`, is what the business ideas, evaluations and agent results
 * repositories take. A union of paths is a union of handles (one per path).
 */
export type Executor<S extends Scope = 'user' | 'worker' | 'owner'> = S extends Scope ? Kysely<RoleDB<ScopeRole<S>>> & PathMark<S> : never;

/** The type-only mark of the path a handle was made for. */
export interface PathMark<S extends Scope> {
  readonly [scope]: S;
}

/** Marks a handle or transaction as made for `S`: only the facade (createDatabase) and the repositories' own transactions call it. */
export function asExecutor<S extends Scope>(db: Kysely<DB>): Executor<S> {
  return db as unknown as Executor<S>;
}

/**
 * The repositories' own view of an executor: every table. What a path may do is decided by its
 * signature (which paths it takes); its queries then run as written.
 */
export function tables(executor: Executor<Scope>): Kysely<DB> {
  return executor as unknown as Kysely<DB>;
}
