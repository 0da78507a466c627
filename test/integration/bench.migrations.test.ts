/**
 * The migrations benchmark (`npm run bench -- migrations`, scripts/bench/migrations.ts) runs for
 * real at its smallest size: a smoke test of its shape (every case applied through the migrator and
 * reverted, the writer's figures, the lint's verdicts, the report's machine fields), never of its
 * figures, which at 100 rows prove nothing. Its throwaway database is named like this run's other
 * databases (dl_t_<run>_*), so the run's teardown drops it if this file dies.
 */
import { describe, expect, it, inject } from 'vitest';
import {
  benchMigrations,
  CASES,
  formatMigrationsReport,
  parseMigrationsArgs,
  type MigrationsReport,
  type MigrationsSettings,
} from '../../scripts/bench/migrations.js';
import type { PostgresServer } from '../../scripts/lib/postgres-server.js';
import { adminQuery } from '../../scripts/lib/server.js';
import { adminConnection } from '../support/database.js';
import { testDatabasePrefix } from '../support/names.js';

const server: PostgresServer = {
  kind: 'external',
  admin: adminConnection(),
  description: 'the test run’s server',
  stop: async () => undefined,
};

function settings(args: string[]): MigrationsSettings {
  const parsed = parseMigrationsArgs(args);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
}

describe('npm run bench -- migrations', () => {
  it('applies and reverts every case through the migrator while the writer runs, and reports each side by side', async () => {
    const prefix = `${testDatabasePrefix(inject('dlRunId'))}_mb`;
    const report: MigrationsReport = JSON.parse(
      JSON.stringify(
        await benchMigrations(server, settings(['--rows', '100', '--interval', '2', '--no-progress']), undefined, {
          databasePrefix: prefix,
          marginMs: 50,
        }),
      ),
    );

    expect(report.benchmark).toBe('migrations');
    expect(report.table).toMatchObject({ name: 'bench_orders', rows: 100 });
    expect(report.table.bytes).toBeGreaterThan(0);
    expect(report.cases.map((c) => `${c.pair} ${c.form}`)).toEqual(['index dangerous', 'index safe', 'check dangerous', 'check safe']);
    for (const c of report.cases) {
      const at = `${c.pair} ${c.form}`;
      expect(c.migrationMs, at).toBeGreaterThan(0);
      expect(c.upMs, at).toBeGreaterThan(0);
      expect(c.writes, at).toBeGreaterThan(0);
      expect(c.longestStallMs, at).toBeGreaterThanOrEqual(c.p99Ms);
      expect(c.p99Ms, at).toBeGreaterThanOrEqual(c.p50Ms);
      expect(c.p50Ms, at).toBeGreaterThan(0);
      // The dangerous file accepts exactly the finding it was written to trigger; the safe one lints clean.
      const expected = CASES.find((k) => k.fileName === c.file)!.accepts;
      expect(
        c.lint.map((f) => f.rule),
        at,
      ).toEqual(expected);
      for (const f of c.lint) expect(f.accepted, at).toBe(true);
    }
    expect(report.pairs.map((p) => p.pair)).toEqual(['index', 'check']);
    for (const p of report.pairs) expect(p.ratio, p.pair).toBeCloseTo(p.safeMs / p.dangerousMs, 3);

    expect(Date.parse(report.date)).toBeGreaterThan(Date.parse('2026-01-01'));
    expect(report.git?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(report.machine.cpus.count).toBeGreaterThan(0);
    expect(report.machine.postgres).toMatch(/^\d+/);
    expect(report.machine.loadAverage.before).toHaveLength(3);
    expect(report.machine.loadAverage.after).toHaveLength(3);

    const printed = formatMigrationsReport(report);
    expect(printed).toContain('Longest write stall, side by side:');
    expect(printed).toMatch(/index, safe: +CREATE INDEX CONCURRENTLY \(transaction:false\); lint: clean/);
    expect(printed).toMatch(/check, dangerous: +ADD CONSTRAINT \.\.\. CHECK; lint: constraint-missing-not-valid/);

    // The throwaway database is gone.
    const left = await adminQuery(server.admin, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [prefix]);
    expect(left).toEqual([]);
  }, 60_000);

  it('refuses bad options, naming the flag', () => {
    expect(() => parseMigrationsArgs(['--rows', '5'])).toThrow('--rows must be a whole number from 100 to 100,000,000 (got "5")');
    expect(() => parseMigrationsArgs(['--interval', 'soon'])).toThrow('--interval must be a whole number');
    expect(() => parseMigrationsArgs(['--scale', '1'])).toThrow(/scale/);
    expect(parseMigrationsArgs(['--help'])).toBe('help');
    expect(parseMigrationsArgs([])).toMatchObject({ rows: 2_000_000, intervalMs: 10, progress: true });
  });
});
