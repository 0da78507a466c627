/**
 * runChecks catches deliberately broken rows that the schema would normally refuse: an orphan
 * written with triggers off (session_replication_role = replica skips FK triggers), a score out
 * of range after dropping its CHECK, and a status no row has any more; `npm run seed` then exits 1.
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
    expect(report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([
      'fk: agent_results.evaluation_id -> evaluations: 1 offending row(s)',
      'score: agent_results.score within 0..100: 1 offending row(s)',
      'statuses: every idea_status in business_ideas.status: missing: draft',
    ]);
    expect(formatChecks(report)).toMatch(/FAIL {2}fk: agent_results\.evaluation_id[\s\S]*3 check\(s\) FAILED\./);
  });

  it('makes `npm run seed` exit 1 with the failed checks printed', async () => {
    const result = await runCli('seed.ts', [], { env: { DATABASE_URL: t.testDatabase.url } });
    expect(result.stdout).toContain('Already loaded: nothing to do');
    expect(result.stdout).toContain('FAIL  score: agent_results.score within 0..100');
    expect(result.code).toBe(1);
  }, 60_000);
});
