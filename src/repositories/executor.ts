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
 * The mark exists only in the type: at run time each is an ordinary Kysely instance or
 * transaction. Kysely's own `transaction()` returns an unmarked transaction; open one with
 * `database.transaction(executor, fn)` (or `withUser`) to keep the mark.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../schema/generated.js';

declare const scope: unique symbol;

/** The four paths; see the module comment. */
export type Scope = 'user' | 'worker' | 'owner' | 'anonymous';

/**
 * A handle (or transaction) made for `S`. The default, any path but `anonymous`, is what the
 * business ideas, evaluations and agent results repositories take.
 */
export type Executor<S extends Scope = 'user' | 'worker' | 'owner'> = Kysely<DB> & { readonly [scope]: S };

/** Marks a handle or transaction as made for `S`: only the facade (createDatabase) and the repositories' own transactions call it. */
export function asExecutor<S extends Scope>(db: Kysely<DB>): Executor<S> {
  return db as Executor<S>;
}
