/**
 * The tables each database role may touch (migration 20261125110000's grants), as lists and as
 * narrowed `DB` types. `createDatabase({ role })` types its handles with them, so a query on the
 * audit log through the application role is a compile error rather than a 42501 at run time.
 * test/integration/roles.tables.test.ts keeps the lists equal to the grants of a migrated database.
 *
 * Only tables are narrowed: column grants (the worker may update `business_ideas.status` only)
 * and per-command grants (the worker may not insert evaluations) stay run-time refusals.
 */
import type { DB } from './generated.js';

/**
 * Who a `Database` connects as: `owner` (owns the tables: migrations, seeds, operators' tools),
 * `app` (a member of `ai_validation_app`: the services acting for users) or `worker` (a member of
 * `ai_validation_worker`: the evaluation workers).
 */
export type Role = 'owner' | 'app' | 'worker';

/** The tables (by their `DB` key) each role may query. */
export const ROLE_TABLES = {
  owner: ['agentResults', 'auditLog', 'businessIdeas', 'evaluations', 'seedHistory', 'users'],
  app: ['agentResults', 'businessIdeas', 'evaluations', 'users'],
  worker: ['agentResults', 'businessIdeas', 'evaluations'],
} as const satisfies Record<Role, readonly (keyof DB)[]>;

/**
 * `DB` narrowed to what `R` may query: `RoleDB<'app'>` has no `auditLog` or `seedHistory`.
 *
 * @example
 * ```ts
 * import type { Kysely, RoleDB } from '@ai-validation/data-layer';
 * function countIdeas(db: Kysely<RoleDB<'worker'>>) { return db.selectFrom('businessIdeas').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(); }
 * ```
 */
export type RoleDB<R extends Role> = Pick<DB, (typeof ROLE_TABLES)[R][number]>;

// Every table of DB is the owner's: a new table fails the typecheck until it is placed here.
type Missing = Exclude<keyof DB, (typeof ROLE_TABLES)['owner'][number]>;
const everyTableListed: [Missing] extends [never] ? true : Missing = true;
void everyTableListed;
