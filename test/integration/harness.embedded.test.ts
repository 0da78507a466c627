/**
 * startEmbedded's own guarantees: an ephemeral server leaves nothing behind on stop (or when its
 * Node process is SIGKILLed), and a persistent data directory in a state it cannot use is a clear
 * error before anything starts.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowTraverse, embeddedPostgresMajor, startEmbedded } from '../../scripts/lib/embedded.js';
import { pgConfig } from '../../scripts/lib/server.js';
import type { ConnectionSettings } from '../../src/connection.js';
import { ServerError } from '../../scripts/lib/postgres-server.js';
import { startCli, waitForOutput } from '../support/cli.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dl-embedded-test-'));
  await allowTraverse(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function answers(settings: ConnectionSettings): Promise<boolean> {
  const client = new pg.Client({ ...pgConfig(settings), connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

describe('startEmbedded, ephemeral', () => {
  it('serves a UTF-8 cluster with a password, and stop() removes its data and closes its port', async () => {
    const dataDir = join(dir, 'ephemeral');
    const server = await startEmbedded({ dataDir, persistent: false });
    expect(server.kind).toBe('embedded');
    expect(server.admin).toMatchObject({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
    expect(Object.keys(server.admin)).not.toContain('password');
    const client = new pg.Client(pgConfig(server.admin));
    await client.connect();
    const { rows } = await client.query<{ encoding: string; fsync: string }>(
      `SELECT pg_encoding_to_char(encoding) AS encoding, current_setting('fsync') AS fsync FROM pg_database WHERE datname = 'postgres'`,
    );
    await client.end();
    expect(rows).toEqual([{ encoding: 'UTF8', fsync: 'off' }]);
    // The password is required.
    await expect(new pg.Client({ ...pgConfig(server.admin), password: 'wrong' }).connect()).rejects.toMatchObject({ code: '28P01' });

    await server.stop();
    await server.stop(); // idempotent
    expect(existsSync(dataDir)).toBe(false);
    expect(await answers(server.admin)).toBe(false);
  });

  it('does not outlive a Node process that is SIGKILLed', async () => {
    const child = startCli('../test/support/embedded-child.ts', [], { cwd: dir });
    try {
      await waitForOutput(child, (out) => out.includes('"port"'), 60_000);
    } catch (error) {
      child.child.kill('SIGKILL');
      throw error;
    }
    const info = JSON.parse(child.output().trim().split('\n').at(-1) ?? '{}') as {
      pid: number;
      port: number;
      dataDir: string;
      password: string;
    };
    const admin: ConnectionSettings = { host: '127.0.0.1', port: info.port, user: 'postgres', database: 'postgres' };
    Object.defineProperty(admin, 'password', { value: info.password, enumerable: false });
    expect(await answers(admin)).toBe(true);

    process.kill(info.pid, 'SIGKILL'); // the node process itself, not the tsx wrapper
    // The watchdog polls every second, then waits for the fast shutdown.
    expect(await eventually(async () => !(await answers(admin)), 10_000)).toBe(true);
    expect(await eventually(() => !existsSync(info.dataDir), 10_000)).toBe(true);
    await child.result;
  }, 90_000);
});

describe('startEmbedded, persistent, refuses a data directory it cannot use', () => {
  it('names both majors when the directory belongs to another PostgreSQL version', async () => {
    const dataDir = join(dir, 'old-major');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'PG_VERSION'), '15\n');
    writeFileSync(`${dataDir}.password`, 'x\n', { mode: 0o600 });
    const error = await startEmbedded({ dataDir, persistent: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as Error).message).toMatch(/initialised by PostgreSQL 15, but the embedded server is PostgreSQL 1[6-9]/);
    expect((error as Error).message).toContain(dataDir);
  });

  it('says so when an initialised directory has lost its password file', async () => {
    const dataDir = join(dir, 'no-password');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'PG_VERSION'), `${await embeddedPostgresMajor()}\n`);
    await expect(startEmbedded({ dataDir, persistent: true })).rejects.toThrow(/password file .*no-password\.password is missing/);
  });
});
