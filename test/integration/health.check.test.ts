/**
 * database.health() and createHealthHandler(): ok / degraded / down, the migration state (applied,
 * pending, changed, missing, cached for a TTL), the least-privilege fallback to the migration
 * connection, bounded answers from an unreachable server, and no secret in the JSON.
 */
import { once } from 'node:events';
import { cpSync, mkdtempSync, readdirSync, rmSync, appendFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDatabase, type CreateDatabaseOptions, type Database } from '../../src/db/database.js';
import { createHealthHandler } from '../../src/db/health-handler.js';
import { defaultMigrationsDir } from '../../src/migrate/paths.js';
import { adminConnection, createTestDatabase, type TestDatabase } from '../support/database.js';

const PASSWORD = 'hunter2-health-secret';
const files = readdirSync(defaultMigrationsDir())
  .filter((f) => f.endsWith('.sql'))
  .sort();
const latest = files[files.length - 1]!.replace(/\.sql$/, '');

let migrated: TestDatabase;
let empty: TestDatabase;
let admin: pg.Client;
const opened: Database[] = [];
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  [migrated, empty] = await Promise.all([createTestDatabase(), createTestDatabase({ migrated: false })]);
  admin = new pg.Client(adminConnection());
  await admin.connect();
});

afterAll(async () => {
  await Promise.allSettled(opened.map((d) => d.close({ timeoutMs: 2000 })));
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  await admin?.end();
  await Promise.allSettled([migrated?.drop(), empty?.drop()]);
});

/**
 * The URL with a password: the server's own where it has one (the embedded server checks it),
 * else PASSWORD (a server that trusts local connections accepts and ignores it).
 */
function withPassword(url: string): string {
  const u = new URL(url);
  if (!u.password) u.password = PASSWORD;
  return u.toString();
}

function open(url: string, extra: CreateDatabaseOptions = {}): Database {
  const database = createDatabase({ connectionString: withPassword(url), env: {}, pool: { max: 2 }, ...extra });
  opened.push(database);
  return database;
}

function expectNoSecret(json: string, url: string): void {
  expect(json).not.toContain(PASSWORD);
  expect(json).not.toContain(decodeURIComponent(new URL(withPassword(url)).password));
  expect(json).not.toContain(withPassword(url));
  expect(json).not.toContain(url);
  expect(json).not.toMatch(/postgres(ql)?:\/\//);
}

describe('database.health()', () => {
  it('is ok on a migrated database: version, latency, pool figures and the migration state', async () => {
    const database = open(migrated.url);
    const report = await database.health();
    expect(report).toMatchObject({
      status: 'ok',
      ready: true,
      serverVersion: expect.stringMatching(/^\d+(\.\d+)?/),
      pool: { total: expect.any(Number), idle: expect.any(Number), waiting: 0, max: 2 },
      migrations: { applied: files.length, pending: 0, changed: 0, missing: 0, latest },
    });
    expect(report.latencyMs).toBeGreaterThanOrEqual(0);
    expect(report.error).toBeUndefined();
    expectNoSecret(JSON.stringify(report), migrated.url);
  });

  it('is degraded and not ready when migrations are pending', async () => {
    const report = await open(empty.url).health();
    expect(report).toMatchObject({
      status: 'degraded',
      ready: false,
      migrations: { applied: 0, pending: files.length, changed: 0, missing: 0, latest: null },
      error: `migrations out of step: ${files.length} pending, 0 changed, 0 missing`,
    });
  });

  it('reports changed and missing files', async () => {
    const edited = mkdtempSync(join(tmpdir(), 'dl-health-'));
    cleanups.push(() => rmSync(edited, { recursive: true, force: true }));
    cpSync(defaultMigrationsDir(), edited, { recursive: true });
    appendFileSync(join(edited, files[0]!), '\n-- edited after it was applied\n');
    rmSync(join(edited, files[files.length - 1]!));

    const database = open(migrated.url);
    const report = await database.health({ migrationsDir: edited });
    expect(report).toMatchObject({
      status: 'degraded',
      ready: false,
      migrations: { applied: files.length - 2, pending: 0, changed: 1, missing: 1, latest },
    });
  });

  it('caches the migration state for migrationsTtlMs', async () => {
    const scratch = await createTestDatabase();
    cleanups.push(() => scratch.drop());
    const database = open(scratch.url, { health: { migrationsTtlMs: 60_000 } });
    expect((await database.health()).migrations.missing).toBe(0);
    const ledger = new pg.Client(scratch.connection);
    await ledger.connect();
    try {
      await ledger.query(`insert into schema_migrations (name, checksum, execution_ms) values ('29991231235959_from_the_future', 'x', 1)`);
    } finally {
      await ledger.end();
    }
    expect((await database.health()).migrations.missing).toBe(0); // cached
    const fresh = await database.health({ migrationsTtlMs: 0 });
    expect(fresh).toMatchObject({ status: 'degraded', ready: false, migrations: { missing: 1, latest: '29991231235959_from_the_future' } });
  });

  it('reads the ledger through the migration connection when the application role may not', async () => {
    const role = `dl_health_${Math.random().toString(36).slice(2, 10)}`;
    await admin.query(`create role ${role} login password '${PASSWORD}'`);
    cleanups.push(() => admin.query(`drop role if exists ${role}`));
    const appUrl = new URL(migrated.url);
    appUrl.username = role;
    appUrl.password = PASSWORD;

    const without = createDatabase({ config: loadConfig({ DATABASE_URL: appUrl.toString() }), pool: { max: 1 } });
    const withMigrationUrl = createDatabase({
      config: loadConfig({ DATABASE_URL: appUrl.toString(), DATABASE_MIGRATION_URL: migrated.url }),
      pool: { max: 1 },
    });
    try {
      // The role can ping, but schema_migrations is not granted to it.
      const blind = await without.health();
      expect(blind).toMatchObject({
        status: 'degraded',
        ready: true,
        migrations: { applied: 0, error: expect.stringContaining('permission denied') },
      });
      // Skipping the migration state on purpose is not a problem.
      expect(await without.health({ checkMigrations: false })).toMatchObject({
        status: 'ok',
        ready: true,
        migrations: { applied: 0, error: 'not checked (checkMigrations: false)' },
      });
      const report = await withMigrationUrl.health();
      expect(report).toMatchObject({ status: 'ok', ready: true, migrations: { applied: files.length, pending: 0, latest } });
    } finally {
      await Promise.all([without.close(), withMigrationUrl.close()]);
    }
  });

  it('is down, with the reason and without the connection string, when nothing listens', async () => {
    const port = await closedPort();
    const url = `postgres://app:${PASSWORD}@127.0.0.1:${port}/ideas`;
    const database = createDatabase({ connectionString: url, env: {} });
    opened.push(database);
    const started = performance.now();
    const report = await database.health({ timeoutMs: 3000 });
    expect(performance.now() - started).toBeLessThan(3500);
    expect(report).toMatchObject({ status: 'down', ready: false, latencyMs: null, serverVersion: null });
    expect(report.error).toMatch(/^could not connect to <database>: connection refused/);
    expectNoSecret(JSON.stringify(report), url);
  });

  it('answers down within the timeout when the server accepts but never speaks', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return closeServer(silent);
    });
    const port = (silent.address() as { port: number }).port;
    const database = createDatabase({
      connectionString: `postgres://app@127.0.0.1:${port}/ideas`,
      env: {},
      pool: { connectionTimeoutMs: 3000 },
    });
    opened.push(database);
    const started = performance.now();
    // Two concurrent checks share one ping; both give up after 300 ms.
    const reports = await Promise.all([database.health({ timeoutMs: 300 }), database.health({ timeoutMs: 300 })]);
    expect(performance.now() - started).toBeLessThan(3000);
    for (const report of reports) expect(report).toMatchObject({ status: 'down', error: 'the server did not answer within 300 ms' });
    expect(database.pool.waitingCount + database.pool.totalCount).toBeLessThanOrEqual(1);
  });

  it('says so when the pool, not the server, is what keeps it from answering', async () => {
    const database = open(migrated.url, { pool: { max: 1 } });
    const held = await database.pool.connect();
    try {
      const report = await database.health({ timeoutMs: 300 });
      expect(report).toMatchObject({
        status: 'down',
        ready: false,
        error: 'no pool connection became free within 300 ms (1 of 1 in use, 1 checkouts waiting)',
        pool: { total: 1, idle: 0, waiting: 1, max: 1 },
      });
    } finally {
      held.release();
    }
    expect(await database.health()).toMatchObject({ status: 'ok' });
  });

  it('is down once the handle is closed', async () => {
    const database = open(migrated.url);
    expect((await database.health()).status).toBe('ok');
    await database.close();
    expect(await database.health()).toMatchObject({
      status: 'down',
      ready: false,
      error: 'the database handle is closed (close() was called)',
      pool: { total: 0, idle: 0, waiting: 0, max: 2 },
    });
  });
});

describe('createHealthHandler()', () => {
  let server: HttpServer;
  let base: string;
  const routes = new Map<string, ReturnType<typeof createHealthHandler>>();

  beforeAll(async () => {
    routes.set('/ready', createHealthHandler(open(migrated.url)));
    routes.set('/pending', createHealthHandler(open(empty.url)));
    const port = await closedPort();
    const down = createDatabase({ connectionString: `postgres://app:${PASSWORD}@127.0.0.1:${port}/ideas`, env: {} });
    opened.push(down);
    routes.set('/down', createHealthHandler(down, { timeoutMs: 2000 }));
    server = createHttpServer((req, res) => {
      const handler = routes.get(req.url ?? '');
      if (handler) handler(req, res);
      else res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('serves 200 with the report as JSON, not cacheable, when ready', async () => {
    const response = await fetch(`${base}/ready`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ status: 'ok', ready: true, migrations: { pending: 0 } });
    expectNoSecret(text, migrated.url);
  });

  it('serves 503 when migrations are pending and when the server is unreachable', async () => {
    const pending = await fetch(`${base}/pending`);
    expect(pending.status).toBe(503);
    expect(await pending.json()).toMatchObject({ status: 'degraded', ready: false });
    const down = await fetch(`${base}/down`);
    expect(down.status).toBe(503);
    expect(down.headers.get('cache-control')).toBe('no-store');
    const text = await down.text();
    expect(JSON.parse(text)).toMatchObject({ status: 'down', ready: false });
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toMatch(/postgres(ql)?:\/\//);
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await fetch(`${base}/ready`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/ready`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await closeServer(server);
  return port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
