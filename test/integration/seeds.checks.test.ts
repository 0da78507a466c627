/**
 * runChecks catches deliberately broken rows that the schema would normally refuse: an orphan
 * written with triggers off (session_replication_role = replica skips FK triggers), a score out
 * of range after dropping its CHECK, and a status no row has any more; each failure names its cause
 * (other rows, the set's own rows, the set's rows missing); `npm run seed` then exits 1.
 */
import pg from 'pg';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { formatChecks, runChecks } from '../../seeds/checks.js';
import { devId, devSet } from '../../seeds/dev.js';
import { runSeedSet } from '../../seeds/runner.js';
import { runCli } from '../support/cli.js';
import { useTestDatabase } from '../support/database.js';

describe('runChecks', () => {
  const t = useTestDatabase();

  it('passes on the dev set', async () => {
    await runSeedSet(t.direct, devSet, { checks: false });
    const report = await runChecks(t.db, devSet.checks);
    expect(report.results.filter((r) => !r.ok)).toEqual([]);
    expect(report.counts).toMatchObject({ users: 4, business_ideas: 8, evaluations: 8, agent_results: 26, seed_history: 1 });
    expect(formatChecks(report)).toContain('All checks passed.');
  });

  it('fails the FK, score and status checks on broken rows, and nothing else', async () => {
    const client = new pg.Client({ connectionString: t.testDatabase.url });
    await client.connect();
    try {
      await client.query('SET session_replication_role = replica');
      await client.query(
        `INSERT INTO agent_results (evaluation_id, agent_type) VALUES ('00000000-0000-4000-8000-00000000dead', 'orphan-agent')`,
      );
    } finally {
      await client.end();
    }
    await sql`ALTER TABLE agent_results DROP CONSTRAINT agent_results_score_range_check`.execute(t.db);
    await t.db.updateTable('agentResults').set({ score: 150 }).where('id', '=', devId(401)).execute();
    await t.db.updateTable('businessIdeas').set({ status: 'submitted' }).where('status', '=', 'draft').execute();

    const report = await runChecks(t.db, devSet.checks);
    expect(report.ok).toBe(false);
    // Each failure says whose rows are at fault: the orphan is not a dev row (its id is random),
    // the score is the set's own row 401, and the set's draft idea is gone.
    expect(report.results.filter((r) => !r.ok).map((r) => `${r.cause} ${r.name}: ${r.detail}`)).toEqual([
      expect.stringMatching(
        /^data fk: agent_results\.evaluation_id -> evaluations: 1 row\(s\) not from the seed set: agent_results [0-9a-f-]{36}$/,
      ),
      `seed score: agent_results.score within 0..100: 1 of the seed set's row(s): agent_results ${devId(401)}`,
      "incomplete statuses: every idea_status in business_ideas.status: missing among the seed set's rows: draft",
    ]);
    const text = formatChecks(report);
    expect(text).toMatch(/FAIL {2}\[your data breaks a database rule\] fk: agent_results\.evaluation_id[\s\S]*3 check\(s\) FAILED:/);
    expect(text).toContain('  1: your data breaks a database rule: ');
    expect(text).toContain('  1: the seed set breaks it: ');
    expect(text).toContain('  1: the seed set is incomplete: ');
  });

  it('makes `npm run seed` exit 1 with the failed checks printed', async () => {
    const result = await runCli('seed.ts', [], { env: { DATABASE_URL: t.testDatabase.url } });
    expect(result.stdout).toContain('Already loaded: nothing to do');
    expect(result.stdout).toContain('FAIL  [the seed set breaks it] score: agent_results.score within 0..100');
    expect(result.code).toBe(1);
  }, 60_000);
});
