/**
 * The CLIs: `seed` usage errors, the production and name guards of db:clean and db:reset (non-zero
 * exit, a clear message, nothing changed), db:clean emptying every table but keeping the schema
 * and the ledger, and db:reset bringing back a migrated database with the dev set.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { devSet } from '../../seeds/dev.js';
import { runSeedSet } from '../../seeds/runner.js';
import { runCli } from '../support/cli.js';
import { adminConnection, useTestDatabase } from '../support/database.js';
import { toConnectionUrl } from '../../src/connection.js';

const TIMEOUT = 90_000;

describe('npm run seed: usage', () => {
  it(
    'prints help, and exits 2 on an unknown set or a bad scale before touching any database',
    async () => {
      const help = await runCli('seed.ts', ['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/--set <name>[\s\S]*--scale <N>[\s\S]*--force/);
      const unknown = await runCli('seed.ts', ['--set', 'nope']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown seed set "nope" (known: dev, load)');
      const scale = await runCli('seed.ts', ['--set', 'load', '--scale', 'lots']);
      expect(scale.code).toBe(2);
      expect(scale.stderr).toContain('--scale must be a positive number (got "lots")');
    },
    TIMEOUT,
  );
});

describe('db:clean and db:reset', () => {
  const t = useTestDatabase();
  const counts = async () => {
    const { rows } = await sql<{ users: number; history: number; ledger: number }>`
      SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM seed_history) AS history,
             (SELECT count(*)::int FROM schema_migrations) AS ledger`.execute(t.db);
    return rows[0]!;
  };

  it(
    'refuse NODE_ENV=production with a clear message, changing nothing',
    async () => {
      await runSeedSet(t.direct, devSet, { checks: false });
      const before = await counts();
      for (const script of ['db-clean.ts', 'db-reset.ts']) {
        const result = await runCli(script, [], { env: { DATABASE_URL: t.testDatabase.url, NODE_ENV: 'production' } });
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(
          `refusing to run ${script.slice(0, -3).replace('-', ':')} on "${t.testDatabase.name}": NODE_ENV is production`,
        );
        expect(result.stderr).toContain('--force');
      }
      expect(await counts()).toEqual(before);
    },
    TIMEOUT,
  );

  it(
    'refuse a database whose name does not look like development or test',
    async () => {
      const url = toConnectionUrl({ ...adminConnection(), database: 'postgres' });
      for (const script of ['db-clean.ts', 'db-reset.ts']) {
        const result = await runCli(script, [], { env: { DATABASE_URL: url } });
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
          /refusing to run db:(clean|reset) on "postgres": the name does not look like a development or test database/,
        );
      }
    },
    TIMEOUT,
  );

  it(
    'db:clean --force empties every table, audit_log and seed_history included, and keeps schema and ledger',
    async () => {
      const before = await counts();
      expect(before.users).toBeGreaterThan(0);
      const result = await runCli('db-clean.ts', ['--force'], { env: { DATABASE_URL: t.testDatabase.url, NODE_ENV: 'production' } });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/users\s+4 rows removed/);
      const { rows } = await sql<{ table: string; n: number }>`
      SELECT c.relname AS table, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I', c.relname), false, true, '')))[1]::text::int AS n
      FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1`.execute(t.db);
      expect(rows.map((r) => r.table)).toEqual(
        expect.arrayContaining([
          'agent_results',
          'audit_log',
          'business_ideas',
          'evaluations',
          'schema_migrations',
          'seed_history',
          'users',
        ]),
      );
      for (const row of rows) expect(row.n, row.table).toBe(row.table === 'schema_migrations' ? before.ledger : 0);
    },
    TIMEOUT,
  );

  it(
    'db:reset migrates down to 0 and up, then loads the dev set',
    async () => {
      await t.db.insertInto('users').values({ email: 'extra@example.test', passwordHash: 'x', name: 'Extra Row' }).execute();
      const result = await runCli('db-reset.ts', [], { env: { DATABASE_URL: t.testDatabase.url } });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /Reverted \d+ migration\(s\)[\s\S]*Applied \d+ migration\(s\)[\s\S]*"dev" loaded v3[\s\S]*All checks passed\./,
      );
      const after = await counts();
      expect(after.users).toBe(4);
      expect(after.history).toBe(1);
      expect(await t.db.selectFrom('users').select('id').where('email', '=', 'extra@example.test').execute()).toEqual([]);
    },
    TIMEOUT,
  );
});
