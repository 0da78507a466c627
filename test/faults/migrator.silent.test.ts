/**
 * Fault: the migrator on a silent network (issue 9, item 1). Through the loopback TCP proxy, a
 * migration runs a long statement and the network goes silent mid-statement (no FIN, no RST).
 * Proves: the run fails within its documented bound (the statement timeout plus a margin of as
 * much again, 5 to 30 s) with a MigrationError that says no answer came, instead of hanging; and
 * once the network is back, a rerun applies the migration.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/config.js';
import { MigrationError } from '../../src/errors.js';
import { createMigrator } from '../../src/migrate/index.js';
import { clusterUnavailable, startCluster, type Cluster } from '../support/cluster.js';
import { proxiedUrl, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const unavailable = clusterUnavailable();
if (unavailable) console.log(`[faults] migrator on a silent network: skipped: ${unavailable}`);

let cluster: Cluster;
let proxy: TcpProxy;
let dir: string;

beforeAll(async () => {
  if (unavailable) return;
  cluster = await startCluster({ name: 'migrator-silent' });
  proxy = await startTcpProxy({ port: cluster.port });
  dir = mkdtempSync(join(tmpdir(), 'dl-migrator-silent-'));
  writeFileSync(
    join(dir, '20260101000000_slow.sql'),
    '-- migrate:up\nSELECT pg_sleep(1.5);\nCREATE TABLE slow_done (id int);\n-- migrate:down\nDROP TABLE slow_done;\n',
  );
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await cluster?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(unavailable !== undefined)('the migrator on a silent network', () => {
  it('fails within the statement timeout plus its margin, saying no answer came, and a rerun applies the file', async () => {
    const connection = parseConnectionUrl(proxiedUrl(cluster.admin, proxy));
    const [statementTimeoutMs, lockTimeoutMs] = [2_000, 1_000];
    const boundMs = statementTimeoutMs + 5_000; // the larger timeout plus its margin: as long, at least 5 s
    const migrator = createMigrator({ connection, migrationsDir: dir, statementTimeoutMs, lockTimeoutMs, lockWaitMs: 5_000 });
    const run = migrator.up().catch((error: unknown) => error);
    // Silent while pg_sleep runs (seen directly on the server, past the proxy: up's checks before
    // it applies anything, the lint and the pooler probe, take a varying while): the statement's
    // answer never arrives.
    for (let tries = 0; tries < 200; tries++) {
      const [row] = await cluster.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(1.5)%'",
      );
      if ((row?.n ?? 0) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    proxy.silence({ newConnections: 'silent' });
    const started = performance.now();
    const error = await run;
    const elapsed = performance.now() - started;
    console.log(`[faults] migrator on a silent network: failed ${Math.round(elapsed)} ms after the silence (bound ${boundMs} ms)`);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).message).toContain('No answer from the server in time');
    expect(elapsed).toBeLessThan(boundMs + 3_000);

    proxy.forward();
    const rerun = await createMigrator({ connection, migrationsDir: dir, statementTimeoutMs, lockTimeoutMs, lockWaitMs: 30_000 }).up();
    expect(rerun.map((r) => r.name)).toEqual(['20260101000000_slow']);
  }, 60_000);
});
