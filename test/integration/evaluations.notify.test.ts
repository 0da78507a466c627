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

  await claimNext(t.db, 'w1');
  await renewLease(t.db, queued.id, { workerId: 'w1', leaseSeconds: 60 });
  await sql`update evaluations set priority = 'high' where id = ${queued.id}`.execute(t.db);
  expect(await notified()).toEqual([]);

  await releaseLease(t.db, queued.id, { workerId: 'w1' });
  expect(await notified()).toEqual(['high']);

  await claimNext(t.db, 'w2');
  await failEvaluation(t.db, queued.id, { workerId: 'w2', errorMessage: 'agent timed out' });
  expect(await notified()).toEqual([]);
  await retryEvaluation(t.db, queued.id);
  expect(await notified()).toEqual(['high']);
});
