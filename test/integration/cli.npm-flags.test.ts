/**
 * Flags npm takes for itself (docs/cli.md#npm-and---): through the real npm, `npm run migrate up
 * --dry-run` (no `--`) refuses with the right spelling and applies nothing, where it used to apply
 * everything; the `--` form passes the flags on.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, repoRoot, type CliResult } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let target: TestDatabase;
beforeAll(async () => {
  target = await createTestDatabase({ migrated: false });
});
afterAll(() => target?.drop());

/** `npm run <args>` in the repository, with DATABASE_URL set to the empty test database. */
function npmRun(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', ...args], {
      cwd: repoRoot,
      env: cleanEnv({ DATABASE_URL: target.url, NO_COLOR: '1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function publicTables(): Promise<string[]> {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
    return rows.map((r) => r.t);
  } finally {
    await client.end();
  }
}

describe('npm run <script> with flags before "--"', () => {
  it('refuses with exit 2 and the right command line, before connecting, and applies nothing', async () => {
    const [dryRun, to, step, json, seed, restore] = await Promise.all([
      npmRun(['migrate', 'up', '--dry-run']),
      npmRun(['migrate', 'up', '--to', '20261124120000']),
      npmRun(['migrate', 'up', '--step', '2']),
      npmRun(['migrate', 'status', '--json']),
      npmRun(['seed', '--set', 'load', '--scale', '0.1']),
      npmRun(['db:restore', '--file', 'x.dump']),
    ]);
    expect(dryRun.code).toBe(2);
    expect(dryRun.stderr).toContain(
      'error: npm took --dry-run for itself (it set npm_config_dry_run=true), so the command did not receive it; nothing was run.\n' +
        'npm passes on what comes after "--":\n  npm run migrate -- up --dry-run\n',
    );
    // Refused before connecting: not even "database: ..." was printed.
    expect(dryRun.stderr).not.toContain('database: ');

    expect(to.code).toBe(2);
    expect(to.stderr).toContain('npm took --to for itself (it set npm_config_token_description=20261124120000)');
    expect(to.stderr).toContain('  npm run migrate -- up --to 20261124120000\n');
    expect(step.code).toBe(2);
    expect(step.stderr).toContain('  npm run migrate -- up --step 2\n');
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('  npm run migrate -- status --json\n');
    expect(seed.code).toBe(2);
    expect(seed.stderr).toContain('  npm run seed -- --set load --scale 0.1\n');
    expect(restore.code).toBe(2);
    expect(restore.stderr).toContain('  npm run db:restore -- --file x.dump\n');

    expect(await publicTables()).toEqual([]);
  }, 120_000);

  it('passes the flags on after "--": the dry run prints the SQL and changes nothing', async () => {
    const dryRun = await npmRun(['migrate', '--', 'up', '--dry-run']);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('-- dry run: nothing was changed. This would run:');
    expect(dryRun.stdout).toContain('INSERT INTO public.schema_migrations');
    expect(await publicTables()).toEqual([]);
  }, 120_000);
});
