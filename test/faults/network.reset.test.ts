/**
 * Fault: TCP resets while calls wait (issue 9, item 6f). A loopback TCP proxy between the pool
 * and the private cluster destroys every open connection, the client side with an RST, every
 * 250 ms, while 16 writers write (their bundles wait 100 ms on the server first, so resets catch
 * calls waiting for answers). Proves:
 *
 * - every error is typed: a ConnectionError, never a raw `Error: read ECONNRESET` (or EPIPE) from
 *   pg or the socket; and the resets did reach calls as socket resets (ECONNRESET causes seen);
 * - every acknowledged write is present, nothing is half-applied;
 * - no call past its bound; within 3 s of the last reset every writer succeeds again, and no call
 *   started later fails.
 *
 * FAULTS_LONG=1: 60 s of resets instead of 5 s.
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
} from '../support/fault-load.js';
import { proxiedUrl, startTcpProxy } from '../support/tcp-proxy.js';

const unavailable = clusterUnavailable();
if (unavailable) console.log(`[faults] TCP reset: skipped: ${unavailable}`);

const RESET_MS = LONG ? 60_000 : 5_000;
// Every reset makes the whole pool log in again (SCRAM): generous, as the machine is shared.
const RECOVERY_BOUND_MS = 3_000;

/** The `code`s (or syscalls) along an error's cause chain. */
function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}

describe.skipIf(unavailable !== undefined)('fault: TCP resets while calls wait', () => {
  let cluster: Cluster;
  let target: ClusterDatabase;

  beforeAll(async () => {
    cluster = await startCluster({ name: 'reset' });
    target = await cluster.migratedDatabase();
  }, 120_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it(
    'types every error as a ConnectionError (no raw ECONNRESET), keeps every acknowledged write and recovers at once',
    async () => {
      const tag = `reset-${uniqueSuffix()}`;
      const pool: FaultPoolSettings = {
        max: 20,
        connectionTimeoutMs: 1_000,
        statementTimeoutMs: 2_000,
        queryTimeoutMs: 3_000,
        applicationName: `dl-fault-${tag}`,
      };
      const bounds = boundsFor(pool);
      const proxy = await startTcpProxy({ port: cluster.port });
      const logger = recordingLogger();
      const database = openFaultDatabase(proxiedUrl(target.connection, proxy), pool, logger);
      try {
        const users = await createUsers(cluster, target.name, tag, 16);
        const load = startLoad({ database, users, writers: 16, tag, bundleSleepMs: 100 });
        await sleep(1_500);
        let resets = 0;
        let rounds = 0;
        const until = performance.now() + RESET_MS;
        while (performance.now() < until) {
          rounds++;
          resets += proxy.reset();
          await sleep(250);
        }
        const faultEnd = performance.now();
        await sleep(2_500);

        const { pending } = await load.stop({ drainMs: bounds.readMs + bounds.slackMs });
        const late = pastBound(load.records, bounds);
        await proxy.close();
        await database.close({ timeoutMs: 5_000 }).catch(() => undefined);
        const left = await waitForBackendsGone(cluster, pool.applicationName);
        const verification = await verifyLoad(cluster, target.name, load.records, tag);
        const recovery = recoveryAfter(load.records, faultEnd, RECOVERY_BOUND_MS);
        const failed = load.records.filter((r) => r.ok === false);
        const resetCauses = failed.filter((r) => causeCodes(r.error).includes('ECONNRESET')).length;
        console.log(
          summaryLine('TCP reset', {
            verification,
            records: load.records,
            recovery,
            extra: {
              'connections reset': resets,
              'reset rounds': rounds,
              'errors caused by ECONNRESET': resetCauses,
              'reset phase': `${RESET_MS} ms`,
            },
          }),
        );

        expect(pending.length, 'calls still unsettled when the load stopped').toBe(0);
        expect(rawErrorSamples(load.records), 'untyped errors').toEqual([]);
        expect(unexpectedErrors(load.records, ['ConnectionError'])).toEqual([]);
        expect(verification.violations).toEqual([]);
        expect(late, 'calls past their bound').toEqual([]);
        // The resets happened and reached calls as socket resets: otherwise nothing was proven.
        expect(resets).toBeGreaterThan(rounds);
        expect(resetCauses, 'errors whose cause is a socket ECONNRESET').toBeGreaterThan(0);
        expect(verification.acknowledged).toBeGreaterThan(100);
        expect(recovery.allWritersMs, 'every writer succeeded again after the last reset').toBeLessThanOrEqual(RECOVERY_BOUND_MS);
        expect(describeLate(recovery.lateFailures, faultEnd), 'calls failing well after the fault ended').toEqual([]);
        expect(left).toBe(0);
      } finally {
        await proxy.close();
        await database.close({ timeoutMs: 1_000 }).catch(() => undefined);
      }
    },
    LONG ? 180_000 : 60_000,
  );
});
