/**
 * The bounds of a call (src/db/checkout.ts): a saturated pool says so, distinct from a server that
 * cannot be reached; a query past the client-side query timeout fails with a TimeoutError and its
 * connection is destroyed; a plain read that timed out is retried once on another connection,
 * a write never is; after a timeout, connections opened before it are not reused.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolSettings } from '../../src/config.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { ConnectionError, TimeoutError } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let testDb: TestDatabase;
let admin: pg.Client;
const handles: Database[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase({ migrated: false });
  // The superuser's settings for this database (its password is non-enumerable: pass the object as is).
  admin = new pg.Client(testDb.connection);
  await admin.connect();
  await admin.query('CREATE TABLE marks (n int)');
});

afterAll(async () => {
  await Promise.allSettled(handles.map((handle) => handle.close({ timeoutMs: 1000 })));
  await admin?.end();
  await testDb?.drop();
});

function open(pool: Partial<PoolSettings>): Database {
  const applicationName = `dl-timeouts-${Math.random().toString(36).slice(2, 10)}`;
  const database = createDatabase({ connectionString: testDb.url, env: {}, pool: { max: 2, applicationName, ...pool } });
  handles.push(database);
  return database;
}

/** The backends of a pool, by its application_name (idle ones only, with `idle`). */
async function backends(database: Database, { idle = false } = {}): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 ${idle ? "AND state = 'idle'" : ''} ORDER BY pid`,
    [database.pool.options.application_name],
  );
  return rows.map((r) => r.pid);
}

async function elapsed(run: () => Promise<unknown>): Promise<{ ms: number; outcome: unknown }> {
  const started = performance.now();
  const outcome = await run().catch((error: unknown) => error);
  return { ms: performance.now() - started, outcome };
}

describe('a saturated pool', () => {
  it('fails the waiting checkout with a TimeoutError that says the pool, not the server, was the problem', async () => {
    const database = open({ max: 2, connectionTimeoutMs: 300 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holders = [1, 2].map(() => database.transaction(database.db, () => held));
    await expect.poll(() => database.pool.totalCount).toBe(2);
    const { ms, outcome } = await elapsed(() => sql`SELECT 1`.execute(database.db));
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(outcome).toMatchObject({ code: 'POOL_EXHAUSTED' });
    const { message } = outcome as TimeoutError;
    expect(message).toContain('no pool connection became free within 300 ms');
    expect(message).toContain('2 of 2 connections in use');
    expect(message).not.toContain('could not connect');
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(300 + 2000);
    release();
    await Promise.all(holders);
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db)).rows).toEqual([{ one: 1 }]);
  });
});

describe('the query timeout', () => {
  it('fails a query the server does not answer in time, destroys its connection, and retries a read once', async () => {
    const database = open({ statementTimeoutMs: 0, queryTimeoutMs: 400 });
    // A read: tried twice (400 ms each), then a TimeoutError; both connections are gone afterwards.
    const read = await elapsed(() => sql`SELECT pg_sleep(3)`.execute(database.db));
    expect(read.outcome).toBeInstanceOf(TimeoutError);
    expect((read.outcome as TimeoutError).message).toContain('no answer within 400 ms (DATABASE_QUERY_TIMEOUT_MS)');
    expect(read.ms).toBeGreaterThanOrEqual(750);
    expect(read.ms).toBeLessThan(2 * 400 + 2000);
    expect(database.pool.totalCount).toBe(0);
    // A write is never retried: one timeout, and the statement may or may not have run.
    const write = await elapsed(() => sql`INSERT INTO marks SELECT 1 FROM pg_sleep(3)`.execute(database.db));
    expect(write.outcome).toBeInstanceOf(TimeoutError);
    expect((write.outcome as TimeoutError).message).toContain('a write may or may not have taken effect');
    expect(write.ms).toBeLessThan(400 + 1500);
    // The pool goes on, on new connections.
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db)).rows).toEqual([{ one: 1 }]);
  });

  it('answers a read on its retry when the first attempt timed out', async () => {
    const database = open({ statementTimeoutMs: 0, queryTimeoutMs: 1000 });
    await admin.query('SELECT pg_advisory_lock(4242)');
    const unlock = setTimeout(() => void admin.query('SELECT pg_advisory_unlock(4242)'), 1500);
    try {
      // Blocked for 1.5 s: the first attempt times out at 1 s, the retry gets the lock at 1.5 s.
      const { ms, outcome } = await elapsed(() =>
        sql<{ locked: string }>`SELECT pg_advisory_lock_shared(4242)::text AS locked`.execute(database.db),
      );
      expect(outcome).toMatchObject({ rows: [{ locked: '' }] });
      expect(ms).toBeGreaterThanOrEqual(1400);
      expect(ms).toBeLessThan(2 * 1000 + 1500);
    } finally {
      clearTimeout(unlock);
    }
  });

  it('fails every later statement of a transaction at once after a timeout, so the rollback does not wait again', async () => {
    const database = open({ statementTimeoutMs: 0, queryTimeoutMs: 400 });
    const { ms, outcome } = await elapsed(() => database.transaction(database.db, (trx) => sql`SELECT pg_sleep(3)`.execute(trx)));
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(ms).toBeLessThan(400 + 1500);
  });

  it('does not reuse connections opened before a timeout', async () => {
    const database = open({ max: 3, statementTimeoutMs: 0, queryTimeoutMs: 400 });
    // Three connections open and idle, then one query times out on a fourth checkout of one of them.
    await Promise.all([1, 2, 3].map(() => sql`SELECT pg_sleep(0.05)`.execute(database.db)));
    const before = await backends(database, { idle: true });
    expect(before.length).toBeGreaterThan(0);
    await expect(sql`UPDATE marks SET n = n FROM pg_sleep(3)`.execute(database.db)).rejects.toBeInstanceOf(TimeoutError);
    await sql`SELECT 1`.execute(database.db);
    // (The timed-out query's own backend may still be running its pg_sleep: it is not idle.) A
    // discarded connection's backend exits shortly after its socket closes, so the old pids may
    // linger for a moment; one that was reused would stay idle for good.
    let after = await backends(database, { idle: true });
    for (let tries = 0; tries < 40 && after.some((pid) => before.includes(pid)); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await backends(database, { idle: true });
    }
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
  });
});

describe('a connection lost while a call waits', () => {
  it('arrives as a ConnectionError, never a raw socket error', async () => {
    const database = open({ max: 1 });
    await sql`SELECT 1`.execute(database.db);
    const pending = database.transaction(database.db, (trx) => sql`SELECT pg_sleep(3)`.execute(trx)).catch((e: unknown) => e);
    await expect.poll(async () => (await backends(database)).length).toBe(1);
    // Cut the socket under the running query, as a reset from the network would.
    const [client] = (database.pool as unknown as { _clients: { connection: { stream: { destroy(): void } } }[] })._clients;
    client!.connection.stream.destroy();
    const error = await pending;
    expect(error).toBeInstanceOf(ConnectionError);
  });
});
