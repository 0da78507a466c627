/**
 * Through PgBouncer: in transaction mode `up` and the seed runner refuse before taking their
 * session advisory lock (it would not hold there), naming DATABASE_MIGRATION_URL; in session mode
 * (a server session per client, like a direct connection) `up` runs. Skipped where the
 * `pgbouncer` binary is absent (.ci/run installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devSet } from '../../seeds/dev.js';
import { runSeedSet } from '../../seeds/runner.js';
import { createDatabase } from '../../src/db/database.js';
import { createMigrator } from '../../src/migrate/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { appliedNames, createScratchDatabase, migrationsDir, rejection, sql, type MigrationsDir, type ScratchDatabase } from './support.js';

const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'].find(
  (path) => spawnSync(path, ['--version']).status === 0,
);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function listening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The uid/gid of the postgres OS user when we are root (PgBouncer refuses to run as root). */
function unprivileged(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  return Number.isInteger(uid) && uid > 0 ? { uid, gid: id('-g') } : undefined;
}

describe.skipIf(!PGBOUNCER)('through PgBouncer (skipped: no pgbouncer binary)', () => {
  let db: ScratchDatabase;
  let seeded: TestDatabase;
  let dir: MigrationsDir;
  let work: string;
  let bouncer: ChildProcess;
  let port: number;
  const url = (database: string, user = db.connection.user) => `postgres://${user}@127.0.0.1:${port}/${database}`;

  beforeAll(async () => {
    [db, seeded] = await Promise.all([createScratchDatabase(), createTestDatabase()]);
    dir = migrationsDir({ '20260101000000_create_a.sql': sql('CREATE TABLE a (id int);', 'DROP TABLE a;') });
    port = await freePort();
    work = mkdtempSync(join(tmpdir(), 'dl-pgbouncer-'));
    chmodSync(work, 0o777);
    const { host, port: serverPort, user } = db.connection;
    const target = (database: string, mode: string) =>
      `host=${host ?? '127.0.0.1'} port=${serverPort ?? 5432} dbname=${database} pool_mode=${mode}`;
    writeFileSync(
      join(work, 'pgbouncer.ini'),
      [
        '[databases]',
        `tx = ${target(db.name, 'transaction')}`,
        `session = ${target(db.name, 'session')}`,
        `seed_tx = ${target(seeded.name, 'transaction')}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        "unix_socket_dir = ''",
        'auth_type = trust',
        `auth_file = ${join(work, 'users.txt')}`,
        `logfile = ${join(work, 'pgbouncer.log')}`,
        'default_pool_size = 4',
        // The pool sets its timeouts as startup parameters, which PgBouncer passes on only if told to ignore them.
        'ignore_startup_parameters = extra_float_digits,options,statement_timeout,idle_in_transaction_session_timeout,lock_timeout',
        '',
      ].join('\n'),
    );
    // Clients connect without a password (trust); PgBouncer logs in to the server with this one.
    const password = typeof db.connection.password === 'string' ? db.connection.password : '';
    writeFileSync(join(work, 'users.txt'), `"${user}" "${password.replace(/"/g, '""')}"\n`);
    bouncer = spawn(PGBOUNCER!, [join(work, 'pgbouncer.ini')], { stdio: 'ignore', ...unprivileged() });
    await listening(port, 10_000);
  }, 60_000);

  afterAll(async () => {
    bouncer?.kill('SIGTERM');
    await Promise.all([db?.drop(), seeded?.drop()]);
    dir?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const migrator = (database: string) =>
    createMigrator({
      connection: { ...db.connection, host: '127.0.0.1', port, database },
      migrationsDir: dir.path,
      lockWaitMs: 5000,
      connectionCheckIntervalMs: 0,
    });

  it('up in transaction mode is refused before the lock, naming DATABASE_MIGRATION_URL; nothing is applied', async () => {
    const error = await rejection(migrator('tx').up());
    expect(error.code).toBe('MIGRATION_POOLER');
    expect(error.message).toMatch(
      /^refusing to migrate through a transaction pooler \((two clients were served by the same server session|the backend pid changed)/,
    );
    expect(error.message).toContain('Set DATABASE_MIGRATION_URL to a direct connection');
    expect(await appliedNames(db)).toEqual([]);
    const locks = await db.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(locks).toEqual([]);
  }, 60_000);

  it('up in session mode runs (a server session per client, as direct)', async () => {
    expect((await migrator('session').up()).map((r) => r.name)).toEqual(['20260101000000_create_a']);
    expect(await appliedNames(db)).toEqual(['20260101000000_create_a']);
  }, 60_000);

  it('the seed runner refuses the same way', async () => {
    const database = createDatabase({ connectionString: url('seed_tx'), env: { DATABASE_PREPARED_STATEMENTS: 'false' }, pool: { max: 2 } });
    try {
      const error = await rejection(runSeedSet(database, devSet, { checks: false }));
      expect(error.code).toBe('SEED_POOLER_REFUSED');
      expect(error.message).toContain('refusing to seed through a transaction pooler');
      expect(error.message).toContain('DATABASE_MIGRATION_URL');
    } finally {
      await database.close();
    }
  }, 60_000);
});
