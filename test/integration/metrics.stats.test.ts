/**
 * database.stats(): the query duration histogram matches the queries that ran (cumulative
 * buckets, sum, count), and the pool gauges follow checkouts, idle connections and waiters.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { QUERY_DURATION_BUCKETS_MS } from '../../src/db/metrics.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let testDb: TestDatabase;
const opened: Database[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase({ migrated: false });
});

afterAll(async () => {
  await Promise.allSettled(opened.map((d) => d.close({ timeoutMs: 2000 })));
  await testDb?.drop();
});

function open(max = 2): Database {
  const database = createDatabase({ connectionString: testDb.url, env: {}, pool: { max } });
  opened.push(database);
  return database;
}

describe('database.stats()', () => {
  it('starts empty, with every bucket bound and the pool limit', () => {
    const stats = open(3).stats();
    expect(stats).toEqual({
      queries: 0,
      errors: 0,
      slowQueries: 0,
      queryDurationMs: { buckets: QUERY_DURATION_BUCKETS_MS.map((le) => ({ le, count: 0 })), sum: 0, count: 0 },
      pool: { total: 0, idle: 0, waiting: 0, max: 3 },
    });
  });

  it('counts every query in the histogram: fast ones low, slow ones above their sleep, failures too', async () => {
    const database = open();
    for (let i = 0; i < 5; i++) await sql`select ${i}::int as n`.execute(database.db);
    await sql`select pg_sleep(0.06)`.execute(database.db);
    await sql`select pg_sleep(0.06)`.execute(database.db);
    await expect(sql`select 1 / 0`.execute(database.db)).rejects.toThrow();

    const { queries, errors, queryDurationMs: h } = database.stats();
    expect(queries).toBe(8);
    expect(errors).toBe(1);
    expect(h.count).toBe(8);
    // Cumulative: never decreasing, and the last finite bucket holds everything under 10 s.
    const counts = h.buckets.map((b) => b.count);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts[counts.length - 1]).toBe(8);
    // The two sleeps took at least 60 ms each: at most 6 queries can be in the <= 50 ms bucket.
    const upTo50 = h.buckets.find((b) => b.le === 50)!.count;
    expect(upTo50).toBeLessThanOrEqual(6);
    expect(h.buckets.find((b) => b.le === 10_000)!.count - upTo50).toBeGreaterThanOrEqual(2);
    expect(h.sum).toBeGreaterThanOrEqual(120);
    expect(h.sum).toBeLessThan(8 * 10_000);
  });

  it('gauges the pool: checked out, idle and waiting connections', async () => {
    const database = open(2);
    const first = sql`select pg_sleep(0.4)`.execute(database.db);
    const second = sql`select pg_sleep(0.4)`.execute(database.db);
    const third = sql`select 3 as n`.execute(database.db); // waits for a free connection
    await vi.waitFor(() => expect(database.stats().pool).toEqual({ total: 2, idle: 0, waiting: 1, max: 2 }), { timeout: 5000 });
    await Promise.all([first, second, third]);
    expect(database.stats().pool).toEqual({ total: 2, idle: 2, waiting: 0, max: 2 });
    expect(database.stats().queryDurationMs.count).toBe(3);
  });

  it('returns a snapshot, not a live view', async () => {
    const database = open();
    const before = database.stats();
    await sql`select 1`.execute(database.db);
    expect(before.queryDurationMs.count).toBe(0);
    expect(before.queryDurationMs.buckets.every((b) => b.count === 0)).toBe(true);
    expect(database.stats().queryDurationMs.count).toBe(1);
  });
});
