/**
 * Fault: the connection dies between the server's commit and the client's acknowledgement
 * (issue 9, item 6g). A loopback TCP proxy forwards a write to the server, lets it commit, then
 * withholds the answer and closes the client's side (`cutAfterNextResponse({ match: 'commit' })`).
 * Proves:
 *
 * - the call fails with a ConnectionError (typed; the outcome is unknown to the caller), and the
 *   write is nevertheless in the database: for an autocommit createIdea and for a transaction's
 *   COMMIT alike. A retry without a key would therefore write the idea twice;
 * - with an idempotency key (`createIdea(executor, userId, { title, description, idempotencyKey })`)
 *   a retry after such a failure returns the first outcome (the same idea) instead of writing
 *   again, and so does any later retry: exactly one row.
 *
 * FAULTS_LONG=1: 50 cuts of each kind instead of 5.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { ConnectionError } from '../../src/errors.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import { clusterUnavailable, startCluster, type Cluster, type ClusterDatabase } from '../support/cluster.js';
import {
  createUsers,
  LONG,
  messageOf,
  openFaultDatabase,
  recordingLogger,
  uniqueSuffix,
  type FaultPoolSettings,
} from '../support/fault-load.js';
import { proxiedUrl, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const unavailable = clusterUnavailable();
if (unavailable) console.log(`[faults] commit/acknowledgement cut: skipped: ${unavailable}`);

const DESCRIPTION = 'An idea written by the commit-cut fault test, long enough for the fifty-character minimum.';
const CUTS = LONG ? 50 : 5;
const POOL: Omit<FaultPoolSettings, 'applicationName'> = {
  max: 2,
  connectionTimeoutMs: 1_000,
  statementTimeoutMs: 2_000,
  queryTimeoutMs: 3_000,
};
const BOUND_MS = POOL.connectionTimeoutMs + POOL.queryTimeoutMs + 2_000;

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

describe.skipIf(unavailable !== undefined)('fault: cut between commit and acknowledgement', () => {
  let cluster: Cluster;
  let target: ClusterDatabase;
  let userId: string;
  let proxy: TcpProxy;
  let database: Database;
  let tag: string;

  beforeAll(async () => {
    cluster = await startCluster({ name: 'commit-cut' });
    target = await cluster.migratedDatabase();
    [userId] = (await createUsers(cluster, target.name, 'cut', 1)) as [string];
    tag = `cut-${uniqueSuffix()}`;
    proxy = await startTcpProxy({ port: cluster.port });
    database = openFaultDatabase(proxiedUrl(target.connection, proxy), { ...POOL, applicationName: `dl-fault-${tag}` }, recordingLogger());
    // Connected and the owner path checked, so the cut hits the write itself.
    await businessIdeas.listIdeasByUser(database.owner, userId, { limit: 1 });
  }, 120_000);

  afterAll(async () => {
    await database?.close({ timeoutMs: 2_000 }).catch(() => undefined);
    await proxy?.close();
    await cluster?.destroy();
  });

  const rowsTitled = async (title: string) =>
    cluster.query<{ id: string }>('SELECT id FROM business_ideas WHERE title = $1', [title], target.name);

  /** One cut write: arms the cut, runs `write`, and reports what the caller saw and what the server kept. */
  const cutOnce = async (title: string, write: () => Promise<unknown>) => {
    const cut = proxy.cutAfterNextResponse({ match: 'commit' });
    const started = performance.now();
    const error = await write().then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - started;
    proxy.disarm(); // a write that never reached the server must not leave the cut armed for the next one
    const report = await cut;
    const rows = await cluster.query<{ status: string }>('SELECT status::text FROM business_ideas WHERE title = $1', [title], target.name);
    return { error, ms, report, rows };
  };

  const describeOutcomes = (outcomes: Awaited<ReturnType<typeof cutOnce>>[]) =>
    `${outcomes.filter((o) => o.report).length}/${outcomes.length} cut (${[...new Set(outcomes.flatMap((o) => o.report?.tags ?? []))].join(', ')}) / ` +
    `errors ${JSON.stringify(countBy(outcomes.map((o) => (o.error instanceof Error ? o.error.name : 'resolved'))))} / ` +
    `rows afterwards ${JSON.stringify(countBy(outcomes.map((o) => String(o.rows.length))))} / max ${Math.round(Math.max(...outcomes.map((o) => o.ms)))} ms / ` +
    `message "${messageOf(outcomes[0]?.error)}"`;

  it(`an autocommit createIdea whose acknowledgement is lost fails with a ConnectionError, and the idea exists (${CUTS} times)`, async () => {
    const outcomes = [];
    for (let i = 0; i < CUTS; i++) {
      const title = `${tag}:autocommit:${i}`;
      outcomes.push(await cutOnce(title, () => businessIdeas.createIdea(database.owner, userId, { title, description: DESCRIPTION })));
    }
    console.log(`[faults] commit/ack cut, autocommit createIdea: ${describeOutcomes(outcomes)}`);
    for (const { error, report, rows, ms } of outcomes) {
      expect(ms, 'within connectionTimeoutMs + queryTimeoutMs + slack').toBeLessThanOrEqual(BOUND_MS);
      expect(report, 'the proxy cut the acknowledgement').toBeDefined();
      expect(report!.tags.some((t) => t.startsWith('INSERT'))).toBe(true);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(rows, 'the write committed although the caller was told it failed').toEqual([{ status: 'draft' }]);
    }
  });

  it(`a transaction whose COMMIT acknowledgement is lost fails with a ConnectionError, and its writes exist (${CUTS} times)`, async () => {
    const outcomes = [];
    for (let i = 0; i < CUTS; i++) {
      const title = `${tag}:transaction:${i}`;
      outcomes.push(
        await cutOnce(title, () =>
          database.transaction(database.owner, async (trx) => {
            const idea = await businessIdeas.createIdea(trx, userId, { title, description: DESCRIPTION });
            await businessIdeas.submitIdea(trx, idea.id);
          }),
        ),
      );
    }
    console.log(`[faults] commit/ack cut, transaction: ${describeOutcomes(outcomes)}`);
    for (const { error, report, rows, ms } of outcomes) {
      expect(ms, 'within connectionTimeoutMs + queryTimeoutMs + slack').toBeLessThanOrEqual(BOUND_MS);
      expect(report?.tags).toContain('COMMIT');
      expect(error).toBeInstanceOf(ConnectionError);
      expect(rows, 'the whole transaction committed').toEqual([{ status: 'submitted' }]);
    }
  });

  it('with an idempotency key, retrying after a lost acknowledgement returns the first outcome: one idea, not two', async () => {
    const title = `${tag}:idempotent`;
    // The key is new API (issue 9): built as a variable so this file compiles before and after it lands.
    const input = { title, description: DESCRIPTION, idempotencyKey: `${tag}-key-1` };
    const cut = proxy.cutAfterNextResponse({ match: 'commit' });
    const first = await businessIdeas.createIdea(database.owner, userId, input).catch((e: unknown) => e);
    proxy.disarm(); // should the first call not have reached the server, the retry must not be cut
    const report = await cut;
    const rowsAfterCut = await rowsTitled(title);
    const retry = await businessIdeas.createIdea(database.owner, userId, input).catch((e: unknown) => e);
    const again = await businessIdeas.createIdea(database.owner, userId, input).catch((e: unknown) => e);
    const rows = await rowsTitled(title);
    const describe = (v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : `idea ${(v as { id?: string }).id}`);
    console.log(
      `[faults] commit/ack cut, idempotent createIdea: first ${describe(first)} / cut ${report ? report.tags.join(', ') : 'did not happen'} / ` +
        `rows after the cut ${rowsAfterCut.length} / retry ${describe(retry)} / again ${describe(again)} / rows ${rows.length}`,
    );
    expect(first, `the first call fails as the acknowledgement is lost (${messageOf(first)})`).toBeInstanceOf(ConnectionError);
    expect(report, 'the proxy cut the acknowledgement').toBeDefined();
    expect(rowsAfterCut).toHaveLength(1);
    expect(retry, `the retry resolves with the first outcome (${messageOf(retry)})`).not.toBeInstanceOf(Error);
    expect((retry as { id: string }).id).toBe(rowsAfterCut[0]!.id);
    expect((again as { id: string }).id).toBe(rowsAfterCut[0]!.id);
    expect(rows).toHaveLength(1);
  });
});
