/**
 * `migrate adopt-legacy` (docs/migrations.md, "Adopting an existing database"): a database holding
 * the earlier placeholder schema with rows (test/fixtures/legacy) is brought to the current schema
 * with every row kept and normalised, its catalog then equal to a freshly migrated one; a second
 * run changes nothing; rows that cannot be mapped refuse it with the list and nothing changed; an
 * adoption interrupted after the move resumes; `migrate up` names the command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LegacyAdoptionError } from '../../src/errors.js';
import { defaultMigrationsDir } from '../../src/migrate/index.js';
import { catalogSnapshot, type CatalogSnapshot } from '../support/catalog.js';
import { runCli } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';
import { appliedNames, createScratchDatabase, rejection, type ScratchDatabase } from './support.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'legacy');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const MIGRATIONS = defaultMigrationsDir();

let db: ScratchDatabase;
beforeEach(async () => {
  db = await createScratchDatabase();
  await db.query(fixture('placeholder-schema.sql'));
  await db.query(fixture('placeholder-rows.sql'));
});
afterEach(async () => {
  await db.drop();
});

const count = async (table: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;
const tablesIn = async (schema: string) =>
  (await db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [schema])).map((r) => r.t);

/** The catalog without what adoption keeps in schema legacy. */
const withoutLegacy = (snapshot: CatalogSnapshot): CatalogSnapshot =>
  Object.fromEntries(
    Object.entries(snapshot).map(([section, entries]) => [
      section,
      (entries as string[]).filter((e) => !/(^|[\s(])legacy(\.|$)/.test(e) && !e.includes(' ON legacy.')),
    ]),
  ) as unknown as CatalogSnapshot;

describe('migrate adopt-legacy', () => {
  it('brings the placeholder schema to the current one with every row kept, normalised, and the old ids mapped', async () => {
    const result = await db.migrator(MIGRATIONS).adoptLegacy();
    expect(result.outcome).toBe('adopted');
    expect(result.legacyRows).toEqual({ users: 4, business_evaluations: 5, agent_executions: 9 });
    expect(result.copied).toEqual({ users: 4, business_ideas: 5, evaluations: 5, agent_results: 9 });
    expect(result.applied.length).toBeGreaterThan(10);
    expect(await appliedNames(db)).toEqual(result.applied);

    // The placeholder tables are kept aside, untouched.
    expect(await tablesIn('legacy')).toEqual(['adoption', 'agent_executions', 'business_evaluations', 'id_map', 'users']);
    expect(await count('legacy.agent_executions')).toBe(9);

    const users = await db.query<{ email: string; name: string; created_at: Date; legacy_id: string }>(
      `SELECT u.email, u.name, u.created_at, m.legacy_id FROM users u
         JOIN legacy.id_map m ON m.new_id = u.id AND m.legacy_table = 'users' ORDER BY m.legacy_id`,
    );
    expect(users.map((u) => [u.legacy_id, u.email, u.name])).toEqual([
      ['1', 'ada.quill@example.com', 'Ada Quill'],
      ['2', 'bram.oakes@example.org', 'Bram Oakes'],
      ['3', 'cyd@example.net', 'cyd'],
      ['4', 'dev.null@example.com', 'Dev Null'],
    ]);
    expect(users[0]!.created_at.toISOString()).toBe('2025-03-01T09:00:00.000Z');

    const evaluations = await db.query<{
      legacy_id: string;
      title: string;
      idea: string;
      status: string;
      results: unknown;
      error: string | null;
    }>(
      `SELECT m.legacy_id, i.title, i.status::text AS idea, e.status::text AS status, e.results, e.error_message AS error
         FROM evaluations e JOIN business_ideas i ON i.id = e.business_idea_id
         JOIN legacy.id_map m ON m.new_id = e.id AND m.new_table = 'evaluations' ORDER BY m.legacy_id`,
    );
    expect(evaluations.map((e) => [e.legacy_id, e.idea, e.status])).toEqual([
      ['1', 'completed', 'completed'],
      ['2', 'completed', 'completed'],
      ['3', 'evaluating', 'pending'], // was Running: queued again
      ['4', 'evaluating', 'failed'],
      ['5', 'evaluating', 'pending'],
    ]);
    expect(evaluations[1]!.title).toBe('Bike courier co-op for pharmacies');
    expect(evaluations[1]!.results).toEqual({ legacy: [71, 64] });
    expect(evaluations[3]!.error).toBe('agent timeout');

    const agents = await db.query<{ legacy_id: string; agent_type: string; status: string; score: string | null; output_data: unknown }>(
      `SELECT m.legacy_id, a.agent_type, a.status::text AS status, a.score, a.output_data FROM agent_results a
         JOIN legacy.id_map m ON m.new_id = a.id AND m.new_table = 'agent_results' ORDER BY m.legacy_id::int`,
    );
    expect(agents.map((a) => [a.legacy_id, a.agent_type, a.status])).toEqual([
      ['1', 'market-research', 'completed'],
      ['2', 'competitive-analysis', 'completed'],
      ['3', 'financial-modeling', 'completed'],
      ['4', 'market-research', 'completed'],
      ['5', 'risk-assessment', 'failed'],
      ['6', 'market-research', 'failed'], // was running
      ['7', 'customer-research', 'pending'],
      ['8', 'market-research', 'failed'],
      ['9', 'go-to-market', 'pending'],
    ]);
    expect(agents[1]!.score).toBe('68.50');
    expect(agents[2]!.output_data).toEqual({ text: 'Break-even at 400 kits a week.' });

    // The audit log says who wrote the rows.
    const actors = await db.query<{ actor: string; n: number }>(`SELECT actor, count(*)::int AS n FROM audit_log GROUP BY actor`);
    expect(actors).toEqual([{ actor: 'migrate adopt-legacy', n: 23 }]);

    // The schema is the one the migrations build, legacy aside.
    const fresh = await createTestDatabase({ migrated: false });
    try {
      await createScratchMigrated(fresh.connection);
      expect(withoutLegacy(await catalogSnapshot(db.connection))).toEqual(await catalogSnapshot(fresh.connection));
    } finally {
      await fresh.drop();
    }

    // A second run sees the adoption and changes nothing.
    const again = await db.migrator(MIGRATIONS).adoptLegacy();
    expect(again.outcome).toBe('already-adopted');
    expect(again.copied).toEqual(result.copied);
    expect(again.adoptedAt?.getTime()).toBe(result.adoptedAt?.getTime());
    expect(await count('users')).toBe(4);
    expect(await count('legacy.id_map')).toBe(23);
  }, 120_000);

  it('refuses rows that cannot be mapped, listing each, with nothing changed', async () => {
    await db.query(`
      INSERT INTO users (id, email, name, password) VALUES
        (5, ' ada.QUILL@example.com', 'Ada again', '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'),
        (6, 'eve@example.com', 'Eve', 'hunter2');
      INSERT INTO business_evaluations (id, user_id, idea_title, idea_description, status) VALUES (6, 6, 'Ab', 'Too short.', 'archived?');
      INSERT INTO agent_executions (id, evaluation_id, agent_name, status) VALUES (10, 99, 'market research', 'done'),
        (11, 1, 'market_research', 'done');`);
    const before = await catalogSnapshot(db.connection);

    const error = await rejection(db.migrator(MIGRATIONS).adoptLegacy());
    expect(error).toBeInstanceOf(LegacyAdoptionError);
    expect(error.code).toBe('MIGRATION_ADOPT_REFUSED');
    const problems = (error as LegacyAdoptionError).problems.map((p) => `${p.table} ${p.id}: ${p.problem.split(/[;(:]/)[0]!.trim()}`);
    expect(problems).toEqual([
      `users 1: email 'ada.quill@example.com' is also the email of users 5 once trimmed and lower-cased`,
      `users 5: email 'ada.quill@example.com' is also the email of users 1 once trimmed and lower-cased`,
      'users 6: password is not a password hash',
      `business_evaluations 6: idea_description is 10 characters once trimmed`,
      `business_evaluations 6: idea_title 'Ab' is not 3 to 200 characters once trimmed`,
      `business_evaluations 6: status 'archived?' has no mapping`,
      `agent_executions 1: agent_name 'MarketResearch' is agent type market-research, like agent_executions 11 of the same evaluation`,
      `agent_executions 10: evaluation_id 99 names no business_evaluations row`,
      `agent_executions 11: agent_name 'market_research' is agent type market-research, like agent_executions 1 of the same evaluation`,
    ]);
    expect(error.message).toContain('nothing was changed');
    expect(error.message).toContain('users id 5: email');
    expect(error.message).toContain('Fix these rows in public.users');

    expect(await catalogSnapshot(db.connection)).toEqual(before);
    expect(await tablesIn('public')).toEqual(['agent_executions', 'business_evaluations', 'users']);
    expect(await count('users')).toBe(6);
  }, 60_000);

  it('checks only with --dry-run, then resumes an adoption interrupted after the move', async () => {
    const before = await catalogSnapshot(db.connection);
    const dry = await db.migrator(MIGRATIONS).adoptLegacy({ dryRun: true });
    expect(dry).toMatchObject({ outcome: 'dry-run', copied: { users: 4, business_ideas: 5, evaluations: 5, agent_results: 9 } });
    expect(await catalogSnapshot(db.connection)).toEqual(before);

    // What a run killed after its first transaction leaves: the tables in legacy, nothing migrated.
    await db.query(`CREATE SCHEMA legacy; ALTER TABLE users SET SCHEMA legacy;
                    ALTER TABLE business_evaluations SET SCHEMA legacy; ALTER TABLE agent_executions SET SCHEMA legacy`);
    const result = await db.migrator(MIGRATIONS).adoptLegacy();
    expect(result.outcome).toBe('adopted');
    expect(result.copied).toEqual({ users: 4, business_ideas: 5, evaluations: 5, agent_results: 9 });
  }, 120_000);

  it('copies into empty tables only: rows written there meanwhile refuse the copy, which a later run makes once they are gone', async () => {
    // The tables moved aside (a run stopped after its first step), then someone ran up and wrote a user.
    await db.query(`CREATE SCHEMA legacy; ALTER TABLE users SET SCHEMA legacy;
                    ALTER TABLE business_evaluations SET SCHEMA legacy; ALTER TABLE agent_executions SET SCHEMA legacy`);
    await db.migrator(MIGRATIONS).up();
    await db.query(`INSERT INTO users (email, password_hash, name) VALUES ('new@example.com', 'scrypt$x', 'New')`);

    const error = await rejection(db.migrator(MIGRATIONS).adoptLegacy());
    expect(error.code).toBe('MIGRATION_ADOPT_REFUSED');
    expect(error.message).toContain('the new tables already hold rows: users (1 rows)');
    expect(error.message).toContain('the placeholder tables wait in schema legacy');
    expect(await count('users')).toBe(1);
    expect(await tablesIn('legacy')).toEqual(['agent_executions', 'business_evaluations', 'users']);

    await db.query(`DELETE FROM users`);
    const result = await db.migrator(MIGRATIONS).adoptLegacy();
    expect(result).toMatchObject({ outcome: 'adopted', applied: [], copied: { users: 4, agent_results: 9 } });
  }, 120_000);

  it('refuses a database without the placeholder tables', async () => {
    await db.query('DROP TABLE agent_executions');
    const error = await rejection(db.migrator(MIGRATIONS).adoptLegacy());
    expect(error.code).toBe('MIGRATION_ADOPT_REFUSED');
    expect(error.message).toContain('does not hold the placeholder schema');
    expect(error.message).toContain('found in public: public.users, public.business_evaluations');
  });

  it('is what migrate up names on the placeholder schema, instead of failing with 42P07', async () => {
    const error = await rejection(db.migrator(MIGRATIONS).up());
    expect(error.code).toBe('MIGRATION_NOT_ADOPTED');
    expect(error.message).toContain('run migrate adopt-legacy');
    expect(error.message).not.toContain('42P07');
    expect(await appliedNames(db)).toEqual([]);

    const cli = await runCli('migrate.ts', ['adopt-legacy', '--dry-run'], { env: { DATABASE_URL: db.url } });
    expect(cli.stdout).toContain(
      'every placeholder row can be mapped: would copy 4 users, 5 business_ideas, 5 evaluations, 9 agent_results',
    );
    expect(cli.code).toBe(0);
  }, 60_000);
});

async function createScratchMigrated(connection: ScratchDatabase['connection']): Promise<void> {
  const { createMigrator } = await import('../../src/migrate/index.js');
  await createMigrator({ connection, migrationsDir: MIGRATIONS }).up();
}
