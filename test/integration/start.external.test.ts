/**
 * `npm start` with DATABASE_URL set: creates the database when missing, migrates, seeds, prints a
 * summary, exits 0; a second run changes nothing. A server that cannot be reached is a non-zero
 * exit with a clear message.
 */
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/lib/embedded.js';
import { connectionFor, dropDatabaseNamed, pgConfig, uniqueDatabaseName } from '../../scripts/lib/server.js';
import { toConnectionUrl } from '../../src/connection.js';
import { runCli } from '../support/cli.js';
import { adminConnection } from '../support/database.js';
import { testDatabasePrefix } from '../support/names.js';

// Not created here: `npm start` must create it.
const name = uniqueDatabaseName(testDatabasePrefix(inject('dlRunId')));
afterAll(() => dropDatabaseNamed(adminConnection(), name));

async function counts(): Promise<Record<string, number>> {
  const client = new pg.Client(pgConfig(connectionFor(adminConnection(), name)));
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string; n: number }>(
      `SELECT 'users' AS t, count(*)::int AS n FROM users UNION ALL SELECT 'business_ideas', count(*)::int FROM business_ideas
       UNION ALL SELECT 'evaluations', count(*)::int FROM evaluations UNION ALL SELECT 'agent_results', count(*)::int FROM agent_results
       UNION ALL SELECT 'schema_migrations', count(*)::int FROM schema_migrations`,
    );
    return Object.fromEntries(rows.map((r) => [r.t, r.n]));
  } finally {
    await client.end();
  }
}

// Each run spawns tsx: seconds normally, much longer on a loaded CI machine.
describe('npm start with DATABASE_URL', { timeout: 90_000 }, () => {
  const url = toConnectionUrl(connectionFor(adminConnection(), name));

  it('creates the database, migrates, seeds, prints a summary and exits 0; a second run is a no-op', async () => {
    const first = await runCli('start.ts', [], { env: { DATABASE_URL: url } });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Created database "${name}"`);
    expect(first.stdout).toMatch(/Migrations: applied \d+/);
    expect(first.stdout).toContain('Development data: loaded 4 users, 8 ideas, 8 evaluations, 26 agent results');
    expect(first.stdout).toMatch(/^users\s+4$/m);
    expect(first.stdout).toMatch(/^agent_results\s+26$/m);
    const password = adminConnection().password;
    if (password) expect(first.stdout).not.toContain(password);
    const afterFirst = await counts();
    expect(afterFirst).toMatchObject({ users: 4, business_ideas: 8, evaluations: 8, agent_results: 26 });

    const second = await runCli('start.ts', [], { env: { DATABASE_URL: url } });
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('Created database');
    expect(second.stdout).toContain('Migrations: up to date');
    expect(second.stdout).toContain('Development data: already present');
    expect(await counts()).toEqual(afterFirst);
  });

  it('exits non-zero with a clear message when the server cannot be reached', async () => {
    const port = await freePort();
    const result = await runCli('start.ts', [], { env: { DATABASE_URL: `postgres://postgres:pw-not-shown@127.0.0.1:${port}/app` } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: could not connect to postgres://postgres@127.0.0.1:${port}/app: connection refused`);
    expect(result.stderr + result.stdout).not.toContain('pw-not-shown');
  });

  it('rejects arguments it does not know', async () => {
    const result = await runCli('start.ts', ['--bogus'], { env: { DATABASE_URL: url } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: unknown option --bogus; accepted: -h/--help');
  });
});
