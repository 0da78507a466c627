/**
 * `database.transaction()` and `database.withUser()` options: every field checked in one parse
 * (so a refusal lists every failing one) before the transaction begins and the callback runs.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { charLength, hasLoneSurrogate, id, issuesOf } from './common.js';

/** PostgreSQL's isolation levels, as `SET TRANSACTION ISOLATION LEVEL` spells them. */
export const ISOLATION_LEVELS = ['read uncommitted', 'read committed', 'repeatable read', 'serializable'] as const;

/** An isolation level PostgreSQL has. */
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number];

/** The audit log's actor: text, so no NUL, and well-formed so it is recorded as sent. */
const actor = z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
  if (value.trim() === '') ctx.addIssue({ code: 'custom', message: 'must not be empty or blank' });
  if (charLength(value) > 200) ctx.addIssue({ code: 'custom', message: 'must be at most 200 characters' });
  if (value.includes('\u0000')) ctx.addIssue({ code: 'custom', message: 'must not contain the NUL character (\\u0000)' });
  if (hasLoneSurrogate(value)) ctx.addIssue({ code: 'custom', message: 'must be well-formed Unicode (no lone surrogate)' });
});

/** `transaction()` options; absent or null fields take their defaults. */
export const transactionOptionsSchema = z.strictObject({
  isolationLevel: z.enum(ISOLATION_LEVELS, { error: `must be one of ${ISOLATION_LEVELS.join(', ')}` }).nullish(),
  maxAttempts: z
    .number({ error: 'must be a whole number from 1 to 20' })
    .int({ error: 'must be a whole number from 1 to 20' })
    .min(1, { error: 'must be a whole number from 1 to 20' })
    .max(20, { error: 'must be a whole number from 1 to 20' })
    .nullish(),
  actorId: actor.nullish(),
  readOnly: z.boolean({ error: 'must be true or false' }).nullish(),
});

/**
 * `transaction()`'s options, and for `withUser()` its user too, checked together: a
 * `ValidationError` lists every failing field, the user's included whatever the options are.
 */
export function parseTransactionOptions(options: unknown, user?: { userId: unknown }): TransactionSettings {
  const parsed = transactionOptionsSchema.safeParse(options ?? {});
  const userId = user ? id.safeParse(user.userId) : undefined;
  const issues = [
    ...(userId && !userId.success ? issuesOf(userId.error).map((issue) => ({ ...issue, path: 'userId' })) : []),
    ...(parsed.success ? [] : issuesOf(parsed.error)),
  ];
  if (!parsed.success || (userId && !userId.success)) throw new ValidationError(issues, { subject: 'transaction' });
  return { ...parsed.data, userId: userId?.data };
}

/** Checked transaction options. */
export interface TransactionSettings {
  isolationLevel?: IsolationLevel | null | undefined;
  maxAttempts?: number | null | undefined;
  actorId?: string | null | undefined;
  readOnly?: boolean | null | undefined;
  userId?: string | undefined;
}
