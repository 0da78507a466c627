/**
 * Signals through the npm chain (docs/cli.md#signals): SIGTERM or SIGINT to the npm process of
 * `npm run db:serve`, or SIGINT to its whole process group (Ctrl+C), stops the embedded PostgreSQL
 * and every process of the chain, and frees the port; SIGTERM to `npm run migrate -- up` waiting
 * for the migration lock ends it at once with 143. Linux: the process tree is read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowTraverse, freePort } from '../../scripts/lib/embedded.js';
import { LOCK_KEY } from '../../src/migrate/lock.js';
import { cleanEnv, repoRoot } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  command: string;
}

/** Every process, from /proc/<pid>/stat and cmdline. */
function processes(): Proc[] {
  const list: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      list.push({ pid: Number(entry), state: fields[0]!, ppid: Number(fields[1]), command });
    } catch {
      // gone meanwhile
    }
  }
  return list;
}

/** `pid` and everything below it. */
function tree(pid: number): Proc[] {
  const all = processes();
  const found = all.filter((p) => p.pid === pid);
  for (let i = 0; i < found.length; i++) found.push(...all.filter((p) => p.ppid === found[i]!.pid));
  return found;
}

/** Alive: exists and is not a zombie (an exited child its new parent has not reaped yet). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm run <args>` in its own process group (as a terminal runs it), with a clean environment. */
function npmRun(args: string[], env: Record<string, string>): Started {
  const child = spawn('npm', ['run', ...args], { cwd: repoRoot, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exit };
}

const started: Started[] = [];
afterAll(() => {
  // A failed test may leave a chain running: end it before its data goes.
  for (const s of started) for (const p of tree(s.child.pid!)) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
});

describe.skipIf(process.platform !== 'linux')('npm run db:serve, stopped through npm', { timeout: 180_000 }, () => {
  let dir: string;
  let env: Record<string, string>;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dl-signals-'));
    await allowTraverse(dir); // as root, the server runs as "postgres", which must reach the data
    port = await freePort();
    env = { EMBEDDED_POSTGRES_DIR: join(dir, 'pg'), EMBEDDED_POSTGRES_PORT: String(port) };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const serveThenStop = async (signal: 'SIGTERM' | 'SIGINT', target: 'npm' | 'group') => {
    const serve = npmRun(['db:serve'], env);
    started.push(serve);
    const npmPid = serve.child.pid!;
    expect(await eventually(() => serve.output().includes('Serving. Press Ctrl+C to stop.'), 150_000), serve.output()).toBe(true);
    const chain = tree(npmPid);
    // npm, node (exec'd by the shell: no sh, no tsx parent), the postmaster and its children, the watchdog.
    expect(chain.find((p) => p.ppid === npmPid)?.command).toMatch(/^node .*--import tsx scripts\/serve\.ts/);
    expect(chain.filter((p) => /postgres/.test(p.command)).length).toBeGreaterThan(1);
    expect(await portAnswers(port)).toBe(true);

    const sent = Date.now();
    process.kill(target === 'npm' ? npmPid : -npmPid, signal);
    const { code } = await serve.exit;
    const npmExitedMs = Date.now() - sent;
    // npm waits for node, which stops PostgreSQL before it exits: nothing is left once npm is gone
    // (but a zombie waiting for init to reap it).
    expect(await eventually(() => chain.every((p) => !alive(p.pid)), 5_000), JSON.stringify(chain.filter((p) => alive(p.pid)))).toBe(true);
    expect(await portAnswers(port)).toBe(false);
    expect(code).toBe(0);
    expect(npmExitedMs).toBeLessThan(10_000);
    expect(serve.output()).toContain(`${signal}: stopping the embedded PostgreSQL...`);
    expect(serve.output()).toContain('Stopped.');
  };

  it('SIGTERM to the npm process stops the server and the chain, and frees the port', () => serveThenStop('SIGTERM', 'npm'));
  it('SIGINT to the npm process does too', () => serveThenStop('SIGINT', 'npm'));
  it('SIGINT to the whole process group (Ctrl+C) stops it once, cleanly', () => serveThenStop('SIGINT', 'group'));
});

describe.skipIf(process.platform !== 'linux')('npm run migrate -- up, stopped while it waits for the lock', () => {
  let target: TestDatabase;
  let holder: pg.Client;
  beforeAll(async () => {
    target = await createTestDatabase({ migrated: false });
    holder = new pg.Client({ connectionString: target.url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1, $2)', [LOCK_KEY[0], LOCK_KEY[1]]);
  });
  afterAll(async () => {
    await holder?.end();
    await target?.drop();
  });

  it('exits 143 at once on SIGTERM to npm, leaving no process and no session, nothing applied', async () => {
    const migrate = npmRun(['migrate', '--', 'up'], { DATABASE_URL: target.url });
    started.push(migrate);
    expect(await eventually(() => migrate.output().includes('waiting for another migration run'), 60_000), migrate.output()).toBe(true);
    const chain = tree(migrate.child.pid!);
    const sent = Date.now();
    migrate.child.kill('SIGTERM');
    const { code } = await migrate.exit;
    expect(Date.now() - sent).toBeLessThan(3_000);
    expect(code).toBe(143);
    expect(migrate.output()).toContain('interrupted by SIGTERM: a migration in progress is rolled back by the server');
    expect(await eventually(() => chain.every((p) => !alive(p.pid)), 5_000)).toBe(true);
    const sessions = async () =>
      (
        await holder.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'data-layer migrate%'`,
        )
      ).rows[0]!.n;
    expect(await eventually(async () => (await sessions()) === 0, 5_000)).toBe(true);
    const { rows } = await holder.query<{ t: string | null }>(`SELECT to_regclass('public.schema_migrations')::text AS t`);
    expect(rows[0]!.t).toBeNull();
  }, 90_000);
});
