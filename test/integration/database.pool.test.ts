import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PoolSettings } from '../../src/config.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { ConnectionError, TimeoutError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { adminConnection, createTestDatabase, type TestDatabase } from '../support/database.js';

let testDb: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  testDb = await createTestDatabase({ migrated: false });
  admin = new pg.Client(adminConnection());
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await testDb?.drop();
});

type LogFn = (obj: object, msg?: string) => void;

function spyLogger() {
  return { error: vi.fn<LogFn>(), warn: vi.fn<LogFn>(), info: vi.fn<LogFn>(), debug: vi.fn<LogFn>() } satisfies Logger;
}

function open(pool: Partial<PoolSettings> = {}, logger: Logger = spyLogger()): Database {
  const applicationName = `dl-pool-${Math.random().toString(36).slice(2, 10)}`;
  return createDatabase({ connectionString: testDb.url, env: {}, logger, pool: { max: 3, applicationName, ...pool } });
}

async function terminate(applicationName: string): Promise<number> {
  const { rowCount } = await admin.query(
    'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()',
    [applicationName],
  );
  return rowCount ?? 0;
}

describe('createDatabase pool', () => {
  it('applies the session settings and the type parsers that the generated types declare', async () => {
    const database = open({ statementTimeoutMs: 1234, idleInTransactionTimeoutMs: 4321 });
    try {
      const { rows } = await sql<{
        statementTimeout: string;
        idleTimeout: string;
        app: string;
        big: number;
        num: number;
        day: string;
        at: Date;
      }>`select current_setting('statement_timeout') as statement_timeout,
                current_setting('idle_in_transaction_session_timeout') as idle_timeout,
                current_setting('application_name') as app,
                count(*) over () as big,
                72.50::numeric(5,2) as num,
                date '2026-11-25' as day,
                timestamptz '2026-11-25T10:00:00Z' as at`.execute(database.db);
      expect(rows[0]).toEqual({
        statementTimeout: '1234ms',
        idleTimeout: '4321ms',
        app: expect.stringMatching(/^dl-pool-/),
        big: 1,
        num: 72.5,
        day: '2026-11-25',
        at: new Date('2026-11-25T10:00:00Z'),
      });
    } finally {
      await database.close();
    }
  });

  it('refuses an int8 beyond Number.MAX_SAFE_INTEGER instead of rounding it', async () => {
    const database = open();
    try {
      await expect(sql`select 9007199254740993::int8 as n`.execute(database.db)).rejects.toThrow(RangeError);
      const { rows } = await sql<{ n: number }>`select 9007199254740991::int8 as n`.execute(database.db);
      expect(rows[0]?.n).toBe(Number.MAX_SAFE_INTEGER);
    } finally {
      await database.close();
    }
  });

  it('leaves the global pg type parsers alone', async () => {
    const database = open();
    const client = new pg.Client(testDb.connection);
    await client.connect();
    try {
      const { rows } = await client.query<{ n: unknown }>('select 5::int8 as n');
      expect(rows[0]?.n).toBe('5');
    } finally {
      await client.end();
      await database.close();
    }
  });

  it('survives pg_terminate_backend of idle clients and reconnects', async () => {
    const logger = spyLogger();
    const database = open({}, logger);
    try {
      await Promise.all([1, 2, 3].map(() => sql`select pg_sleep(0.05)`.execute(database.db)));
      expect(database.pool.idleCount).toBe(3);
      const app = (await sql<{ app: string }>`select current_setting('application_name') as app`.execute(database.db)).rows[0]!.app;
      expect(await terminate(app)).toBe(3);
      await vi.waitFor(() => expect(database.pool.totalCount).toBe(0));
      expect(logger.warn).toHaveBeenCalledWith(expect.objectContaining({ code: '57P01' }), expect.stringContaining('idle'));
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.db);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await database.close();
    }
  });

  it('survives pg_terminate_backend of checked-out clients: their queries fail, the pool goes on', async () => {
    const logger = spyLogger();
    const database = open({}, logger);
    try {
      const app = (await sql<{ app: string }>`select current_setting('application_name') as app`.execute(database.db)).rows[0]!.app;
      // One plain query and one transaction, both mid-statement when their backends are killed.
      const query = sql`select pg_sleep(10)`.execute(database.db).catch((e: unknown) => e);
      const transaction = database.db
        .transaction()
        .execute(async (trx) => {
          await sql`select 1`.execute(trx);
          await sql`select pg_sleep(10.5)`.execute(trx);
        })
        .catch((e: unknown) => e);
      await vi.waitFor(async () => {
        const { rows } = await admin.query(
          `select 1 from pg_stat_activity where application_name = $1 and query like 'select pg_sleep(10%' and state = 'active'`,
          [app],
        );
        expect(rows).toHaveLength(2);
      });
      expect(await terminate(app)).toBe(2);
      expect(await query).toBeInstanceOf(ConnectionError);
      expect(await query).toMatchObject({ cause: { code: '57P01' } });
      // Kysely's rollback on the dead connection fails too, and its error is the one reported.
      expect(await transaction).toBeInstanceOf(ConnectionError);
      expect(logger.warn).toHaveBeenCalledWith(expect.objectContaining({ err: expect.any(Error) }), expect.stringContaining('in use'));
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.db);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await database.close();
    }
  });

  it('enforces statement_timeout', async () => {
    const database = open({ statementTimeoutMs: 100 });
    try {
      const error = await sql`select pg_sleep(30)`.execute(database.db).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toMatchObject({
        message: 'the statement ran longer than statement_timeout',
        cause: { code: '57014' },
      });
      // The connection is still usable afterwards.
      expect((await sql<{ one: number }>`select 1 as one`.execute(database.db)).rows).toEqual([{ one: 1 }]);
    } finally {
      await database.close();
    }
  });

  it('fails fast with a clear ConnectionError when nothing listens on the port', async () => {
    const port = await closedPort();
    const database = createDatabase({ connectionString: `postgres://app:hunter2@127.0.0.1:${port}/ideas`, env: {}, logger: spyLogger() });
    try {
      const error = await sql`select 1`.execute(database.db).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toBe(
        `could not connect to postgres://app@127.0.0.1:${port}/ideas: connection refused: is the server running and listening on that host and port?`,
      );
      expect((error as Error).message).not.toContain('hunter2');
    } finally {
      await database.close();
    }
  });

  it('gives up within the connection timeout when the server never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket)); // accepts, never speaks
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    const database = createDatabase({
      connectionString: `postgres://app@127.0.0.1:${port}/ideas`,
      env: {},
      logger: spyLogger(),
      pool: { connectionTimeoutMs: 300 },
    });
    try {
      const started = performance.now();
      const error = await sql`select 1`.execute(database.db).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as Error).message).toBe(
        `could not connect to postgres://app@127.0.0.1:${port}/ideas within 300 ms (DATABASE_CONNECTION_TIMEOUT_MS)`,
      );
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await database.close();
      for (const socket of sockets) socket.destroy();
      await closeServer(silent);
    }
  });

  it('names a missing database', async () => {
    const missing = `${testDb.connection.database}_missing`;
    const url = testDb.url.replace(/\/[^/?]+(\?|$)/, `/${missing}$1`);
    const database = createDatabase({ connectionString: url, env: {}, logger: spyLogger() });
    try {
      await expect(sql`select 1`.execute(database.db)).rejects.toThrow(/the database does not exist/);
    } finally {
      await database.close();
    }
  });
});

describe('Database.close', () => {
  it('drains an idle pool and is idempotent', async () => {
    const database = open();
    await sql`select 1`.execute(database.db);
    const first = database.close();
    expect(database.close()).toBe(first);
    await first;
    expect(database.pool.totalCount).toBe(0);
    await expect(sql`select 1`.execute(database.db)).rejects.toThrow();
  });

  it('waits for in-flight queries within the grace period', async () => {
    const database = open();
    const query = sql<{ done: number }>`select 1 as done from pg_sleep(0.3)`.execute(database.db);
    await vi.waitFor(() => expect(database.pool.totalCount - database.pool.idleCount).toBe(1));
    await database.close({ timeoutMs: 5000 });
    await expect(query).resolves.toMatchObject({ rows: [{ done: 1 }] });
  });

  it('cuts connections still in use after the grace period and says so', async () => {
    const database = open();
    const held = await database.pool.connect(); // checked out and never released
    const started = performance.now();
    await expect(database.close({ timeoutMs: 200 })).rejects.toThrow(
      new TimeoutError('close(): 1 connection(s) were still in use after 200 ms and were closed'),
    );
    expect(performance.now() - started).toBeLessThan(5000);
    expect(database.pool.totalCount).toBe(0);
    await expect(held.query('select 1')).rejects.toThrow();
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
