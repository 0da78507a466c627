/**
 * Fault: backends killed during a write load (issue 9, item 6a).
 *
 * 16 writers on a 20-connection pool write through the repositories (ideas, whole bundles in one
 * transaction, multi-row agent runs, claims and completions that move an evaluation and its idea
 * together, reads) while `pg_terminate_backend` ends one of the pool's backends (found by
 * application_name) every 20-60 ms, and all of them every tenth time. Proves:
 *
 * - every acknowledged write is in the database afterwards (read back as the owner, directly);
 * - nothing is half-applied: every bundle whole or absent, agent runs all or none, every
 *   evaluation in step with its idea, every idea with its audit row, no write applied twice;
 * - every error is typed (a DataLayerError, and only ConnectionError or TimeoutError: no raw pg or
 *   socket error), and the kills did cause errors (the test is not vacuous);
 * - no call takes longer than connectionTimeoutMs + queryTimeoutMs (+ 2 s slack; twice that for reads);
 * - recovery: within 2 s of the last kill every writer has succeeded again, and no call started
 *   more than 2 s after it fails (observed: a few hundred ms).
 *
 * Runs on a private PostgreSQL 15 cluster (test/support/cluster.ts); skipped, with the reason, when
 * the PostgreSQL 15 server tools are not installed. FAULTS_LONG=1 kills for 120 s instead of 15 s.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgConfig } from '../../scripts/lib/server.js';
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

const unavailable = clusterUnavailable();
if (unavailable) console.log(`[faults] backend kills: skipped: ${unavailable}`);

const KILL_MS = LONG ? 120_000 : 15_000;
const RECOVERY_BOUND_MS = 2_000;

describe.skipIf(unavailable !== undefined)('fault: backend kills during a write load', () => {
  let cluster: Cluster;
  let target: ClusterDatabase;

  beforeAll(async () => {
    cluster = await startCluster({ name: 'kills' });
    target = await cluster.migratedDatabase();
  }, 120_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it(
    'keeps every acknowledged write, applies nothing by halves, types every error and recovers at once',
    async () => {
      const tag = `kills-${uniqueSuffix()}`;
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
      const killer = new pg.Client({ ...pgConfig(target.connection), application_name: 'dl-fault-killer' });
      await killer.connect();
      let kills = 0;
      let rounds = 0;
      try {
        const users = await createUsers(cluster, target.name, tag, 16);
        const load = startLoad({ database, users, writers: 16, tag });
        await sleep(500);

        const killUntil = performance.now() + KILL_MS;
        while (performance.now() < killUntil) {
          rounds++;
          const { rowCount } = await killer.query(
            rounds % 10 === 0
              ? 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1'
              : 'SELECT pg_terminate_backend(pid) FROM (SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY random() LIMIT 1) s',
            [pool.applicationName],
          );
          kills += rowCount ?? 0;
          await sleep(20 + Math.random() * 40);
        }
        const faultEnd = performance.now();
        await sleep(2_000);

        const { pending } = await load.stop({ drainMs: bounds.readMs + bounds.slackMs });
        const now = performance.now();
        const late = pastBound(load.records, bounds, now);
        await database.close({ timeoutMs: 5_000 }).catch(() => undefined);
        const left = await waitForBackendsGone(cluster, pool.applicationName);
        const verification = await verifyLoad(cluster, target.name, load.records, tag);
        const recovery = recoveryAfter(load.records, faultEnd, RECOVERY_BOUND_MS);
        console.log(
          summaryLine('backend kills', {
            verification,
            records: load.records,
            recovery,
            extra: { terminations: kills, 'kill rounds': rounds, 'kill phase': `${KILL_MS} ms`, 'library warnings': logger.entries.length },
          }),
        );

        expect(left, 'backends of the pool still open after close()').toBe(0);
        expect(pending.length, 'calls still unsettled when the load stopped').toBe(0);
        expect(verification.violations).toEqual([]);
        expect(rawErrorSamples(load.records), 'untyped errors').toEqual([]);
        expect(unexpectedErrors(load.records, ['ConnectionError', 'TimeoutError'])).toEqual([]);
        expect(late, 'calls past their bound').toEqual([]);
        // The fault happened and hit calls: otherwise the checks above would prove nothing.
        expect(kills).toBeGreaterThan(KILL_MS / 100);
        expect(load.records.filter((r) => r.ok === false).length).toBeGreaterThan(0);
        expect(verification.acknowledged).toBeGreaterThan(500);
        expect(recovery.allWritersMs, 'every writer succeeded again within the bound after the last kill').toBeLessThanOrEqual(
          RECOVERY_BOUND_MS,
        );
        expect(describeLate(recovery.lateFailures, faultEnd), 'calls failing well after the fault ended').toEqual([]);
      } finally {
        await killer.end().catch(() => undefined);
        await database.close({ timeoutMs: 1_000 }).catch(() => undefined);
      }
    },
    LONG ? 300_000 : 90_000,
  );
});
