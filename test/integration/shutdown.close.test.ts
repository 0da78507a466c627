/**
 * Graceful shutdown: close() with several queries in flight (some finish within the grace period,
 * one does not), typed refusals for anything started afterwards, and health() down after close.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { DatabaseClosedError, TimeoutError } from '../../src/errors.js';
import * as users from '../../src/repositories/users.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb?.drop(); // WITH (FORCE): also ends the backend still sleeping for the cut query
});

function open(max = 4): Database {
  return createDatabase({ connectionString: testDb.url, env: {}, pool: { max } });
}

const inUse = (database: Database) => database.pool.totalCount - database.pool.idleCount;

describe('graceful shutdown', () => {
  it('lets queries finish within the grace period, cuts the one that does not, and refuses new ones', async () => {
    const database = open(4);
    const quick = [0.2, 0.3, 0.4].map((s) => sql<{ s: number }>`select ${s}::float8 as s from pg_sleep(${s})`.execute(database.db));
    const stuck = sql`select pg_sleep(20)`.execute(database.db).then(
      () => 'finished',
      (error: unknown) => error,
    );
    await vi.waitFor(() => expect(inUse(database)).toBe(4), { timeout: 5000 });
    // A fifth query queues for a connection; pg-pool would leave it waiting until its connection
    // timeout once the pool is ending, close() refuses it at once.
    const queued = sql`select 5`.execute(database.db).then(
      () => 'served',
      (error: unknown) => ({ error, at: performance.now() }),
    );
    await vi.waitFor(() => expect(database.pool.waitingCount).toBe(1), { timeout: 5000 });

    const started = performance.now();
    const closing = database.close({ timeoutMs: 1500 }).catch((error: unknown) => error);
    const refusedQueued = await queued;
    expect(refusedQueued).toMatchObject({ error: expect.any(DatabaseClosedError) });
    expect((refusedQueued as { at: number }).at - started).toBeLessThan(1000);
    // During the grace period, a new query is refused at once with a typed error.
    await expect(sql`select 1`.execute(database.db)).rejects.toBeInstanceOf(DatabaseClosedError);

    const closeError = await closing;
    const elapsed = performance.now() - started;
    expect(closeError).toBeInstanceOf(TimeoutError);
    expect((closeError as Error).message).toBe('close(): 1 connection(s) were still in use after 1500 ms and were closed');
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(10_000);

    const results = await Promise.all(quick);
    expect(results.map((r) => r.rows[0]?.s)).toEqual([0.2, 0.3, 0.4]);
    const cut = await stuck;
    expect(cut).toBeInstanceOf(DatabaseClosedError);
    expect((cut as Error).message).toBe('close() ended its grace period while this query was running: its connection was closed');
    expect(database.pool.totalCount).toBe(0);
  }, 20_000);

  it('resolves when every in-flight query and transaction finishes within the grace period', async () => {
    const database = open(3);
    const query = sql`select 1 as n from pg_sleep(0.3)`.execute(database.db);
    const transaction = database.transaction(database.db, async (trx) => {
      await sql`select pg_sleep(0.2)`.execute(trx);
      return (await sql<{ n: number }>`select 2 as n`.execute(trx)).rows[0]!.n;
    });
    await vi.waitFor(() => expect(inUse(database)).toBe(2), { timeout: 5000 });
    await database.close({ timeoutMs: 5000 });
    await expect(query).resolves.toMatchObject({ rows: [{ n: 1 }] });
    await expect(transaction).resolves.toBe(2);
    expect(database.pool.totalCount).toBe(0);
  });

  it('refuses queries, transactions and repositories after close with DatabaseClosedError', async () => {
    const used = open();
    await sql`select 1`.execute(used.db);
    await used.close();
    const neverUsed = open();
    await neverUsed.close();
    for (const database of [used, neverUsed]) {
      const error = await sql`select 1`.execute(database.db).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseClosedError);
      expect(error).toMatchObject({ code: 'DATABASE_CLOSED', message: expect.stringContaining('close() was called') });
      await expect(database.transaction(database.db, (trx) => sql`select 1`.execute(trx))).rejects.toBeInstanceOf(DatabaseClosedError);
      await expect(users.listUsers(database.owner, {})).rejects.toBeInstanceOf(DatabaseClosedError);
      expect(await database.health()).toMatchObject({ status: 'down', ready: false });
    }
  });
});
