/**
 * createWorker (src/queue/worker.ts) against a real PostgreSQL: claims on NOTIFY without polling,
 * the concurrency bound, lease renewal during a long handler, failures written, stop() waiting and
 * releasing, a lost lease aborting its handler, a dead worker's run taken over when its lease
 * ends, the listening connection killed (polls, then listens again), the worker role, bad options.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { adminQuery, quoteIdent } from '../../scripts/lib/server.js';
import { toConnectionUrl } from '../../src/connection.js';
import { ConfigError, InvalidTransitionError, StaleAttemptError, ValidationError, WorkerStoppedError } from '../../src/errors.js';
import { createDatabase } from '../../src/db/database.js';
import { claimNext, createEvaluation, type Evaluation } from '../../src/repositories/evaluations.js';
import { createWorker, type CreateWorkerOptions, type Worker, type WorkerEvent } from '../../src/queue/worker.js';
import type { EvaluationResults } from '../../src/schema/json.js';
import { adminConnection, useTestDatabase } from '../support/database.js';
import { createSubmittedIdea } from '../support/factories.js';
import { useRoleConnections } from '../support/roles.js';

const t = useTestDatabase({ pool: { max: 8 } });
const connectAs = useRoleConnections(t);

const RESULTS: EvaluationResults = {
  version: 1,
  overallScore: 70,
  recommendation: 'go',
  confidence: 0.8,
  summary: 'A sizeable niche',
  agentScores: [],
  strengths: [],
  risks: [],
  nextSteps: [],
  generatedAt: '2026-12-01T09:00:00.000Z',
};
/** No poll within a test: wake-ups must come from NOTIFY or the lease timer. */
const NEVER = 3_600_000;

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop({ graceMs: 0 })));
  await t.db.deleteFrom('evaluations').execute();
});

/** A started worker on the test database, its events recorded with their time. */
function start(options: Partial<CreateWorkerOptions> & Pick<CreateWorkerOptions, 'handler'>) {
  const events: (WorkerEvent & { at: number })[] = [];
  const worker = createWorker({
    database: t.database,
    workerId: `w-${randomBytes(3).toString('hex')}`,
    pollIntervalMs: NEVER,
    ...options,
    onEvent: (event) => events.push({ ...event, at: performance.now() }),
  });
  workers.push(worker);
  return { worker, events };
}

async function enqueue(priority: 'low' | 'normal' | 'high' = 'normal'): Promise<Evaluation> {
  const idea = await createSubmittedIdea(t.db);
  return createEvaluation(t.db, idea.id, { priority });
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'the condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

const row = (id: string) => t.db.selectFrom('evaluations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

it('claims a run as soon as it is queued, woken by NOTIFY rather than a poll', async () => {
  const started = new Map<string, number>();
  const { worker } = start({
    handler: async (evaluation) => {
      started.set(evaluation.id, performance.now());
      return RESULTS;
    },
  });
  await worker.ready;
  const latencies: number[] = [];
  for (let i = 0; i < 10; i++) {
    const before = performance.now();
    const queued = await enqueue();
    await until(() => started.has(queued.id), 5_000, 'the claim');
    latencies.push(started.get(queued.id)! - before);
    await until(async () => (await row(queued.id)).status === 'completed', 5_000, 'the completion');
  }
  latencies.sort((a, b) => a - b);
  console.info(`[worker] enqueue-to-start over 10 runs: p50 ${latencies[5]!.toFixed(1)} ms, max ${latencies[9]!.toFixed(1)} ms`);
  // The poll interval is an hour: only the notification can have woken it.
  expect(latencies[9]).toBeLessThan(1_000);
  expect(worker.stats()).toMatchObject({ claimed: 10, completed: 10, listening: true, inFlight: 0 });
  const done = await row([...started.keys()][0]!);
  expect(done).toMatchObject({ status: 'completed', claimedBy: worker.workerId, results: RESULTS });
});

it('runs at most `concurrency` handlers at once, and drains the queue', async () => {
  for (let i = 0; i < 9; i++) await enqueue(i % 3 === 0 ? 'high' : 'normal');
  let running = 0;
  let most = 0;
  const { worker } = start({
    concurrency: 3,
    handler: async () => {
      most = Math.max(most, ++running);
      await sleep(150);
      running--;
      return RESULTS;
    },
  });
  await until(() => worker.stats().completed === 9, 10_000, 'nine completions');
  expect(most).toBe(3);
  const statuses = await t.db.selectFrom('evaluations').select(['status', 'claimedBy']).distinct().execute();
  expect(statuses).toEqual([{ status: 'completed', claimedBy: worker.workerId }]);
});

it('renews the lease while a handler outlasts it, so no other worker can claim the run', async () => {
  const queued = await enqueue();
  let rivalGot: Evaluation | null | undefined;
  const { worker, events } = start({
    leaseSeconds: 1,
    handler: async () => {
      await sleep(1_500);
      // Past the first lease's end: still this worker's.
      rivalGot = await claimNext(t.db, 'rival', { leaseSeconds: 1 });
      await sleep(1_000);
      return RESULTS;
    },
  });
  await until(async () => (await row(queued.id)).status === 'completed', 10_000, 'the completion');
  expect(rivalGot).toBeNull();
  expect(events.filter((e) => e.type === 'renewed').length).toBeGreaterThanOrEqual(5);
  expect(await row(queued.id)).toMatchObject({ claimedBy: worker.workerId, status: 'completed' });
});

it("fails the run with the handler's error, or with the refusal of its results, and goes on", async () => {
  const [thrown, bad, plain] = [await enqueue('high'), await enqueue('normal'), await enqueue('low')];
  const huge = await enqueue('low');
  const { worker, events } = start({
    handler: async (evaluation) => {
      if (evaluation.id === thrown.id) throw new Error('market-research agent timed out');
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a handler that throws a plain string
      if (evaluation.id === huge.id) throw `\u0000 ${'e'.repeat(20_000)}`;
      if (evaluation.id === bad.id) return { ...RESULTS, overallScore: 'high' } as unknown as EvaluationResults;
      return RESULTS;
    },
  });
  await until(() => worker.stats().claimed === 4 && worker.stats().inFlight === 0, 10_000, 'four runs');
  // A thrown non-Error, with a NUL and far too long: stored as valid text, cut to 10,000 characters.
  const cut = (await row(huge.id)).errorMessage!;
  expect([...cut]).toHaveLength(10_000 - 10 + ' [cut]'.length);
  expect(cut).toMatch(/^e+ \[cut\]$/);
  // A worker's failure is retried with a backoff (the run's budget is not used up): pending again, later.
  const retried = await row(thrown.id);
  expect(retried).toMatchObject({ status: 'pending', failures: 1, errorMessage: 'market-research agent timed out' });
  expect(retried.runAfter.getTime()).toBeGreaterThan(Date.now());
  expect((await row(bad.id)).errorMessage).toMatch(/^the handler's results were refused: .*overallScore/);
  expect(await row(plain.id)).toMatchObject({ status: 'completed' });
  expect(worker.stats()).toMatchObject({ completed: 1, failed: 3, errors: 0 });
  expect(events.filter((e) => e.type === 'failed').map((e) => (e as { evaluationId: string }).evaluationId)).toEqual([
    thrown.id,
    bad.id,
    huge.id,
  ]);
});

it('stop() lets a handler finish within the grace period, then aborts the rest and releases their runs', async () => {
  const [quick, slow] = [await enqueue('high'), await enqueue('normal')];
  let slowSignal: AbortSignal | undefined;
  let slowReturned = false;
  const { worker, events } = start({
    concurrency: 2,
    handler: async (evaluation, { signal }) => {
      if (evaluation.id === quick.id) {
        await sleep(300);
        return RESULTS;
      }
      slowSignal = signal;
      // Ignores its signal for a while (a handler that cannot be cancelled), then returns.
      await sleep(1_500);
      slowReturned = true;
      return RESULTS;
    },
  });
  await until(() => worker.stats().inFlight === 2, 5_000, 'two runs in flight');
  const stopping = performance.now();
  await worker.stop({ graceMs: 600 });
  const tookMs = performance.now() - stopping;
  expect(tookMs).toBeLessThan(1_400);
  expect(await row(quick.id)).toMatchObject({ status: 'completed' });
  expect(await row(slow.id)).toMatchObject({ status: 'pending', claimedBy: null, leaseExpiresAt: null, startedAt: null });
  expect(slowSignal?.aborted).toBe(true);
  expect(slowSignal?.reason).toBeInstanceOf(WorkerStoppedError);
  expect(events.map((e) => e.type)).toContain('released');
  expect(events.at(-1)?.type).toBe('stopped');
  // What the aborted handler returns later is not written.
  await until(() => slowReturned, 3_000, 'the slow handler');
  await sleep(100);
  expect(await row(slow.id)).toMatchObject({ status: 'pending', results: null });
  expect(worker.stats()).toMatchObject({ completed: 1, released: 1 });
  // Stopped: it claims nothing more.
  await enqueue();
  await sleep(300);
  expect(worker.stats().claimed).toBe(2);
});

it('a lost lease aborts the handler, writes nothing for it, and the worker goes on', async () => {
  const taken = await enqueue();
  let lostSignal: AbortSignal | undefined;
  const { worker, events } = start({
    leaseSeconds: 1,
    handler: async (evaluation, { signal }) => {
      if (evaluation.id !== taken.id) return RESULTS;
      lostSignal = signal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      return RESULTS;
    },
  });
  await until(() => lostSignal !== undefined, 5_000, 'the claim');
  // Another worker took the run over (as after an expiry): the next renewal is refused.
  await sql`update evaluations set claimed_by = 'rival' where id = ${taken.id}`.execute(t.db);
  await until(() => lostSignal!.aborted, 3_000, 'the abort');
  expect(lostSignal!.reason).toBeInstanceOf(InvalidTransitionError);
  expect(events.find((e) => e.type === 'leaseLost')).toMatchObject({ evaluationId: taken.id });
  await sleep(200);
  expect(await row(taken.id)).toMatchObject({ status: 'analyzing', claimedBy: 'rival', results: null });
  const next = await enqueue();
  await until(async () => (await row(next.id)).status === 'completed', 5_000, 'the next run');
  expect(worker.stats()).toMatchObject({ leaseLost: 1, completed: 1 });
});

it("takes over a dead worker's run when its lease ends, without waiting for a poll", async () => {
  const orphan = await enqueue();
  const claimed = await claimNext(t.db, 'dead-worker', { leaseSeconds: 1 });
  expect(claimed?.id).toBe(orphan.id);
  const claimedAt = performance.now();
  let takenAt: number | undefined;
  start({
    handler: async () => {
      takenAt = performance.now();
      return RESULTS;
    },
  });
  await until(() => takenAt !== undefined, 5_000, 'the take-over');
  const afterMs = takenAt! - claimedAt;
  console.info(`[worker] a dead worker's 1 s lease was taken over ${afterMs.toFixed(0)} ms after its claim`);
  expect(afterMs).toBeGreaterThan(900);
  expect(afterMs).toBeLessThan(1_600);
  await until(async () => (await row(orphan.id)).status === 'completed', 5_000, 'the completion');
});

it('when its listening connection is killed, it polls, claims, and listens again', async () => {
  // The listener connects as a role of its own, so its reconnection can be refused for a while.
  const name = `dl_listener_${randomBytes(5).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await adminQuery(adminConnection(), `CREATE ROLE ${quoteIdent(name)} LOGIN PASSWORD '${password}'`);
  try {
    const { host, port, database } = t.testDatabase.connection;
    const claimedAt = new Map<string, number>();
    const { worker, events } = start({
      fallbackPollIntervalMs: 200,
      listen: { connectionString: toConnectionUrl({ host, port, database, user: name, password }) },
      handler: async (evaluation) => {
        claimedAt.set(evaluation.id, performance.now());
        return RESULTS;
      },
    });
    await worker.ready;
    const first = events.find((e) => e.type === 'listening') as { pid: number } | undefined;
    expect(first?.pid).toBeGreaterThan(0);

    await adminQuery(adminConnection(), `ALTER ROLE ${quoteIdent(name)} NOLOGIN`);
    await adminQuery(adminConnection(), 'SELECT pg_terminate_backend($1)', [first!.pid]);
    // Lost, and a reconnection refused (retried with backoff).
    await until(() => events.filter((e) => e.type === 'listenerLost').length >= 2, 5_000, 'the loss and a refused reconnection');
    expect(worker.stats().listening).toBe(false);

    // Down: the poll finds new work.
    const whileDown = await enqueue();
    const queuedAt = performance.now();
    await until(() => claimedAt.has(whileDown.id), 5_000, 'a claim while the listener is down');
    expect(claimedAt.get(whileDown.id)! - queuedAt).toBeLessThan(1_000);
    expect(worker.stats().listening).toBe(false);

    await adminQuery(adminConnection(), `ALTER ROLE ${quoteIdent(name)} LOGIN`);
    await until(() => events.filter((e) => e.type === 'listening').length === 2, 15_000, 'listening again');
    const again = events.filter((e) => e.type === 'listening')[1] as { pid: number };
    expect(again.pid).not.toBe(first!.pid);

    // Listening again: a wake-up within milliseconds, although the fallback poll stopped.
    await sleep(300);
    const afterwards = await enqueue();
    const before = performance.now();
    await until(() => claimedAt.has(afterwards.id), 5_000, 'a claim after re-listening');
    expect(claimedAt.get(afterwards.id)! - before).toBeLessThan(150);
    await worker.stop();
  } finally {
    await adminQuery(adminConnection(), `DROP ROLE IF EXISTS ${quoteIdent(name)}`);
  }
});

it('works through the worker role, where a run that ended elsewhere is out of sight and its attempt over', async () => {
  const database = await connectAs('ai_validation_worker', 3, 'worker');
  let heldSignal: AbortSignal | undefined;
  const held = await enqueue();
  const worker = createWorker({
    database,
    pollIntervalMs: NEVER,
    leaseSeconds: 1,
    handler: async (evaluation, { signal }) => {
      if (evaluation.id !== held.id) return RESULTS;
      heldSignal = signal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      throw signal.reason;
    },
  });
  workers.push(worker);
  await until(() => heldSignal !== undefined, 5_000, 'the claim');
  // An operator fails the run meanwhile: through the worker role it is now invisible, and the
  // renewal is refused as a stale attempt (the queue state is read past row-level security).
  await sql`update evaluations set status = 'failed', error_message = 'cancelled by an operator', completed_at = now(), lease_expires_at = null where id = ${held.id}`.execute(
    t.db,
  );
  await until(() => heldSignal!.aborted, 3_000, 'the abort');
  expect(heldSignal!.reason).toBeInstanceOf(StaleAttemptError);
  expect(await row(held.id)).toMatchObject({ status: 'failed', errorMessage: 'cancelled by an operator' });
  const next = await enqueue('high');
  await until(async () => (await row(next.id)).status === 'completed', 5_000, 'a claim through the worker role');
  expect(worker.stats()).toMatchObject({ completed: 1, leaseLost: 1, listening: true });
});

it('refuses bad options, naming each field, before touching the database', () => {
  const handler = async () => RESULTS;
  const issues = (options: Record<string, unknown>) => {
    try {
      createWorker({ database: t.database, handler, ...options });
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).issues.map((issue) => issue.path);
    }
    throw new Error('accepted');
  };
  expect(issues({ concurrency: 0, leaseSeconds: 0.5, pollIntervalMs: 10 })).toEqual(['concurrency', 'leaseSeconds', 'pollIntervalMs']);
  expect(issues({ handler: 'run', workerId: ' ', listen: 'yes' })).toEqual(['workerId', 'handler', 'listen']);
  expect(() => createWorker({ database: {} as never, handler })).toThrow(ConfigError);
  const app = createDatabase({ role: 'app', connectionString: t.testDatabase.url, env: {} });
  expect(() => createWorker({ database: app as never, handler })).toThrow(/has no worker path/);
  void app.close();
  expect(workers).toHaveLength(0);
});
