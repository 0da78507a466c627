/**
 * A worker process for the crash-recovery test (test/integration/queue.crash-recovery.test.ts):
 * runs `createWorker` on DATABASE_URL (WORKER_ID, CONCURRENCY, LEASE_SECONDS), prints one JSON line
 * per event that matters (listening, claimed, renewed), and never finishes a run: its handlers hold
 * their runs, renewing their leases, until the process is killed.
 */
import { createDatabase } from '../../src/db/database.js';
import { createWorker } from '../../src/queue/worker.js';

const database = createDatabase({ connectionString: process.env.DATABASE_URL, env: {}, pool: { max: 3 } });
createWorker({
  database,
  workerId: process.env.WORKER_ID,
  concurrency: Number(process.env.CONCURRENCY ?? 1),
  leaseSeconds: Number(process.env.LEASE_SECONDS ?? 60),
  pollIntervalMs: 3_600_000,
  handler: () => new Promise(() => undefined),
  onEvent: (event) => {
    if (event.type === 'listening') console.log(JSON.stringify({ event: 'listening' }));
    if (event.type === 'claimed') console.log(JSON.stringify({ event: 'claimed', id: event.evaluation.id }));
    if (event.type === 'renewed') console.log(JSON.stringify({ event: 'renewed', id: event.evaluationId }));
  },
});
