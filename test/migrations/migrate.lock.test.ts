/**
 * The migrator's sessions: what they are named and set to, and how a waiting migrator tells a live
 * lock holder from a dead one. The holders here are plain connections that take the migration
 * lock under a crafted application_name, so every case (dead, alive, pid reused, another host,
 * not a migrator) is set up exactly.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { LOCK_KEY } from '../../src/migrate/lock.js';
import { migratorApplicationName, processIdentity, type ProcessIdentity } from '../../src/migrate/session.js';
import { appliedNames, createScratchDatabase, migrationsDir, rejection, sql, type MigrationsDir, type ScratchDatabase } from './support.js';

const A = '20260101000000_create_a';
let db: ScratchDatabase;
let dir: MigrationsDir;
const holders: pg.Client[] = [];
beforeEach(async () => {
  db = await createScratchDatabase();
  dir = migrationsDir({ [`${A}.sql`]: sql('CREATE TABLE a (id int);', 'DROP TABLE a;') });
});
afterEach(async () => {
  for (const holder of holders.splice(0)) await holder.end().catch(() => undefined);
  await db.drop();
  dir.cleanup();
});

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (_o: object, msg?: string) => lines.push(msg ?? '');
  return { lines, info: push, warn: push, error: push, debug: () => {} };
}

/** A session holding the migration lock under `applicationName`; `errors` collects what it is told when it is ended. */
async function holdLock(applicationName: string): Promise<{ client: pg.Client; pid: number; errors: Error[] }> {
  const client = new pg.Client({ ...db.connection, password: db.connection.password, application_name: applicationName });
  const errors: Error[] = [];
  client.on('error', (err) => errors.push(err));
  await client.connect();
  holders.push(client);
  await client.query('SELECT pg_advisory_lock($1, $2)', [...LOCK_KEY]);
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  return { client, pid, errors };
}

const alive = (backend: number) => db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [backend]).then((r) => r.length === 1);

/** The pid of a process that ran and has exited (and was reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((done) => child.on('exit', done));
  return child.pid!;
}

const me = processIdentity();

describe('the lock wait', () => {
  it('ends the session of a holder whose migrator process on this host is gone, logs it, and goes ahead at once', async () => {
    const pid = await deadPid();
    const holder = await holdLock(migratorApplicationName({ ...me, pid }));
    const log = recorder();
    const started = Date.now();
    const results = await db.migrator(dir.path, { lockWaitMs: 20_000, logger: log }).up();
    const elapsed = Date.now() - started;
    expect(results.map((r) => r.name)).toEqual([A]);
    expect(elapsed).toBeLessThan(3000);
    expect(log.lines).toContain(
      `the migration lock was held by the orphaned session pid ${holder.pid} (application_name "${migratorApplicationName({ ...me, pid })}"): ` +
        `its process ${pid} on this host no longer exists; terminated it with pg_terminate_backend`,
    );
    expect(await alive(holder.pid)).toBe(false);
    expect(await appliedNames(db)).toEqual([A]);
  });

  it('treats a reused pid as gone: the pid exists but its process started at another time', async () => {
    // This very process, with a start time it does not have: the holder's process has exited and its pid was reused.
    const reused: ProcessIdentity = { ...me, startTag: (parseInt(me.startTag!, 36) + 1).toString(36) };
    const holder = await holdLock(migratorApplicationName(reused));
    const log = recorder();
    await db.migrator(dir.path, { lockWaitMs: 20_000, logger: log }).up();
    expect(log.lines.join('\n')).toContain(`its process ${me.pid} on this host is gone (the pid now belongs to a process started later)`);
    expect(await alive(holder.pid)).toBe(false);
  });

  it.each([
    ['a live migrator on this host', () => migratorApplicationName(me), `its process ${process.pid} is running on this host`],
    ['a migrator on another host', async () => migratorApplicationName({ ...me, pid: await deadPid(), hostTag: '00000000' }), undefined],
    [
      'a migrator that cannot be checked (no /proc)',
      async () => migratorApplicationName({ pid: await deadPid(), host: me.host }),
      undefined,
    ],
    ['a session that is not a migrator', async () => `data-layer migrate (pid ${await deadPid()})`, undefined],
  ])('waits for %s, within lockWaitMs, and never terminates it', async (_label, name, reason) => {
    const holder = await holdLock(await name());
    const log = recorder();
    const started = Date.now();
    const error = await rejection(db.migrator(dir.path, { lockWaitMs: 600, logger: log }).up());
    expect(Date.now() - started).toBeLessThan(4000);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toContain(
      `held by pid ${holder.pid} (application_name "${await holder.client.query('SHOW application_name').then((r) => r.rows[0].application_name as string)}"`,
    );
    if (reason) expect(error.message).toContain(`; ${reason})`);
    expect(log.lines.some((l) => l.includes('terminated'))).toBe(false);
    expect(holder.errors).toEqual([]);
    expect(await alive(holder.pid)).toBe(true);
    expect(await appliedNames(db)).toEqual([]);
  });
});

describe("the migrator's sessions", () => {
  const probe = '20260102000000_probe';
  const probeFile = sql(
    "CREATE TABLE probe AS SELECT current_setting('client_connection_check_interval') AS check_interval, " +
      "current_setting('tcp_keepalives_idle') AS keepalives_idle, current_setting('application_name') AS app;",
    'DROP TABLE probe;',
  );

  it.each([
    [undefined, '1s'],
    [250, '250ms'],
    [0, '0'],
  ])('run with connectionCheckIntervalMs %s have client_connection_check_interval %s and a checkable name', async (ms, expected) => {
    dir.write({ [`${probe}.sql`]: probeFile });
    await db.migrator(dir.path, ms === undefined ? {} : { connectionCheckIntervalMs: ms }).up();
    const [row] = await db.query<{ check_interval: string; keepalives_idle: string; app: string }>('SELECT * FROM probe');
    expect(row!.check_interval).toBe(expected);
    // Server-side keepalives (seconds); a Unix-socket session has none.
    expect(row!.keepalives_idle).toBe(db.connection.host?.startsWith('/') ? '0' : '10');
    expect(row!.app).toBe(migratorApplicationName());
    expect(row!.app).toMatch(new RegExp(`^data-layer migrate \\(pid ${process.pid} on .+, [0-9a-f]{8}\\.[0-9a-z]+\\)$`));
    expect(Buffer.byteLength(row!.app)).toBeLessThanOrEqual(63);
  });

  it('refuse a connectionCheckIntervalMs that is not a whole number of milliseconds', () => {
    expect(() => db.migrator(dir.path, { connectionCheckIntervalMs: -1 })).toThrow(/connectionCheckIntervalMs must be a whole number/);
  });
});
