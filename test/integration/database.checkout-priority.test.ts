/**
 * The checkout's two lanes (src/db/checkout.ts, src/repositories/priority.ts): when every pool
 * connection is in use, an urgent checkout (the queue's claimNext) is served before the ordinary
 * ones already waiting, ordinary ones in arrival order; the lanes keep the pool's figures, the
 * connection timeout and close() as they were. The order is observed, not timed: the pool has one
 * connection, held by the test while the checkouts queue, so they are served one at a time.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { DatabaseClosedError, TimeoutError } from '../../src/errors.js';
import { getIdea } from '../../src/repositories/business-ideas.js';
import { claimNext, createEvaluation } from '../../src/repositories/evaluations.js';
import { urgently } from '../../src/repositories/priority.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea } from '../support/factories.js';

const t = useTestDatabase();
const opened: Database[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((database) => database.close({ timeoutMs: 2_000 }).catch(() => undefined)));
});

/** A handle on the file's database whose pool has one connection. */
function single(connectionTimeoutMs = 10_000): Database {
  const database = createDatabase({ connectionString: t.testDatabase.url, env: {}, pool: { max: 1, connectionTimeoutMs } });
  opened.push(database);
  return database;
}

/** Holds the pool's only connection (opened and verified first) until `release()`. */
async function holdOnly(database: Database) {
  await sql`select 1`.execute(database.owner);
  const held = await database.pool.connect();
  return { release: () => held.release() };
}

describe('checkout lanes', () => {
  it('serves a queued claimNext before the ordinary checkouts queued ahead of it', async () => {
    const idea = await createSubmittedIdea(t.db);
    const evaluation = await createEvaluation(t.db, idea.id);
    const database = single();
    const held = await holdOnly(database);
    const order: string[] = [];
    const done = (label: string) => () => void order.push(label);

    const ordinary = [1, 2, 3].map((i) => getIdea(database.owner, idea.id).then(done(`read ${i}`)));
    const claimed = claimNext(database.owner, 'worker-urgent');
    const claim = claimed.then(done('claim'));
    const last = getIdea(database.owner, idea.id).then(done('read 4'));
    // Everything waits for the one connection: the pool counts them all as waiting.
    expect(database.pool.waitingCount).toBe(5);

    held.release();
    await Promise.all([...ordinary, claim, last]);
    expect(order).toEqual(['claim', 'read 1', 'read 2', 'read 3', 'read 4']);
    expect(await claimed).toMatchObject({ id: evaluation.id, claimedBy: 'worker-urgent' });
    expect(database.pool.waitingCount).toBe(0);
  });

  it('serves urgent checkouts in arrival order among themselves, and only the checkouts urgently() starts synchronously', async () => {
    const database = single();
    const held = await holdOnly(database);
    const order: string[] = [];
    const run = (label: string) => sql`select ${label}::text as label`.execute(database.owner).then(() => void order.push(label));

    const waiting = [
      run('ordinary 1'),
      urgently(() => run('urgent 1')),
      // A checkout started after the call's first await is ordinary.
      urgently(async () => {
        await Promise.resolve();
        await run('late in an urgent call');
      }),
      urgently(() => run('urgent 2')),
      run('ordinary 2'),
    ];
    await new Promise((resolve) => setImmediate(resolve));
    held.release();
    await Promise.all(waiting);
    // The late checkout queued last (after a microtask turn), in the ordinary lane.
    expect(order).toEqual(['urgent 1', 'urgent 2', 'ordinary 1', 'ordinary 2', 'late in an urgent call']);
  });

  it('still times a queued checkout out after the connection timeout, naming the saturated pool, and leaves the lane', async () => {
    const database = single(300);
    const held = await holdOnly(database);
    try {
      const error = await urgently(() => sql`select 1`.execute(database.owner)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toMatchObject({ code: 'POOL_EXHAUSTED' });
      expect((error as Error).message).toMatch(/1 of 1 connections in use/);
      expect(database.pool.waitingCount).toBe(0);
    } finally {
      held.release();
    }
    // The connection goes to the next checkout, not to the one that gave up.
    await expect(sql<{ n: number }>`select 2 as n`.execute(database.owner)).resolves.toMatchObject({ rows: [{ n: 2 }] });
  });

  it('refuses the queued checkouts of both lanes at once on close()', async () => {
    const database = single();
    const held = await holdOnly(database);
    const ordinary = sql`select 1`.execute(database.owner).catch((e: unknown) => e);
    const urgent = urgently(() => sql`select 2`.execute(database.owner)).catch((e: unknown) => e);
    expect(database.pool.waitingCount).toBe(2);
    const closing = database.close({ timeoutMs: 2_000 });
    expect(await ordinary).toBeInstanceOf(DatabaseClosedError);
    expect(await urgent).toBeInstanceOf(DatabaseClosedError);
    held.release();
    await closing;
  });
});
