/**
 * Transactions with bounded retries on serialization failures and deadlocks, the per-transaction
 * actor setting that the audit triggers read, and the acting-user setting that row-level
 * security reads.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { DataLayerError, SerializationError } from '../errors.js';
import type { DB } from '../schema/generated.js';
import { parseTransactionOptions, type IsolationLevel } from '../validation/transactions.js';
import { isStaleStatementError } from './statements.js';

/** The transaction-local setting that the audit triggers read as the actor. */
export const ACTOR_SETTING = 'app.actor_id';

/**
 * The transaction-local setting that row-level security reads as the acting user
 * (`current_app_user_id()`, migration 20261125110000): through the app role, business ideas,
 * evaluations and agent results of other users are invisible, and without it nothing is visible.
 * `database.withUser` sets it.
 */
export const USER_SETTING = 'app.user_id';

/** Options for `database.transaction()` and `database.withUser()`. */
export interface TransactionOptions {
  /** Default: the server's (`read committed`). */
  isolationLevel?: IsolationLevel | null;
  /** Attempts in all, including the first, on 40001/40P01: 1 to 20, default 3; 1 disables retries. */
  maxAttempts?: number | null;
  /** Recorded by the audit triggers as the actor of every change the transaction makes. Default: the user of `withUser`. */
  actorId?: string | null;
  /** `START TRANSACTION READ ONLY`: writes fail (`ReadOnlyNodeError`), and with replicas it runs on a standby (docs/replicas.md). Default false. */
  readOnly?: boolean | null;
}

/**
 * Runs `fn` in a transaction (acting for `user.userId` when given: `withUser`); when the
 * transaction fails with a serialization failure or a deadlock, runs the whole callback again
 * (up to `maxAttempts`, with jittered backoff), and likewise at once when a statement prepared before
 * a schema change went stale (0A000). Any other error rolls back and is thrown at once.
 * `fn` may therefore run more than once: keep side effects outside the database out of it.
 * Invalid options (or user) are a `ValidationError` listing each, before anything runs.
 */
export async function runTransaction<T>(
  db: Kysely<DB>,
  fn: (trx: Transaction<DB>) => Promise<T>,
  given: TransactionOptions | null | undefined,
  user?: { userId: unknown },
): Promise<T> {
  const parsed = parseTransactionOptions(given, user);
  const userId = parsed.userId;
  const maxAttempts = parsed.maxAttempts ?? 3;
  // The user is the natural actor of what they change; an explicit actorId wins.
  const actor = parsed.actorId ?? userId;
  for (let attempt = 1; ; attempt++) {
    try {
      let builder = db.transaction();
      if (parsed.isolationLevel) builder = builder.setIsolationLevel(parsed.isolationLevel);
      if (parsed.readOnly) builder = builder.setAccessMode('read only');
      return await builder.execute(async (trx) => {
        // is_local = true: the settings end with the transaction, so a pooled connection never
        // carries one user's identity into the next checkout. One round trip for both.
        if (userId !== undefined) {
          await sql`select set_config(${ACTOR_SETTING}, ${actor}, true), set_config(${USER_SETTING}, ${userId}, true)`.execute(trx);
        } else if (actor !== undefined) {
          await sql`select set_config(${ACTOR_SETTING}, ${actor}, true)`.execute(trx);
        }
        return fn(trx);
      });
    } catch (error) {
      // A statement prepared before a schema change failed the transaction before doing anything;
      // it is closed now (statements.ts), so the next attempt prepares it afresh.
      const stale = error instanceof DataLayerError && isStaleStatementError(error.cause);
      if (!(error instanceof SerializationError || stale) || attempt >= maxAttempts) throw error;
      if (!stale) await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
    }
  }
}

/**
 * The pause after failed attempt `attempt`: 10-20 ms, 20-40 ms, ... (enough for the winner to
 * commit, short enough to stay interactive), the base capped at 1 s so that a large
 * `maxAttempts` (up to 20) cannot sleep for minutes.
 */
export function retryDelayMs(attempt: number): number {
  const base = Math.min(1_000, 10 * 2 ** (attempt - 1));
  return base + Math.random() * base;
}
