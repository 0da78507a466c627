/**
 * `npm run seed` on a database adopted from the placeholder schema (migrate adopt-legacy): the dev
 * set loads beside the adopted rows and its checks pass, noting the adopted rows that miss what
 * seed data is expected to look like (the schema allows them); a failure says whether the
 * database's rows break a rule ("your data breaks a database rule", naming table and rows), or the
 * seed set's rows are missing ("the seed set is incomplete"); a seed row that collides with an
 * adopted one names the constraint and the adopted row.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOwnerDatabase } from '../../scripts/lib/seed-cli.js';
import { formatChecks, runChecks } from '../../seeds/checks.js';
import { devSet } from '../../seeds/dev.js';
import { runSeedSet } from '../../seeds/runner.js';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { createMigrator, defaultMigrationsDir } from '../../src/migrate/index.js';
import { runCli } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'legacy');

let target: TestDatabase;
let database: Database;
const query = async <R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<R[]> => {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
};

beforeAll(async () => {
  target = await createTestDatabase({ migrated: false });
  await query(readFileSync(join(FIXTURES, 'placeholder-schema.sql'), 'utf8'));
  await query(readFileSync(join(FIXTURES, 'placeholder-rows.sql'), 'utf8'));
  await createMigrator({ connection: target.connection, migrationsDir: defaultMigrationsDir() }).adoptLegacy();
  database = openOwnerDatabase(loadConfig({ DATABASE_URL: target.url }));
}, 120_000);
afterAll(async () => {
  await database?.close();
  await target?.drop();
});

describe('seeding an adopted database', () => {
  it('refuses a seed row that collides with an adopted row, naming the constraint and the adopted row', async () => {
    const [cyd] = await query<{ id: string }>(`SELECT id FROM users WHERE email = 'cyd@example.net'`);
    await query(`UPDATE users SET email = 'marisol.quenby@example.com' WHERE id = $1`, [cyd!.id]);
    try {
      const error = (await runSeedSet(database, devSet).catch((e: unknown) => e)) as Error & { code?: string };
      expect(error.code).toBe('SEED_DATA_CONFLICT');
      expect(error.message).toContain('breaks constraint users_email_key of users');
      expect(error.message).toContain(`The existing row users ${cyd!.id} is not the seed set's`);
      expect(error.message).toContain('your data holds email marisol.quenby@example.com');
      expect(error.message).toContain('Nothing was written.');
      expect(await query(`SELECT 1 FROM seed_history`)).toEqual([]);
    } finally {
      await query(`UPDATE users SET email = 'cyd@example.net' WHERE id = $1`, [cyd!.id]);
    }
  });

  it('loads the dev set beside the adopted rows; the checks pass and note adopted rows that miss an expectation', async () => {
    const outcome = await runSeedSet(database, devSet);
    expect(outcome.status).toBe('applied');
    expect(outcome.checks?.results.filter((r) => !r.ok)).toEqual([]);
    expect(outcome.checks?.counts).toMatchObject({ users: 8, business_ideas: 13, evaluations: 13, agent_results: 35 });
    const scored = outcome.checks?.results.find((r) => r.name === 'score: completed agent results are scored');
    expect(scored?.note).toMatch(
      /^1 row\(s\) not from the seed set do not meet it \(the schema allows them\): agent_results [0-9a-f-]{36}$/,
    );
    expect(formatChecks(outcome.checks!)).toContain('All checks passed.');
  });

  it('says "your data breaks a database rule" for rows that are not the seed set\'s, naming table and rows', async () => {
    const [adopted] = await query<{ id: string }>(
      `SELECT id FROM agent_results WHERE id::text NOT LIKE '00000000-0000-4000-8000-%' LIMIT 1`,
    );
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      // Past the foreign key (replica skips FK triggers): an adopted row pointing nowhere.
      await client.query('SET session_replication_role = replica');
      await client.query(`UPDATE agent_results SET evaluation_id = '00000000-0000-4000-8000-00000000dead' WHERE id = $1`, [adopted!.id]);
      const report = await runChecks(database.db, devSet.checks);
      const failed = report.results.filter((r) => !r.ok);
      expect(failed.map((r) => [r.name, r.cause, r.rows])).toEqual([
        ['fk: agent_results.evaluation_id -> evaluations', 'data', { table: 'agent_results', ids: [adopted!.id] }],
      ]);
      const text = formatChecks(report);
      expect(text).toContain(
        `FAIL  [your data breaks a database rule] fk: agent_results.evaluation_id -> evaluations (1 row(s) not from the seed set: agent_results ${adopted!.id})`,
      );
      expect(text).toContain('1: your data breaks a database rule: rows that are not the seed set');
      expect(text).not.toContain('the seed set is incomplete');
    } finally {
      await client.query(
        `UPDATE agent_results a SET evaluation_id = m.new_id FROM legacy.id_map m, legacy.id_map ma, legacy.agent_executions x
          WHERE a.id = $1 AND ma.new_id = a.id AND x.id::text = ma.legacy_id
            AND m.legacy_table = 'business_evaluations' AND m.new_table = 'evaluations' AND m.legacy_id = x.evaluation_id::text`,
        [adopted!.id],
      );
      await client.end();
    }
    expect((await runChecks(database.db, devSet.checks)).ok).toBe(true);
  });

  it('says "the seed set is incomplete" when its rows are gone, though adopted rows fill the tables, and npm run seed exits 1', async () => {
    await query(`DELETE FROM users WHERE id::text LIKE '00000000-0000-4000-8000-%'`);
    const report = await runChecks(database.db, devSet.checks);
    const failed = report.results.filter((r) => !r.ok);
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((r) => r.cause))).toEqual(new Set(['incomplete']));
    expect(failed.find((r) => r.name === 'rows: users >= 3')?.detail).toBe('0 rows of the seed set');
    expect(report.counts.users).toBe(4); // the adopted users are there, and do not count

    const result = await runCli('seed.ts', [], { env: { DATABASE_URL: target.url } });
    expect(result.stdout).toContain('Already loaded: nothing to do');
    expect(result.stdout).toContain('FAIL  [the seed set is incomplete] rows: users >= 3 (0 rows of the seed set)');
    expect(result.stdout).toContain('the seed set is incomplete: rows the seed set writes are missing');
    expect(result.stdout).toContain('npm run seed -- --force writes them again');
    expect(result.stdout).not.toContain('your data breaks a database rule');
    expect(result.code).toBe(1);

    const forced = await runCli('seed.ts', ['--force'], { env: { DATABASE_URL: target.url } });
    expect(forced.stdout).toContain('All checks passed.');
    expect(forced.code).toBe(0);
  }, 120_000);
});
