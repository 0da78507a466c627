/**
 * Test factories: insert realistic rows directly with Kysely (no validation, no repository code),
 * so a test of one repository does not depend on another one working. Each call makes unique
 * values; pass overrides for what the test cares about.
 *
 * Helpers for other tables may be appended at the end of this file.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Insertable, Kysely, Selectable } from 'kysely';
import type { BusinessIdeas, DB, Users } from '../../src/db/schema.generated.js';

let sequence = 0;
const next = (): number => ++sequence;

/** A unique, valid, normalised email: `user-<n>-<random>@example.test`. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${next()}-${randomUUID().slice(0, 8)}@example.test`;
}

/** Something shaped like a real password hash (scrypt, as the dev seeds make). Never a real one. */
export function fakePasswordHash(): string {
  return `scrypt$16384$8$1$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`;
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Katherine', 'Edsger', 'Barbara', 'Donald', 'Frances'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Johnson', 'Dijkstra', 'Liskov', 'Knuth', 'Allen'];
const pick = <T>(items: readonly T[], n: number): T => items[n % items.length] as T;

/**
 * Inserts a user (live unless `deletedAt` is given) and returns the whole row, hash included.
 *
 * @example
 * ```ts
 * const user = await createTestUser(t.db, { name: 'Ada Lovelace' });
 * ```
 */
export async function createTestUser(db: Kysely<DB>, overrides: Partial<Insertable<Users>> = {}): Promise<Selectable<Users>> {
  const n = next();
  return db
    .insertInto('users')
    .values({
      email: uniqueEmail(),
      passwordHash: fakePasswordHash(),
      name: `${pick(FIRST, n)} ${pick(LAST, n + 3)}`,
      ...overrides,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

const TITLES = [
  'Clinic appointment scheduler for rural practices',
  'Community compost pickup subscription',
  'Peer tutoring marketplace for night-school students',
  'Freight consolidation for small exporters',
  'Repair cafe booking and parts inventory',
];

/** A realistic idea description of 120-200 characters (well above the 50-character minimum). */
export function ideaDescription(n = next()): string {
  return (
    `A service for ${pick(['independent clinics', 'apartment blocks', 'adult learners', 'small exporters', 'repair volunteers'], n)} ` +
    'that replaces phone calls and spreadsheets with a simple web app, priced per month, ' +
    `starting in one city and growing through referrals (variant ${n}).`
  );
}

/**
 * Inserts a business idea for `userId` (status `draft` unless overridden) and returns the row.
 *
 * @example
 * ```ts
 * const idea = await createTestIdea(t.db, user.id, { status: 'submitted' });
 * ```
 */
export async function createTestIdea(
  db: Kysely<DB>,
  userId: string,
  overrides: Partial<Insertable<BusinessIdeas>> = {},
): Promise<Selectable<BusinessIdeas>> {
  const n = next();
  return db
    .insertInto('businessIdeas')
    .values({ userId, title: `${pick(TITLES, n)} #${n}`, description: ideaDescription(n), ...overrides })
    .returningAll()
    .executeTakeFirstOrThrow();
}

// ---------------------------------------------------------------------------------------------
// Evaluations and agent results
// ---------------------------------------------------------------------------------------------

import type { InsertObject } from 'kysely';
import type { AgentResults, Evaluations } from '../../src/db/schema.generated.js';

/**
 * Inserts a user and a submitted idea of theirs (the state in which an idea is evaluated).
 *
 * @example
 * ```ts
 * const idea = await createSubmittedIdea(t.db);
 * ```
 */
export async function createSubmittedIdea(db: Kysely<DB>, overrides: Partial<Insertable<BusinessIdeas>> = {}): Promise<Selectable<BusinessIdeas>> {
  const user = await createTestUser(db);
  return createTestIdea(db, user.id, { status: 'submitted', ...overrides });
}

/**
 * Inserts an evaluation of `businessIdeaId` (pending, normal priority unless overridden). An
 * analyzing one needs `startedAt`, `claimedBy` and `leaseExpiresAt` (the CHECKs require them);
 * values may be SQL expressions (``sql`now() - interval '1 minute'` ``), to use the database's clock.
 *
 * @example
 * ```ts
 * const evaluation = await createTestEvaluation(t.db, idea.id, { priority: 'high' });
 * ```
 */
export async function createTestEvaluation(
  db: Kysely<DB>,
  businessIdeaId: string,
  overrides: Partial<InsertObject<DB, 'evaluations'>> = {},
): Promise<Selectable<Evaluations>> {
  return db.insertInto('evaluations').values({ businessIdeaId, ...overrides }).returningAll().executeTakeFirstOrThrow();
}

/**
 * Inserts an agent result for `evaluationId` (pending; a unique `agent-<n>` type unless overridden).
 *
 * @example
 * ```ts
 * const run = await createTestAgentResult(t.db, evaluation.id, { agentType: 'market-research' });
 * ```
 */
export async function createTestAgentResult(
  db: Kysely<DB>,
  evaluationId: string,
  overrides: Partial<InsertObject<DB, 'agentResults'>> = {},
): Promise<Selectable<AgentResults>> {
  return db
    .insertInto('agentResults')
    .values({ evaluationId, agentType: `agent-${next()}`, ...overrides })
    .returningAll()
    .executeTakeFirstOrThrow();
}
