/**
 * Fault: the server restarted mid-load, `pg_ctl restart -m fast` and `-m immediate` (issue 9,
 * item 6b).
 *
 * 16 writers on a 20-connection pool write through the repositories while the private cluster is
 * restarted: a fast restart (backends told to end, clean shutdown), then an immediate one
 * (backends killed, crash recovery on start). Proves, over both restarts:
 *
 * - every acknowledged write is present afterwards and nothing is half-applied (bundles whole,
 *   agent runs all or none, evaluations in step with their ideas, audit rows, nothing twice);
 * - every error is typed: only ConnectionError or TimeoutError, never a raw pg or socket error;
 * - no call takes longer than connectionTimeoutMs + queryTimeoutMs (+ 2 s slack; twice for reads),
 *   even while the server is down (connects are refused then, or told it is starting up);
 * - recovery: within 3 s of `pg_ctl` reporting the server back, every writer has succeeded
 *   again, and no call started more than 3 s after that fails.
 *
 * Two rounds of both restarts, 4 s apart, by default; FAULTS_LONG=1 runs 6 rounds, 5 s apart.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterUnavailable, startCluster, type Cluster, type ClusterDatabase } from '../support/cluster.js';
import {
  boundsFor,
  createUsers,
  describeLate,
  LONG,
  openFaultDatabase,
  pastBound,
  rawErrorSamples,
  recordingLogger,
  recoveryAfter,
  startLoad,
  summaryLine,
  uniqueSuffix,
  unexpectedErrors,
  verifyLoad,
  waitForBackendsGone,
  type FaultPoolSettings,
  type Recovery,
} from '../support/fault-load.js';

const unavailable = clusterUnavailable();
if (unavailable) console.log(`[faults] server restart: skipped: ${unavailable}`);

const ROUNDS = LONG ? 6 : 2;
const RECOVERY_BOUND_MS = 3_000;
const LOAD_BETWEEN_MS = LONG ? 5_000 : 4_000;

describe.skipIf(unavailable !== undefined)('fault: server restart during a write load', () => {
  let cluster: Cluster;
  let target: ClusterDatabase;

  beforeAll(async () => {
    cluster = await startCluster({ name: 'restart' });
    target = await cluster.migratedDatabase();
  }, 120_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it(
    'keeps every acknowledged write through pg_ctl restart -m fast and -m immediate, and writes again at once',
    async () => {
      const tag = `restart-${uniqueSuffix()}`;
      const pool: FaultPoolSettings = {
        max: 20,
        connectionTimeoutMs: 2_000,
        statementTimeoutMs: 2_000,
        queryTimeoutMs: 3_000,
        applicationName: `dl-fault-${tag}`,
      };
      const bounds = boundsFor(pool);
      const logger = recordingLogger();
      const database = openFaultDatabase(target.url, pool, logger);
      try {
        const users = await createUsers(cluster, target.name, tag, 16);
        const load = startLoad({ database, users, writers: 16, tag });
        const restarts: { mode: 'fast' | 'immediate'; began: number; back: number; recovery?: Recovery }[] = [];
        await sleep(LOAD_BETWEEN_MS);
        for (let round = 0; round < ROUNDS; round++) {
          for (const mode of ['fast', 'immediate'] as const) {
            const began = performance.now();
            await cluster.restart(mode);
            restarts.push({ mode, began, back: performance.now() });
            await sleep(LOAD_BETWEEN_MS);
          }
        }
        const { pending } = await load.stop({ drainMs: bounds.readMs + bounds.slackMs });
        const late = pastBound(load.records, bounds);
        await database.close({ timeoutMs: 5_000 }).catch(() => undefined);
        const left = await waitForBackendsGone(cluster, pool.applicationName);
        const verification = await verifyLoad(cluster, target.name, load.records, tag);
        // Each restart's recovery is judged up to the next restart's start.
        restarts.forEach((restart, i) => {
          restart.recovery = recoveryAfter(load.records, restart.back, RECOVERY_BOUND_MS, restarts[i + 1]?.began);
        });
        const during = load.records.filter((r) => restarts.some((x) => r.startedAt < x.back && (r.endedAt ?? Infinity) > x.began));
        console.log(
          summaryLine('server restart', {
            verification,
            records: load.records,
            extra: {
              restarts: restarts
                .map(
                  (x) =>
                    `${x.mode} (down ${Math.round(x.back - x.began)} ms, writes again ${fmt(x.recovery?.firstMs)} ms after, all writers ${fmt(x.recovery?.allWritersMs)} ms)`,
                )
                .join(', '),
              'calls overlapping a restart': during.length,
              'library warnings': logger.entries.length,
            },
          }),
        );

        expect(left, 'backends of the pool still open after close()').toBe(0);
        expect(pending.length, 'calls still unsettled when the load stopped').toBe(0);
        expect(verification.violations).toEqual([]);
        expect(rawErrorSamples(load.records), 'untyped errors').toEqual([]);
        expect(unexpectedErrors(load.records, ['ConnectionError', 'TimeoutError'])).toEqual([]);
        expect(late, 'calls past their bound').toEqual([]);
        expect(load.records.filter((r) => r.ok === false).length, 'the restarts hit calls').toBeGreaterThan(0);
        expect(verification.acknowledged).toBeGreaterThan(500);
        for (const restart of restarts) {
          expect(restart.recovery!.allWritersMs, `every writer succeeded again after the ${restart.mode} restart`).toBeLessThanOrEqual(
            RECOVERY_BOUND_MS,
          );
          expect(
            describeLate(restart.recovery!.lateFailures, restart.back),
            `calls failing well after the ${restart.mode} restart`,
          ).toEqual([]);
        }
      } finally {
        await database.close({ timeoutMs: 1_000 }).catch(() => undefined);
      }
    },
    LONG ? 300_000 : 90_000,
  );
});

function fmt(ms: number | undefined): string {
  return ms === undefined ? 'never' : String(Math.round(ms));
}
