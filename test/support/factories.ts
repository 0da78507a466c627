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
