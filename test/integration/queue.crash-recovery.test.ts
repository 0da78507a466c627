/**
 * Crash recovery in numbers (issue 12, item 7), with 2 s leases. Twelve evaluations; workers die
 * in the middle of their runs:
 *
 * - a child process running a worker (test/support/queue-worker-child.ts) holds three runs,
 *   renewing their leases, and is SIGKILLed: nothing releases them;
 * - an in-process worker (concurrency 3) takes four more: one handler crashes (throws), its slot
 *   takes the fourth, and the worker is then stopped with no grace, so the three handlers left are
 *   aborted and their runs released;
 * - a surviving worker (concurrency 4) works through everything else.
 *
 * Every evaluation ends completed or dead-lettered (the crashed handler's run, whose budget is one
 * attempt: a retry with backoff would outlast the test), none is completed twice
 * (counted in the audit log, which records every change), and the killed worker's runs are taken
 * over within one lease length of the kill.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { createEvaluation, type Evaluation } from '../../src/repositories/evaluations.js';
import { createWorker, type Worker } from '../../src/queue/worker.js';
import type { EvaluationResults } from '../../src/schema/json.js';
import { cleanEnv, repoRoot, tsxLoader } from '../support/cli.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea } from '../support/factories.js';

const t = useTestDatabase({ pool: { max: 8 } });
const LEASE_SECONDS = 2;
const RESULTS: EvaluationResults = {
  version: 1,
  overallScore: 64,
  recommendation: 'pivot',
  confidence: 0.6,
  summary: 'Worth a second look',
  agentScores: [],
  strengths: [],
  risks: [],
  nextSteps: [],
  generatedAt: '2026-12-01T09:00:00.000Z',
};

const workers: Worker[] = [];
let child: ChildProcess | undefined;
afterAll(async () => {
  if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.stop({ graceMs: 0 })));
});

async function enqueue(n: number, maxAttempts?: number): Promise<Evaluation[]> {
  const queued: Evaluation[] = [];
  for (let i = 0; i < n; i++) queued.push(await createEvaluation(t.db, (await createSubmittedIdea(t.db)).id, { maxAttempts }));
  return queued;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

it('ends every evaluation once, and takes a killed worker’s runs over within one lease', async () => {
  // 1. The child worker claims three runs and renews them.
  const childRuns = await enqueue(3);
  const lines: { event: string; id?: string }[] = [];
  child = spawn(process.execPath, ['--import', tsxLoader, resolve(repoRoot, 'test/support/queue-worker-child.ts')], {
    env: cleanEnv({ DATABASE_URL: t.testDatabase.url, WORKER_ID: 'child-worker', CONCURRENCY: '3', LEASE_SECONDS: String(LEASE_SECONDS) }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line));
  });
  await until(() => lines.filter((l) => l.event === 'claimed').length === 3, 20_000, 'the child’s three claims');
  await until(() => lines.some((l) => l.event === 'renewed'), 5_000, 'a renewal by the child');
  expect(new Set(lines.filter((l) => l.event === 'claimed').map((l) => l.id))).toEqual(new Set(childRuns.map((e) => e.id)));

  // 2. An in-process worker takes three more: one handler crashes, two hang until aborted.
  const victimRuns = await enqueue(4, 1);
  const aborted: string[] = [];
  const claimedByVictim: string[] = [];
  let crashed: string | undefined;
  const victim = createWorker({
    database: t.database,
    workerId: 'victim-worker',
    concurrency: 3,
    leaseSeconds: LEASE_SECONDS,
    pollIntervalMs: 3_600_000,
    onEvent: (event) => void (event.type === 'claimed' && claimedByVictim.push(event.evaluation.id)),
    handler: async (evaluation, { signal }) => {
      if (crashed === undefined) {
        crashed = evaluation.id;
        await sleep(50);
        throw new Error('the market-research agent crashed mid-run');
      }
      await new Promise((resolveAbort) => signal.addEventListener('abort', resolveAbort));
      aborted.push(evaluation.id);
      throw signal.reason;
    },
  });
  workers.push(victim);
  // The crash frees a slot, which takes the fourth run: three hang.
  await until(() => victim.stats().failed === 1 && victim.stats().inFlight === 3, 5_000, 'the victim’s claims and its crash');

  // 3. The survivor, and more work for it.
  const claimsBySurvivor = new Map<string, number>();
  const survivor = createWorker({
    database: t.database,
    workerId: 'survivor',
    concurrency: 4,
    leaseSeconds: LEASE_SECONDS,
    pollIntervalMs: 3_600_000,
    handler: async (evaluation) => {
      claimsBySurvivor.set(evaluation.id, performance.now());
      await sleep(100);
      return RESULTS;
    },
  });
  workers.push(survivor);
  await survivor.ready;
  const plainRuns = await enqueue(5);

  // 4. The kills, in the middle of the runs.
  const killedAt = performance.now();
  child.kill('SIGKILL');
  await victim.stop({ graceMs: 0 });
  expect(claimedByVictim.sort()).toEqual(victimRuns.map((e) => e.id).sort());
  const hung = victimRuns.map((e) => e.id).filter((id) => id !== crashed);
  expect(aborted.sort()).toEqual([...hung].sort());

  const all = [...childRuns, ...victimRuns, ...plainRuns];
  await until(
    async () => {
      const rows = await t.db.selectFrom('evaluations').select('status').where('status', 'in', ['completed', 'dead']).execute();
      return rows.length === all.length;
    },
    LEASE_SECONDS * 1000 + 8_000,
    'every evaluation to end',
  );

  const rows = await t.db.selectFrom('evaluations').select(['id', 'status', 'claimedBy', 'errorMessage']).execute();
  expect(rows.filter((r) => r.status !== 'completed')).toEqual([
    { id: crashed, status: 'dead', claimedBy: 'victim-worker', errorMessage: 'the market-research agent crashed mid-run' },
  ]);
  expect(rows.filter((r) => r.status === 'completed').map((r) => r.claimedBy)).toEqual(new Array(all.length - 1).fill('survivor'));

  // None completed twice: the audit log has every status change.
  const { rows: completions } = await sql<{ rowId: string; n: number }>`
      select row_id, count(*)::int as n from audit_log
       where table_name = 'evaluations' and operation = 'update' and new_row ->> 'status' = 'completed'
       group by row_id`.execute(t.db);
  expect(completions).toHaveLength(all.length - 1);
  expect(completions.filter((c) => c.n !== 1)).toEqual([]);

  // The killed worker's runs: taken over after their lease ran out, and within one lease of the kill.
  const takeovers = childRuns.map((e) => claimsBySurvivor.get(e.id)! - killedAt);
  const released = hung.map((id) => claimsBySurvivor.get(id)! - killedAt);
  console.info(
    `[crash recovery] lease ${LEASE_SECONDS} s: SIGKILLed worker's runs taken over ${takeovers.map((ms) => ms.toFixed(0)).join(', ')} ms after the kill; ` +
      `released runs ${released.map((ms) => ms.toFixed(0)).join(', ')} ms after the stop began`,
  );
  for (const ms of takeovers) expect(ms).toBeLessThanOrEqual(LEASE_SECONDS * 1000 + 250);
  // Nothing released them: they waited for their lease (renewed every third of it until the kill).
  for (const ms of takeovers) expect(ms).toBeGreaterThan(300);
  // Released runs need no expiry: the release notifies the survivor.
  for (const ms of released) expect(ms).toBeLessThan(1_000);
  expect(survivor.stats()).toMatchObject({ completed: all.length - 1, errors: 0, leaseLost: 0 });
}, 30_000);
