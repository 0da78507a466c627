/**
 * Fault: a silent network (issue 9, item 6c and 6d). A loopback TCP proxy (test/support/tcp-proxy.ts)
 * between the pool and the private cluster stops forwarding without closing anything: no FIN, no
 * RST, writes still accepted by the kernel, answers never arriving. Nothing but the library's own
 * timers can end such a call.
 *
 * The documented bound: a checkout waits at most connectionTimeoutMs; a query at most
 * queryTimeoutMs (DATABASE_QUERY_TIMEOUT_MS, a client-side backstop after which the connection is
 * destroyed); an idempotent read outside a transaction is retried once on a new connection after
 * a connection loss. So a write settles within connectionTimeoutMs + queryTimeoutMs and a read
 * within twice that. Here: 1000 + 1500 ms, asserted with 2 s of slack.
 *
 * - mid-load: 16 writers; the proxy goes silent for new connections too, then "fails over" (the
 *   old connections stay silent for good, new ones forward). Proves: every call in flight or made
 *   while silent settles within its bound with a TimeoutError or ConnectionError (none hangs);
 *   every acknowledged write is present and nothing is half-applied; after the failover every
 *   writer succeeds again within a write's bound and nothing started later fails.
 * - failover with idle connections in the pool: reads succeed at once (the retry takes a new
 *   connection); writes fail at most once per stranded connection, each within its bound, and
 *   then succeed.
 * - silent at start: the proxy accepts and never forwards. Proves: the first calls fail within
 *   connectionTimeoutMs (+ slack) with a TimeoutError naming the server, and succeed once the
 *   network is back.
 *
 * FAULTS_LONG=1: 30 s of silence mid-load instead of 6 s.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { TimeoutError } from '../../src/errors.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import { clusterUnavailable, startCluster, type Cluster, type ClusterDatabase } from '../support/cluster.js';
import {
  boundsFor,
  callOnce,
  createUsers,
  describeLate,
  durationOf,
  errorsByClass,
  LONG,
  messageOf,
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
  type CallRecord,
  type FaultPoolSettings,
} from '../support/fault-load.js';
import { proxiedUrl, startTcpProxy } from '../support/tcp-proxy.js';

const unavailable = clusterUnavailable();
if (unavailable) console.log(`[faults] silent network: skipped: ${unavailable}`);

const SILENT_MS = LONG ? 30_000 : 6_000;
const SLACK_MS = 2_000;
const DESCRIPTION = 'An idea written by the silent-network fault test, long enough for the fifty-character minimum.';

function poolSettings(tag: string, max = 20): FaultPoolSettings {
  return { max, connectionTimeoutMs: 1_000, statementTimeoutMs: 1_000, queryTimeoutMs: 1_500, applicationName: `dl-fault-${tag}` };
}

/** Opens `count` connections in the pool (concurrent short queries) and leaves them idle. */
/** Long enough past a bound to call a call hung: it is then reported, not waited for. */
function giveUp(boundMs: number): number {
  return boundMs + SLACK_MS + 3_000;
}

function durations(records: readonly CallRecord[]): string {
  return records.map((r) => (r.endedAt === undefined ? `>${Math.round(durationOf(r))} (unsettled)` : Math.round(durationOf(r)))).join(',');
}

async function warm(database: Database, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, () => sql`SELECT pg_sleep(0.2)`.execute(database.db)));
  expect(database.pool.totalCount).toBe(count);
  expect(database.pool.idleCount).toBe(count);
}

describe.skipIf(unavailable !== undefined)('fault: silent network', () => {
  let cluster: Cluster;
  let target: ClusterDatabase;
  let users: string[];

  beforeAll(async () => {
    cluster = await startCluster({ name: 'silent' });
    target = await cluster.migratedDatabase();
    users = await createUsers(cluster, target.name, 'silent', 16);
  }, 120_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it(
    'mid-load: every call settles within its bound, typed; after a failover every writer writes again',
    async () => {
      const tag = `silent-${uniqueSuffix()}`;
      const pool = poolSettings(tag);
      const bounds = boundsFor(pool, SLACK_MS);
      const proxy = await startTcpProxy({ port: cluster.port });
      const logger = recordingLogger();
      const database = openFaultDatabase(proxiedUrl(target.connection, proxy), pool, logger);
      try {
        const load = startLoad({ database, users, writers: 16, tag });
        await sleep(2_000);
        const silentAt = performance.now();
        proxy.silence({ newConnections: 'silent' });
        await sleep(SILENT_MS);
        const failoverAt = performance.now();
        proxy.failover();
        await sleep(Math.max(4_000, bounds.writeMs + bounds.slackMs + 1_000));

        const { pending } = await load.stop({ drainMs: bounds.readMs + bounds.slackMs });
        const late = pastBound(load.records, bounds);
        const duringSilence = load.records.filter((r) => (r.endedAt ?? Infinity) > silentAt && r.startedAt < failoverAt);
        const counters = proxy.counters();
        await proxy.close(); // frees calls that still hang, so the pool can close
        await database.close({ timeoutMs: 5_000 }).catch(() => undefined);
        const left = await waitForBackendsGone(cluster, pool.applicationName);
        const verification = await verifyLoad(cluster, target.name, load.records, tag);
        const recovery = recoveryAfter(load.records, failoverAt, bounds.writeMs + bounds.slackMs);
        console.log(
          summaryLine('silent network mid-load + failover', {
            verification,
            records: load.records,
            recovery,
            extra: {
              'silent phase': `${SILENT_MS} ms`,
              'calls in flight or made while silent': duringSilence.length,
              'their errors': JSON.stringify(errorsByClass(duringSilence)),
              'max duration while silent': `${Math.round(Math.max(0, ...duringSilence.map((r) => (r.endedAt ?? performance.now()) - r.startedAt)))} ms`,
              'unsettled at stop': pending.length,
              'write bound': `${bounds.writeMs}+${bounds.slackMs} ms`,
              proxy: JSON.stringify({ accepted: counters.accepted, acceptedSilent: counters.acceptedSilent, stranded: counters.stranded }),
            },
          }),
        );

        expect(pending.map((r) => `${r.kind} call unsettled after ${Math.round(performance.now() - r.startedAt)} ms`)).toEqual([]);
        expect(late, 'calls past their bound').toEqual([]);
        expect(rawErrorSamples(load.records), 'untyped errors').toEqual([]);
        expect(unexpectedErrors(load.records, ['TimeoutError', 'ConnectionError'])).toEqual([]);
        expect(duringSilence.filter((r) => r.ok === false).length, 'the silence hit calls').toBeGreaterThan(0);
        expect(verification.violations).toEqual([]);
        expect(left, 'backends of the pool still open after close()').toBe(0);
        expect(recovery.allWritersMs, 'every writer succeeded again after the failover').toBeLessThanOrEqual(
          bounds.writeMs + bounds.slackMs,
        );
        expect(describeLate(recovery.lateFailures, failoverAt), 'calls failing well after the fault ended').toEqual([]);
      } finally {
        await proxy.close();
        await database.close({ timeoutMs: 1_000 }).catch(() => undefined);
      }
    },
    (LONG ? 120_000 : 60_000) + SILENT_MS,
  );

  it('failover with idle connections in the pool: reads succeed on new connections, each within its bound', async () => {
    const tag = `failover-reads-${uniqueSuffix()}`;
    const pool = poolSettings(tag, 10);
    const bounds = boundsFor(pool, SLACK_MS);
    const proxy = await startTcpProxy({ port: cluster.port });
    const database = openFaultDatabase(proxiedUrl(target.connection, proxy), pool, recordingLogger());
    try {
      const idea = await businessIdeas.createIdea(database.owner, users[0]!, { title: `${tag}:idea:0:0`, description: DESCRIPTION });
      await warm(database, 6);
      proxy.failover();
      const records: CallRecord[] = [];
      for (let i = 0; i < 10; i++) {
        const record = await callOnce(
          { writer: 0, seq: i, kind: 'read', key: idea.id },
          () => businessIdeas.getIdea(database.owner, idea.id),
          giveUp(bounds.readMs),
        );
        records.push(record);
        if (record.endedAt === undefined) break; // hung: reported below, not waited for
      }
      const late = pastBound(records, bounds);
      await proxy.close();
      console.log(
        `[faults] failover, reads: ${records.filter((r) => r.ok).length}/10 succeeded / errors ${JSON.stringify(errorsByClass(records))} / ` +
          `durations ${durations(records)} ms / stranded ${proxy.counters().stranded}`,
      );
      expect(late, 'reads past their bound').toEqual([]);
      expect(records.map((r) => (r.ok ? 'ok' : `${r.errorClass}: ${messageOf(r.error)}`))).toEqual(Array(10).fill('ok'));
    } finally {
      await proxy.close();
      await database.close({ timeoutMs: 1_000 }).catch(() => undefined);
    }
  }, 60_000);

  it('failover with idle connections in the pool: writes fail at most once per stranded connection, within their bound, then succeed', async () => {
    const tag = `failover-writes-${uniqueSuffix()}`;
    const pool = poolSettings(tag, 10);
    const bounds = boundsFor(pool, SLACK_MS);
    const proxy = await startTcpProxy({ port: cluster.port });
    const database = openFaultDatabase(proxiedUrl(target.connection, proxy), pool, recordingLogger());
    const stranded = 4;
    try {
      await businessIdeas.getIdea(database.owner, '00000000-0000-4000-8000-000000000000').catch(() => undefined);
      await warm(database, stranded);
      proxy.failover();
      const records: CallRecord[] = [];
      for (let i = 0; i < 10; i++) {
        const title = `${tag}:idea:0:${i}`;
        const record = await callOnce(
          { writer: 0, seq: i, kind: 'idea', key: title },
          () => businessIdeas.createIdea(database.owner, users[0]!, { title, description: DESCRIPTION }),
          giveUp(bounds.writeMs),
        );
        records.push(record);
        if (record.endedAt === undefined) break; // hung: reported below, not waited for
      }
      const late = pastBound(records, bounds);
      await proxy.close();
      await database.close({ timeoutMs: 5_000 }).catch(() => undefined);
      const verification = await verifyLoad(cluster, target.name, records, tag);
      const failures = records.filter((r) => !r.ok);
      const firstOk = records.findIndex((r) => r.ok);
      console.log(
        `[faults] failover, writes: ${records.length - failures.length}/10 succeeded / errors ${JSON.stringify(errorsByClass(records))} / ` +
          `durations ${durations(records)} ms / stranded ${stranded} / ` +
          `found ${verification.found} of ${verification.acknowledged} acknowledged`,
      );
      expect(late, 'writes past their bound').toEqual([]);
      expect(unexpectedErrors(records, ['TimeoutError', 'ConnectionError'])).toEqual([]);
      expect(records, 'ten writes made (none hung)').toHaveLength(10);
      expect(failures.length, 'failed writes (at most one per stranded connection)').toBeLessThanOrEqual(stranded);
      expect(firstOk, 'some write succeeded').toBeGreaterThanOrEqual(0);
      expect(records.slice(firstOk).filter((r) => !r.ok).length, 'writes failing after one succeeded on a new connection').toBe(0);
      expect(verification.violations).toEqual([]);
    } finally {
      await proxy.close();
      await database.close({ timeoutMs: 1_000 }).catch(() => undefined);
    }
  }, 60_000);

  it('silent at start: the first calls fail within connectionTimeoutMs with a TimeoutError naming the server, then succeed', async () => {
    const tag = `silent-start-${uniqueSuffix()}`;
    const pool = poolSettings(tag, 5);
    const proxy = await startTcpProxy({ port: cluster.port });
    proxy.silence({ newConnections: 'silent' });
    const database = openFaultDatabase(proxiedUrl(target.connection, proxy), pool, recordingLogger());
    try {
      const records = await Promise.all(
        Array.from({ length: 5 }, (_, i) => {
          const title = `${tag}:idea:${i}:0`;
          return callOnce(
            { writer: i, seq: 0, kind: 'idea', key: title },
            () => businessIdeas.createIdea(database.owner, users[i]!, { title, description: DESCRIPTION }),
            giveUp(pool.connectionTimeoutMs),
          );
        }),
      );
      const silentAccepted = proxy.counters().acceptedSilent;
      proxy.forward();
      const after = await callOnce(
        { writer: 9, seq: 1, kind: 'idea', key: `${tag}:idea:9:1` },
        () => businessIdeas.createIdea(database.owner, users[9]!, { title: `${tag}:idea:9:1`, description: DESCRIPTION }),
        giveUp(pool.connectionTimeoutMs + pool.queryTimeoutMs),
      );
      console.log(
        `[faults] silent at start: ${records.filter((r) => !r.ok).length}/5 failed / errors ${JSON.stringify(errorsByClass(records))} / ` +
          `durations ${durations(records)} ms (bound ${pool.connectionTimeoutMs}+${SLACK_MS}) / ` +
          `connections accepted silently ${silentAccepted} / after the network came back: ${after.ok ? 'ok' : (after.errorClass ?? 'unsettled')} in ${durations([after])} ms / ` +
          `message: ${messageOf(records[0]?.error)}`,
      );
      for (const r of records) {
        expect(durationOf(r), 'the first calls settle within connectionTimeoutMs + slack').toBeLessThanOrEqual(
          pool.connectionTimeoutMs + SLACK_MS,
        );
        expect(r.ok, 'a call through a silent network cannot succeed').toBe(false);
        expect(r.error).toBeInstanceOf(TimeoutError);
        expect(messageOf(r.error)).toContain(`127.0.0.1:${proxy.port}`);
      }
      expect(after.ok ? 'ok' : `${after.errorClass ?? 'unsettled'}: ${messageOf(after.error)}`).toBe('ok');
      expect(durationOf(after)).toBeLessThanOrEqual(pool.connectionTimeoutMs + pool.queryTimeoutMs + SLACK_MS);
      const verification = await verifyLoad(cluster, target.name, [...records, after], tag);
      expect(verification.violations).toEqual([]);
      expect(verification.appliedUnacknowledged, 'a call that never reached the server wrote nothing').toBe(0);
    } finally {
      await proxy.close();
      await database.close({ timeoutMs: 1_000 }).catch(() => undefined);
    }
  }, 60_000);
});
