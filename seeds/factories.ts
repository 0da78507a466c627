/**
 * Row factories for tests: build or insert exactly the rows a test needs, directly with Kysely
 * (no validation, no repository code, so a test of one repository does not depend on another).
 * Deterministic: a factory set created from a seed makes the same ids, emails, names and hashes
 * in the same order every run. Each value is unique within one factory set; pass overrides for
 * what the test cares about.
 */
import type { Insertable, InsertObject, Kysely, Selectable } from 'kysely';
import type { AgentResults, BusinessIdeas, DB, Evaluations, Users } from '../src/schema/generated.js';
import { createRandom, type Random } from './random.js';

/** Invented name parts: no combination names a real person on purpose. */
const FIRST = ['Ilsa', 'Corvin', 'Maelis', 'Tamsin', 'Oren', 'Brisa', 'Kestrel', 'Yara', 'Dashiell', 'Linnea'];
const LAST = ['Quenby', 'Ferrow', 'Pellinore', 'Wendimere', 'Ashgrove', 'Talloway', 'Brennick', 'Odalys', 'Marchetti-Vale', 'Sorrel'];
const TITLES = [
  'Clinic appointment scheduler for rural practices',
  'Community compost pickup subscription',
  'Peer tutoring marketplace for night-school students',
  'Freight consolidation for small exporters',
  'Repair cafe booking and parts inventory',
  'Shared cold storage for farmers markets',
  'Invoice reminders for freelance designers',
];
const AUDIENCES = [
  'independent clinics',
  'apartment blocks',
  'adult learners',
  'small exporters',
  'repair volunteers',
  'market farmers',
  'freelancers',
];

type Values<T extends keyof DB> = Partial<InsertObject<DB, T>>;

/** Factories bound to one deterministic stream (see `createFactories`). */
export interface Factories {
  /** The stream the factories draw from. */
  readonly random: Random;
  /** A unique, valid, normalised email: `<prefix>-<n>-<hex>@example.test`. */
  uniqueEmail: (prefix?: string) => string;
  /** Something shaped like a scrypt hash, as the dev seeds make. Never a real one. */
  fakePasswordHash: () => string;
  /** A realistic idea description of 120-200 characters (well above the 50-character minimum). */
  ideaDescription: (n?: number) => string;
  /** A users row (not inserted). */
  buildUser: (overrides?: Partial<Insertable<Users>>) => Insertable<Users> & { id: string };
  /** A business_ideas row for `userId` (not inserted; status draft). */
  buildIdea: (userId: string, overrides?: Partial<Insertable<BusinessIdeas>>) => Insertable<BusinessIdeas> & { id: string };
  /** An evaluations row (not inserted; pending, normal priority). */
  buildEvaluation: (businessIdeaId: string, overrides?: Values<'evaluations'>) => InsertObject<DB, 'evaluations'> & { id: string };
  /** An agent_results row (not inserted; pending, agent type `agent-<n>`). */
  buildAgentResult: (evaluationId: string, overrides?: Values<'agentResults'>) => InsertObject<DB, 'agentResults'> & { id: string };
  createTestUser: (db: Kysely<DB>, overrides?: Partial<Insertable<Users>>) => Promise<Selectable<Users>>;
  createTestIdea: (db: Kysely<DB>, userId: string, overrides?: Partial<Insertable<BusinessIdeas>>) => Promise<Selectable<BusinessIdeas>>;
  /** A user and a submitted idea of theirs (the state in which an idea is evaluated). */
  createSubmittedIdea: (db: Kysely<DB>, overrides?: Partial<Insertable<BusinessIdeas>>) => Promise<Selectable<BusinessIdeas>>;
  /**
   * An evaluation (pending, normal priority unless overridden). An analyzing one needs
   * `startedAt`, `claimedBy` and `leaseExpiresAt` (the CHECKs require them); values may be SQL
   * expressions (``sql`now() - interval '1 minute'` ``), to use the database's clock.
   */
  createTestEvaluation: (db: Kysely<DB>, businessIdeaId: string, overrides?: Values<'evaluations'>) => Promise<Selectable<Evaluations>>;
  createTestAgentResult: (db: Kysely<DB>, evaluationId: string, overrides?: Values<'agentResults'>) => Promise<Selectable<AgentResults>>;
}

/**
 * A set of factories drawing from `createRandom(seed)`.
 *
 * @example
 * ```ts
 * const f = createFactories('my-test');
 * const user = await f.createTestUser(t.db, { name: 'Ilsa Quenby' });
 * const idea = await f.createTestIdea(t.db, user.id, { status: 'submitted' });
 * ```
 */
export function createFactories(seed: string | number = 'test-factories'): Factories {
  const random = createRandom(seed);
  let sequence = 0;
  const next = (): number => ++sequence;
  const hex = (bytes: number): string => Array.from({ length: bytes }, () => random.int(0, 255).toString(16).padStart(2, '0')).join('');
  const b64 = (bytes: number): string => Buffer.from(Array.from({ length: bytes }, () => random.int(0, 255))).toString('base64');
  const at = <T>(items: readonly T[], n: number): T => items[n % items.length] as T;

  const factories: Factories = {
    random,
    uniqueEmail: (prefix = 'user') => `${prefix}-${next()}-${hex(4)}@example.test`,
    fakePasswordHash: () => `scrypt$16384$8$1$${b64(16)}$${b64(32)}`,
    ideaDescription: (n = next()) =>
      `A service for ${at(AUDIENCES, n)} that replaces phone calls and spreadsheets with a simple web app, priced per month, ` +
      `starting in one city and growing through referrals (variant ${n}).`,
    buildUser: (overrides = {}) => {
      const n = next();
      return {
        id: random.uuid(),
        email: factories.uniqueEmail(),
        passwordHash: factories.fakePasswordHash(),
        name: `${at(FIRST, n)} ${at(LAST, n + 3)}`,
        ...overrides,
      };
    },
    buildIdea: (userId, overrides = {}) => {
      const n = next();
      return {
        id: random.uuid(),
        userId,
        title: `${at(TITLES, n)} #${n}`,
        description: factories.ideaDescription(n),
        ...overrides,
      };
    },
    // A run queued at createdAt is due from then (the queue orders by run_after), unless told otherwise.
    buildEvaluation: (businessIdeaId, overrides = {}) =>
      ({
        id: random.uuid(),
        businessIdeaId,
        ...(overrides.createdAt !== undefined && overrides.runAfter === undefined ? { runAfter: overrides.createdAt } : {}),
        ...overrides,
      }) as InsertObject<DB, 'evaluations'> & { id: string },
    buildAgentResult: (evaluationId, overrides = {}) =>
      ({ id: random.uuid(), evaluationId, agentType: `agent-${next()}`, ...overrides }) as InsertObject<DB, 'agentResults'> & {
        id: string;
      },
    createTestUser: (db, overrides) =>
      db.insertInto('users').values(factories.buildUser(overrides)).returningAll().executeTakeFirstOrThrow(),
    createTestIdea: (db, userId, overrides) =>
      db.insertInto('businessIdeas').values(factories.buildIdea(userId, overrides)).returningAll().executeTakeFirstOrThrow(),
    createSubmittedIdea: async (db, overrides = {}) => {
      const user = await factories.createTestUser(db);
      return factories.createTestIdea(db, user.id, { status: 'submitted', ...overrides });
    },
    createTestEvaluation: (db, businessIdeaId, overrides) =>
      db.insertInto('evaluations').values(factories.buildEvaluation(businessIdeaId, overrides)).returningAll().executeTakeFirstOrThrow(),
    createTestAgentResult: (db, evaluationId, overrides) =>
      db.insertInto('agentResults').values(factories.buildAgentResult(evaluationId, overrides)).returningAll().executeTakeFirstOrThrow(),
  };
  return factories;
}

/** The default factory set (seed `test-factories`), used through test/support/factories.ts. */
export const defaultFactories: Factories = createFactories();

export const {
  uniqueEmail,
  fakePasswordHash,
  ideaDescription,
  buildUser,
  buildIdea,
  buildEvaluation,
  buildAgentResult,
  createTestUser,
  createTestIdea,
  createSubmittedIdea,
  createTestEvaluation,
  createTestAgentResult,
} = defaultFactories;
