/**
 * Role-shaped handles: `ROLE_TABLES` (what `RoleDB<R>` and so `createDatabase({ role })` type
 * each role with) is what the migrated database grants, and a handle made for a role has that
 * role's calling paths only. test/unit/types.compile.test.ts checks the compile errors.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/database.js';
import { ConfigError } from '../../src/errors.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import * as users from '../../src/repositories/users.js';
import { ROLE_TABLES } from '../../src/schema/roles.js';
import { useTestDatabase } from '../support/database.js';
import { createTestIdea, createTestUser } from '../support/factories.js';
import { useRoleConnections } from '../support/roles.js';

const t = useTestDatabase();
const connectAs = useRoleConnections(t);

const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The public tables `role` may SELECT from, by their `DB` key, sorted (the migration ledger is not in `DB`). */
async function granted(role: string | null): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'public'::pg_catalog.regnamespace
       AND c.relkind IN ('r', 'p')
       AND c.relname <> 'schema_migrations'
       AND (${role}::text IS NULL OR pg_catalog.has_table_privilege(${role}::text, c.oid, 'SELECT'))`.execute(t.db);
  return rows.map((r) => camel(r.name)).sort();
}

describe('ROLE_TABLES', () => {
  it.each([
    ['owner', null],
    ['app', 'ai_validation_app'],
    ['worker', 'ai_validation_worker'],
  ] as const)('lists exactly the tables the %s role may query', async (role, group) => {
    expect([...ROLE_TABLES[role]].sort()).toEqual(await granted(group));
  });
});

describe('createDatabase({ role })', () => {
  it("offers the app role's paths only, and they work through the app role", async () => {
    const app = await connectAs('ai_validation_app', 2, 'app');
    expect(
      Object.keys(app)
        .filter((key) => ['withUser', 'anonymous', 'worker', 'owner'].includes(key))
        .sort(),
    ).toEqual(['anonymous', 'withUser']);
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id);
    expect((await users.getUser(app.anonymous, user.id)).id).toBe(user.id);
    expect((await app.withUser(user.id, (trx) => businessIdeas.getIdea(trx, idea.id))).id).toBe(idea.id);
    expect((await app.db.selectFrom('users').select('id').where('id', '=', user.id).execute()).length).toBe(1);
  });

  it("offers the worker role's path only, and it works through the worker role", async () => {
    const worker = await connectAs('ai_validation_worker', 2, 'worker');
    expect(Object.keys(worker).filter((key) => ['withUser', 'anonymous', 'worker', 'owner'].includes(key))).toEqual(['worker']);
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id, { status: 'submitted' });
    const queued = await evaluations.createEvaluation(t.db, idea.id, { priority: 'high' });
    const seen = await worker.transaction(worker.worker, (trx) => evaluations.getEvaluation(trx, queued.id));
    expect(seen.id).toBe(queued.id);
  });

  it('offers every path by default (the owner role)', () => {
    expect(
      Object.keys(t.database)
        .filter((key) => ['withUser', 'anonymous', 'worker', 'owner'].includes(key))
        .sort(),
    ).toEqual(['anonymous', 'owner', 'withUser', 'worker']);
  });

  it.each([['admin'], [''], [42], [{}]])('refuses role %j with a ConfigError naming role, before opening a pool', (role) => {
    let error: unknown;
    try {
      createDatabase({ connectionString: 'postgres://nobody@127.0.0.1:1/none', env: {}, role: role as never });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { variable: 'role', message: expect.stringMatching(/^must be one of owner, app, worker; got /) },
    ]);
  });
});
