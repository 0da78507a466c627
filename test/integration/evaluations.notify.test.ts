/**
 * The queue's wake-ups (migration 20261203120000): a run that becomes pending (queued, released,
 * retried) notifies ai_validation_evaluation_queue with its priority, at commit and only then;
 * other changes to evaluations notify nobody.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { pgConfig } from '../../scripts/lib/server.js';
import {
  claimNext,
  createEvaluation,
  failEvaluation,
  nextClaimableIn,
  releaseLease,
  renewLease,
  retryEvaluation,
} from '../../src/repositories/evaluations.js';
import { EVALUATION_QUEUE_CHANNEL } from '../../src/queue/listener.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea } from '../support/factories.js';

const t = useTestDatabase();
let listener: pg.Client;
const received: (string | undefined)[] = [];

beforeAll(async () => {
  listener = new pg.Client(pgConfig(t.testDatabase.connection));
  await listener.connect();
  listener.on('notification', (message) => {
    if (message.channel === EVALUATION_QUEUE_CHANNEL) received.push(message.payload);
  });
  await listener.query(`LISTEN ${EVALUATION_QUEUE_CHANNEL}`);
});
afterAll(() => listener?.end());
beforeEach(() => void (received.length = 0));

/** What arrived within a short while (notifications come asynchronously, after the commit). */
async function notified(): Promise<(string | undefined)[]> {
  await sleep(150);
  const copy = [...received];
  received.length = 0;
  return copy;
}

it('notifies the priority of a queued run, once the transaction commits', async () => {
  const idea = await createSubmittedIdea(t.db);
  await createEvaluation(t.db, idea.id, { priority: 'high' });
  expect(await notified()).toEqual(['high']);

  await t.database.transaction(t.db, async (trx) => {
    await createEvaluation(trx, idea.id, { priority: 'low' });
    // Not before the commit.
    expect(await notified()).toEqual([]);
  });
  expect(await notified()).toEqual(['low']);

  await expect(
    t.database.transaction(t.db, async (trx) => {
      await createEvaluation(trx, idea.id);
      throw new Error('rolled back');
    }),
  ).rejects.toThrow('rolled back');
  expect(await notified()).toEqual([]);
});

it('folds a bulk insert into one notification per priority', async () => {
  const idea = await createSubmittedIdea(t.db);
  await t.db
    .insertInto('evaluations')
    .values(
      Array.from({ length: 50 }, (_, i) => ({ businessIdeaId: idea.id, priority: i % 2 === 0 ? ('normal' as const) : ('high' as const) })),
    )
    .execute();
  expect((await notified()).sort()).toEqual(['high', 'normal']);
});

it('notifies a run that is pending again (released, retried), and not other changes', async () => {
  await t.db.deleteFrom('evaluations').execute();
  const idea = await createSubmittedIdea(t.db);
  const queued = await createEvaluation(t.db, idea.id);
  expect(await notified()).toEqual(['normal']);

  const first = (await claimNext(t.db, 'w1'))!;
  await renewLease(t.db, queued.id, { workerId: 'w1', attempt: first.attempt, leaseSeconds: 60 });
  await sql`update evaluations set priority = 'high' where id = ${queued.id}`.execute(t.db);
  expect(await notified()).toEqual([]);

  await releaseLease(t.db, queued.id, { workerId: 'w1', attempt: first.attempt });
  expect(await notified()).toEqual(['high']);

  // An operator's failure ends the run for good: nothing to wake a worker for, until it is retried.
  await claimNext(t.db, 'w2');
  await failEvaluation(t.db, queued.id, { errorMessage: 'agent timed out' });
  expect(await notified()).toEqual([]);
  await retryEvaluation(t.db, queued.id);
  expect(await notified()).toEqual(['high']);

  // A worker's failure queues the run again with a backoff: notified (the worker's timer covers the wait).
  const third = (await claimNext(t.db, 'w3'))!;
  await failEvaluation(t.db, queued.id, { workerId: 'w3', attempt: third.attempt, errorMessage: 'agent timed out' });
  expect(await notified()).toEqual(['high']);
});

it('nextClaimableIn: null with nothing in flight or backing off, else the soonest lease to run out or retry to become due', async () => {
  await t.db.deleteFrom('evaluations').execute();
  expect(await nextClaimableIn(t.db)).toBeNull();
  const idea = await createSubmittedIdea(t.db);
  const queued = await createEvaluation(t.db, idea.id);
  // A run due now is claimable now: it is what a claim takes, not what a timer waits for.
  expect(await nextClaimableIn(t.db)).toBeNull();

  const claimed = (await claimNext(t.db, 'w1', { leaseSeconds: 30 }))!;
  const leaseMs = await nextClaimableIn(t.db);
  expect(leaseMs).toBeGreaterThan(25_000);
  expect(leaseMs).toBeLessThanOrEqual(30_000);

  // A worker's failure backs the run off (its run_after in the future): that is the next wake-up.
  await failEvaluation(t.db, queued.id, { workerId: 'w1', attempt: claimed.attempt, errorMessage: 'agent timed out' });
  const { runAfter } = await t.db.selectFrom('evaluations').select('runAfter').where('id', '=', queued.id).executeTakeFirstOrThrow();
  const backoffMs = await nextClaimableIn(t.db);
  expect(backoffMs).toBeGreaterThan(0);
  expect(Math.abs(backoffMs! - (runAfter.getTime() - Date.now()))).toBeLessThan(1_000);

  await sql`update evaluations set run_after = now() - interval '1 second' where id = ${queued.id}`.execute(t.db);
  expect(await nextClaimableIn(t.db)).toBeNull();
});
