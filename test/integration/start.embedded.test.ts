/**
 * The zero-setup path, with no DATABASE_URL: `npm start` initialises an embedded PostgreSQL in
 * EMBEDDED_POSTGRES_DIR, migrates, seeds and stops it; `npm run db:serve` keeps it up until
 * SIGTERM, and while it runs, `npm start` and `npm run seed` reuse it instead of starting another.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowTraverse, freePort } from '../../scripts/lib/embedded.js';
import { runCli, startCli, waitForOutput } from '../support/cli.js';

let dir: string;
let dataDir: string;
let port: number;
let env: Record<string, string>;
let cwd: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dl-start-'));
  await allowTraverse(dir); // as root, the server runs as "postgres", which must reach dataDir
  dataDir = join(dir, 'pg');
  port = await freePort();
  env = { EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(port) };
  cwd = dir;
});

const children: ReturnType<typeof startCli>[] = [];
afterAll(async () => {
  // A test that timed out may have left db:serve running: stop it before removing its data.
  for (const started of children) {
    if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGTERM');
    await started.result.catch(() => undefined);
  }
  rmSync(dir, { recursive: true, force: true });
});

async function query<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const password = readFileSync(`${dataDir}.password`, 'utf8').trim();
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'ai_validation_platform' });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

// Each step spawns tsx and starts PostgreSQL: seconds normally, much longer on a loaded CI machine.
describe('npm start without DATABASE_URL', { timeout: 120_000 }, () => {
  it('initialises the embedded server, migrates, seeds, prints how to connect, stops it, exits 0', async () => {
    const result = await runCli('start.ts', [], { env, cwd });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Paths are shown relative to the working directory (here the temp dir holding pg/).
    expect(result.stdout).toContain('using the embedded PostgreSQL in pg\n');
    expect(result.stdout).toContain('Development data: loaded 4 users');
    expect(result.stdout).toMatch(/^business_ideas\s+8$/m);
    expect(result.stdout).toContain(`DATABASE_URL=postgres://postgres:****@127.0.0.1:${port}/ai_validation_platform`);
    expect(result.stdout).toContain('the password is in pg.password,');

    const password = readFileSync(`${dataDir}.password`, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(result.stdout).not.toContain(password);
    expect(statSync(`${dataDir}.password`).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    // Stopped again: no postmaster, nothing listening.
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    await expect(query('SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('db:serve keeps the same data up; start and seed reuse it; SIGTERM stops it cleanly', async () => {
    const serve = startCli('serve.ts', [], { env, cwd });
    children.push(serve);
    try {
      await waitForOutput(serve, (out) => out.includes('Serving. Press Ctrl+C to stop.'), 90_000);
      expect(serve.output()).toContain('Migrations: up to date');
      expect(serve.output()).toContain('Development data: already present');
      expect(await query<{ n: number }>('SELECT count(*)::int AS n FROM users')).toEqual([{ n: 4 }]);

      const start = await runCli('start.ts', [], { env, cwd });
      expect(start.code).toBe(0);
      expect(start.stdout).toMatch(/already running as pid \d+/);
      expect(start.stdout).toContain('being kept up by `npm run db:serve`');
      const seed = await runCli('seed.ts', [], { env, cwd });
      expect(seed.code).toBe(0);
      expect(seed.stdout).toContain('Already loaded: nothing to do');
      // Neither stopped the server they borrowed.
      expect(await query<{ n: number }>('SELECT count(*)::int AS n FROM business_ideas')).toEqual([{ n: 8 }]);
    } finally {
      serve.child.kill('SIGTERM');
    }
    const result = await serve.result;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('SIGTERM: stopping the embedded PostgreSQL');
    expect(result.stdout).toContain('Stopped.');
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
  });

  it('db:serve fails clearly when its port is taken', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(port, '127.0.0.1', resolve);
    });
    try {
      const result = await runCli('serve.ts', [], { env, cwd });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} is already in use`);
    } finally {
      blocker.close();
    }
  });
});
