/**
 * The query benchmark (`npm run bench -- queries`, scripts/bench/queries.ts) runs for real, at the
 * smallest scale, with every contender and every operation for a few calls each: a smoke test of
 * the benchmark, never a timed test (its figures are not compared with anything but themselves).
 *
 * Every contender must have figures for every operation it implements (a contender that cannot be
 * set up is reported as skipped, and fails this test as surely as one that throws, which ends the
 * run), the baseline's ratio is 1, the CPU figures are positive numbers, and the report carries the
 * machine, the load averages, the commit and the date. Its throwaway database is named like this
 * run's other databases (dl_t_<run>_*), so the run's teardown drops it if this file dies.
 */
import { describe, expect, it, inject } from 'vitest';
import { BASELINE, CONTENDERS, CONTENDER_NAMES, PGBENCH } from '../../scripts/bench/contenders/index.js';
import type { ContenderSpec } from '../../scripts/bench/contenders/types.js';
import { OPERATIONS, OPERATION_NAMES } from '../../scripts/bench/operations.js';
import { benchQueries, formatReport, parseQueriesArgs, type QueriesReport, type QueriesSettings } from '../../scripts/bench/queries.js';
import type { PostgresServer } from '../../scripts/lib/postgres-server.js';
import { adminConnection } from '../support/database.js';
import { testDatabasePrefix } from '../support/names.js';

const server: PostgresServer = {
  kind: 'external',
  admin: adminConnection(),
  description: 'the test run’s server',
  stop: async () => undefined,
};

/** The command line's settings (so the defaults are the command's), for a smoke run. */
function smoke(args: string[]): QueriesSettings {
  // 3 calls per window on 3 connections: every operation runs, the windows stay short (the
  // workflow is 26 statements a call); pgbench runs its shortest window, 1 s.
  const line = '--scale 0.005 --rounds 1 --calls 3 --warmup 0 --duration 1 --pool 3 --concurrency 3 --no-progress';
  const settings = parseQueriesArgs([...line.split(' '), ...args], ['queries']);
  if (settings === 'help') throw new Error('unexpected help');
  return settings;
}

const options = { databasePrefix: testDatabasePrefix(inject('dlRunId')) };

describe('npm run bench -- queries', () => {
  it('runs every contender through every operation and reports figures for each', async () => {
    const report: QueriesReport = JSON.parse(
      JSON.stringify(await benchQueries(server, smoke(['--contenders', CONTENDER_NAMES.join(',')]), undefined, options)),
    );

    expect(report.contenders.filter((c) => c.skipped)).toEqual([]);
    expect(report.contenders.map((c) => c.name).sort()).toEqual([...CONTENDER_NAMES].sort());
    expect(report.operations.map((o) => o.name)).toEqual([...OPERATION_NAMES]);

    // What each contender implements (pgbench: the point read only) has figures, and nothing else.
    const expected = OPERATIONS.flatMap((op) =>
      CONTENDER_NAMES.filter((name) => (name === PGBENCH ? op.name === 'point-read' : implemented(name, op.needs))).map(
        (name) => `${op.name} ${name}`,
      ),
    );
    expect(report.results.map((r) => `${r.operation} ${r.contender}`).sort()).toEqual(expected.sort());
    // Every operation is run by the baseline and by this project's repositories.
    for (const op of OPERATION_NAMES) {
      expect(expected).toContain(`${op} ${BASELINE}`);
      expect(expected).toContain(`${op} repo`);
    }

    for (const entry of report.results) {
      const at = `${entry.operation} ${entry.contender}`;
      expect(entry.rounds, at).toHaveLength(1);
      const [round] = entry.rounds;
      expect(round!.calls, at).toBeGreaterThan(0);
      expect(entry.median.perSecond, at).toBeGreaterThan(0);
      expect(entry.median.ratio, at).toBeGreaterThan(0);
      if (entry.contender === BASELINE) expect(entry.median.ratio, at).toBe(1);
      expect(entry.median.nodeCpuUs, at).toBeGreaterThan(0);
      // Neither pgbench's nor PgBouncer's server sessions are the pool's clients' (see contenders/repo-pgbouncer.ts).
      if (report.settings.serverCpuMeasured && entry.contender !== PGBENCH && entry.contender !== 'repo-pgbouncer')
        expect(entry.median.serverCpuUs, at).toBeGreaterThan(0);
      expect(entry.median.statementsPerCall, at).toBeGreaterThanOrEqual(1);
      if (entry.operation.startsWith('claim') || entry.operation.startsWith('workflow') || entry.operation === 'enqueue-to-start') {
        expect(entry.median.claimP99Ms, at).toBeGreaterThan(0);
      }
    }
    // The keyset cost of page 1,000 against page 1, for every contender that lists pages.
    expect(report.keyset?.map((k) => k.contender).sort()).toEqual(
      CONTENDER_NAMES.filter((name) => name !== PGBENCH && implemented(name, ['listIdeas'])).sort(),
    );
    for (const k of report.keyset ?? []) expect(k.throughputRatio, k.contender).toBeGreaterThan(0);

    // Issue 11's targets for the repositories, each with a value (met or not: a smoke run proves nothing about speed).
    expect(report.targets.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        `point-read: repo / ${BASELINE}`,
        `list-page: repo / ${BASELINE}`,
        `insert-idea: repo / ${BASELINE}`,
        `complete-agent-run: repo / ${BASELINE}`,
        'point-read: repo / drizzle-prepared',
        'point-read: repo / prisma',
        'keyset page 1,000 / page 1 cost: repo',
      ]),
    );
    for (const t of report.targets) expect(t.value, t.name).toBeGreaterThan(0);

    expect(report.benchmark).toBe('queries');
    expect(Date.parse(report.date)).toBeGreaterThan(Date.parse('2026-01-01'));
    expect(report.git?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(report.machine.cpus.count).toBeGreaterThan(0);
    expect(report.machine.totalMemoryBytes).toBeGreaterThan(0);
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.postgres).toMatch(/^\d+/);
    expect(report.machine.loadAverage.before).toHaveLength(3);
    expect(report.machine.loadAverage.after).toHaveLength(3);
    expect(report.loadAveragePerRound).toHaveLength(1);
    expect(report.settings.loadSet.business_ideas).toBeGreaterThan(0);

    const printed = formatReport(report);
    expect(printed).toContain('point read of one idea by primary key');
    expect(printed).toContain('Keyset pagination, page 1,000 against page 1');
    expect(printed).toMatch(/Enqueue-to-start with wake-ups .*raw-pg-named p50 .* ms.*repo p50 .* ms/);
    expect(printed).toMatch(/Claim \+ complete per core .*graphile-worker/);
  }, 180_000);

  it('fails when a contender fails, naming the operation and the contender', async () => {
    const broken: ContenderSpec = {
      name: 'broken',
      label: 'a contender whose point read throws',
      create: async () => ({
        driver: { getIdea: () => Promise.reject(new Error('the broken contender broke')) },
        settings: 'none',
        close: async () => undefined,
      }),
    };
    const settings = { ...smoke(['--only', 'point-read', '--contenders', BASELINE]), contenders: [BASELINE, 'broken'] };
    await expect(benchQueries(server, settings, undefined, { ...options, registry: [...CONTENDERS, broken] })).rejects.toThrow(
      'point-read through broken failed: the broken contender broke',
    );
  }, 60_000);
});

/** repo-pgbouncer has the repository's calls but its LISTEN-woken worker loop (LISTEN needs a direct connection). */
const THROUGH_PGBOUNCER_MISSING = ['startQueueWorker'];

/** Whether contender `name` implements every one of `needs`, as its driver says. */
function implemented(name: string, needs: readonly string[]): boolean {
  // Drizzle's prepared variant leaves out the calls that run in a transaction (see contenders/drizzle.ts);
  // repo-app offers the point read only; the queue worker loop (enqueue-to-start) and the batched
  // workflow's agent-run calls (workflow-batched) are raw pg's and the repository's.
  const rawPgAndRepoOnly = ['enqueue', 'startQueueWorker', 'startAgentRuns', 'completeAgentRuns'];
  const missing: Record<string, readonly string[]> = {
    kysely: rawPgAndRepoOnly,
    drizzle: rawPgAndRepoOnly,
    prisma: rawPgAndRepoOnly,
    'drizzle-prepared': ['claimNext', 'completeEvaluation', ...rawPgAndRepoOnly],
    'repo-app': [
      'listIdeas',
      'createIdea',
      'createAgentRuns',
      'startAgentRun',
      'completeAgentRun',
      'scoreSummary',
      'claimNext',
      'completeEvaluation',
      ...rawPgAndRepoOnly,
    ],
  };
  // The replica pair's contenders (contenders/replica.ts) offer the point read only, as repo-app does.
  missing['repo-replica'] = missing['repo-replica-primary'] = missing['repo-app']!;
  return needs.every((need) => !(missing[name] ?? (name === 'repo-pgbouncer' ? THROUGH_PGBOUNCER_MISSING : [])).includes(need));
}
