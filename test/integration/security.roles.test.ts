/**
 * Least privilege (migration 20261125110000): the group roles ai_validation_app and
 * ai_validation_worker, tried through uniquely named LOGIN roles that are members of them (roles
 * are cluster-wide on a shared server; these are dropped in afterAll). The app role reads and
 * writes rows and nothing else: no DDL, no TRUNCATE, no ledger, no audit_log, no other table.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, quoteIdent } from '../../scripts/lib/server.js';
import type { Database } from '../../src/db/database.js';
import { QueryError } from '../../src/errors.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as users from '../../src/repositories/users.js';
import { createMigrator, defaultMigrationsDir } from '../../src/migrate/index.js';
import { adminConnection, createTestDatabase, useTestDatabase } from '../support/database.js';
import { createSubmittedIdea, createTestEvaluation, fakePasswordHash, ideaDescription, uniqueEmail } from '../support/factories.js';
import { useRoleConnections } from '../support/roles.js';

const t = useTestDatabase();
const connectAs = useRoleConnections(t);

const GROUPS = ['ai_validation_app', 'ai_validation_worker'] as const;
let app: Database;
let worker: Database;

beforeAll(async () => {
  app = await connectAs('ai_validation_app');
  worker = await connectAs('ai_validation_worker');
});

/** The SQLSTATE a statement fails with (undefined when it succeeds). */
async function sqlStateOf(database: Database, statement: string): Promise<string | undefined> {
  try {
    await sql.raw(statement).execute(database.db);
    return undefined;
  } catch (error) {
    if (error instanceof QueryError) return error.sqlState;
    throw error;
  }
}

describe('the group roles', () => {
  it('cannot log in and hold no dangerous attribute', async () => {
    const rows = await adminQuery(
      adminConnection(),
      `SELECT rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication
         FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
      [GROUPS],
    );
    expect(rows).toEqual(
      GROUPS.map((rolname) => ({
        rolname,
        rolcanlogin: false,
        rolsuper: false,
        rolbypassrls: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolreplication: false,
      })),
    );
  });

  it('have no privilege on any table but the four (ledger, audit_log, seed history, ...)', async () => {
    const rows = await t.db
      .selectFrom(
        sql<{ relname: string; role: string }>`(
        SELECT c.relname, r.role FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
               unnest(${[...GROUPS]}::text[]) AS r(role)
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
           AND c.relname NOT IN ('users', 'business_ideas', 'evaluations', 'agent_results')
           AND (has_table_privilege(r.role, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')
                OR (c.relkind = 'S' AND has_sequence_privilege(r.role, c.oid, 'USAGE,SELECT,UPDATE'))))`.as('p'),
      )
      .selectAll()
      .execute();
    expect(rows).toEqual([]);
    // The check above is only meaningful if those tables exist.
    const others = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'
      AND tablename IN ('schema_migrations', 'audit_log')`.execute(t.db);
    expect(others.rows[0]?.n).toBe(2);
  });
});

describe('the owner role', () => {
  it('need not be a superuser: a CREATEDB role without CREATEROLE migrates a database it owns (the Docker setup)', async () => {
    const owner = `dl_owner_${randomBytes(5).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const admin = adminConnection();
    await adminQuery(admin, `CREATE ROLE ${quoteIdent(owner)} LOGIN CREATEDB PASSWORD '${password}'`);
    const scratch = await createTestDatabase({ migrated: false });
    try {
      await adminQuery(admin, `ALTER DATABASE ${quoteIdent(scratch.name)} OWNER TO ${quoteIdent(owner)}`);
      const { host, port, database } = scratch.connection;
      const connection = { host, port, database, user: owner };
      Object.defineProperty(connection, 'password', { value: password, enumerable: false });
      const applied = await createMigrator({ connection }).up();
      expect(applied.map((r) => r.name)).toContain('20261125110000_roles_and_row_level_security');
      const [row] = await adminQuery(
        scratch.connection,
        `SELECT pg_get_userbyid(relowner) AS owner, has_table_privilege('ai_validation_app', 'business_ideas', 'SELECT') AS app_reads,
                has_schema_privilege('ai_validation_app', 'public', 'CREATE') AS app_creates
           FROM pg_class WHERE oid = 'business_ideas'::regclass`,
      );
      expect(row).toEqual({ owner, app_reads: true, app_creates: false });
    } finally {
      await scratch.drop();
      await adminQuery(admin, `DROP ROLE IF EXISTS ${quoteIdent(owner)}`);
    }
  });
});

describe('on a cluster without the group roles', () => {
  // The real migrations, with the group role names made unique so that the shared roles are not touched.
  it('a migration role without CREATEROLE stops with a hint; a superuser creates them; down keeps them', async () => {
    const tag = randomBytes(5).toString('hex');
    const groups = [`dl_grp_app_${tag}`, `dl_grp_worker_${tag}`];
    const dir = mkdtempSync(join(tmpdir(), 'dl-roles-'));
    const file = join(dir, '20261125110000_roles_and_row_level_security.sql');
    cpSync(defaultMigrationsDir(), dir, { recursive: true });
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replaceAll('ai_validation_app', groups[0]!).replaceAll('ai_validation_worker', groups[1]!),
    );
    const owner = `dl_owner_${tag}`;
    const password = randomBytes(12).toString('hex');
    const admin = adminConnection();
    await adminQuery(admin, `CREATE ROLE ${quoteIdent(owner)} LOGIN CREATEDB PASSWORD '${password}'`);
    const scratch = await createTestDatabase({ migrated: false });
    try {
      await adminQuery(admin, `ALTER DATABASE ${quoteIdent(scratch.name)} OWNER TO ${quoteIdent(owner)}`);
      const { host, port, database } = scratch.connection;
      const asOwner = { host, port, database, user: owner };
      Object.defineProperty(asOwner, 'password', { value: password, enumerable: false });

      const error = await createMigrator({ connection: asOwner, migrationsDir: dir })
        .up()
        .catch((e: unknown) => e);
      expect(String(error)).toContain(`role ${groups[0]} does not exist and ${owner} may not create roles`);
      expect(String(error)).toContain('see scripts/postgres-init/02-create-roles.sh) or grant CREATEROLE to the migration role');

      // As a superuser (or once an operator created them), the same migration goes through.
      await createMigrator({ connection: scratch.connection, migrationsDir: dir }).up();
      const created = await adminQuery(admin, `SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`, [
        groups,
      ]);
      expect(created).toEqual(groups.map((rolname) => ({ rolname, rolcanlogin: false })));

      // Down revokes what it granted here and leaves the cluster-wide roles alone.
      await createMigrator({ connection: scratch.connection, migrationsDir: dir }).down({ to: '20261125100000' });
      const [after] = await adminQuery(
        scratch.connection,
        `SELECT count(*)::int AS roles,
                bool_or(has_table_privilege(r, 'business_ideas', 'SELECT') OR has_table_privilege(r, 'evaluations', 'SELECT')
                        OR has_column_privilege(r, 'business_ideas', 'status', 'UPDATE')) AS privileged
           FROM pg_roles, unnest($1::text[]) AS r WHERE rolname = r`,
        [groups],
      );
      expect(after).toEqual({ roles: 2, privileged: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await scratch.drop();
      for (const role of [owner, ...groups]) await adminQuery(admin, `DROP ROLE IF EXISTS ${quoteIdent(role)}`);
    }
  });
});

describe('the app role', () => {
  it('reads and writes rows: sign-up as it, then an idea as that user (audited by the trigger it cannot write itself)', async () => {
    const user = await users.createUser(app.anonymous, {
      email: uniqueEmail('rls'),
      name: 'Ada Lovelace',
      passwordHash: fakePasswordHash(),
    });
    const idea = await app.withUser(user.id, (trx) =>
      businessIdeas.createIdea(trx, user.id, { title: 'Least privilege idea', description: ideaDescription() }),
    );
    await app.withUser(user.id, (trx) => businessIdeas.updateIdeaContent(trx, idea.id, { title: 'Renamed privilege idea' }));
    await app.withUser(user.id, (trx) => trx.deleteFrom('businessIdeas').where('id', '=', idea.id).execute());
    const audit = await t.db.selectFrom('auditLog').select(['operation', 'actor']).where('rowId', '=', idea.id).orderBy('id').execute();
    expect(audit).toEqual([
      { operation: 'insert', actor: user.id },
      { operation: 'update', actor: user.id },
      { operation: 'delete', actor: user.id },
    ]);
  });

  it.each([
    ['DROP TABLE', 'DROP TABLE agent_results'],
    ['ALTER TABLE', 'ALTER TABLE users ADD COLUMN is_admin boolean'],
    ['ALTER TABLE ... DISABLE ROW LEVEL SECURITY', 'ALTER TABLE business_ideas DISABLE ROW LEVEL SECURITY'],
    ['DROP POLICY', 'DROP POLICY business_ideas_owner ON business_ideas'],
    ['CREATE INDEX', 'CREATE INDEX users_name_idx ON users (name)'],
    ['TRUNCATE', 'TRUNCATE evaluations'],
    ['TRUNCATE (users)', 'TRUNCATE users CASCADE'],
    ['CREATE TABLE', 'CREATE TABLE public.scratch (id int)'],
    ['CREATE FUNCTION', 'CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'],
    ['CREATE SCHEMA', 'CREATE SCHEMA scratch'],
    ['DROP FUNCTION', 'DROP FUNCTION current_app_user_id()'],
    ['read the ledger', 'SELECT * FROM schema_migrations'],
    ['write the ledger', "INSERT INTO schema_migrations (name, checksum, execution_ms) VALUES ('29991231000000_evil', 'x', 1)"],
    ['erase the ledger', 'DELETE FROM schema_migrations'],
    ['read the audit log', 'SELECT * FROM audit_log'],
    [
      'forge audit rows',
      "INSERT INTO audit_log (table_name, row_id, operation, new_row) VALUES ('users', gen_random_uuid(), 'insert', '{}')",
    ],
    ['erase the audit log', 'DELETE FROM audit_log'],
  ])('is refused: %s (42501)', async (_what, statement) => {
    expect(await sqlStateOf(app, statement)).toBe('42501');
  });

  it('cannot switch row security off: with row_security = off its reads fail instead of bypassing the policies', async () => {
    const error = await app.db
      .transaction()
      .execute(async (trx) => {
        await sql`SET LOCAL row_security = off`.execute(trx);
        return sql`SELECT * FROM business_ideas`.execute(trx);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryError);
    expect((error as QueryError).sqlState).toBe('42501');
  });

  it('could do all of that as the owner (the refusals above are privileges, not typos)', async () => {
    // A sample, in a rolled-back transaction so the schema is unchanged.
    await expect(
      t.db.transaction().execute(async (trx) => {
        await sql`ALTER TABLE users ADD COLUMN is_admin boolean`.execute(trx);
        await sql`CREATE TABLE public.scratch (id int)`.execute(trx);
        await sql`SELECT * FROM schema_migrations`.execute(trx);
        await sql`TRUNCATE evaluations CASCADE`.execute(trx);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
  });
});

describe('the worker role', () => {
  it.each([
    ['read users', 'SELECT * FROM users'],
    ['create evaluations', 'INSERT INTO evaluations (business_idea_id) VALUES (gen_random_uuid())'],
    ['delete evaluations', 'DELETE FROM evaluations'],
    ['delete agent results', 'DELETE FROM agent_results'],
    ['change idea content', "UPDATE business_ideas SET title = 'Hijacked title'"],
    ['create ideas', "INSERT INTO business_ideas (user_id, title, description) VALUES (gen_random_uuid(), 'x', 'y')"],
    ['TRUNCATE', 'TRUNCATE agent_results'],
    ['DROP TABLE', 'DROP TABLE evaluations'],
    ['read the ledger', 'SELECT * FROM schema_migrations'],
    ['read the audit log', 'SELECT * FROM audit_log'],
  ])('is refused: %s (42501)', async (_what, statement) => {
    expect(await sqlStateOf(worker, statement)).toBe('42501');
  });

  it('may move an idea it evaluates through its status column only', async () => {
    const idea = await createSubmittedIdea(t.db);
    await createTestEvaluation(t.db, idea.id);
    await worker.db.updateTable('businessIdeas').set({ status: 'evaluating' }).where('id', '=', idea.id).execute();
    expect((await t.db.selectFrom('businessIdeas').select('status').where('id', '=', idea.id).executeTakeFirstOrThrow()).status).toBe(
      'evaluating',
    );
  });
});
