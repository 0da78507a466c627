/**
 * Each access pattern the schema promises an index for can use that index, and the ordered ones
 * get their order from it (no Sort). On tables this small the planner rightly prefers a
 * sequential or bitmap scan plus a sort, so those are switched off (`enable_seqscan`,
 * `enable_bitmapscan`, `enable_sort`) to make the plans deterministic. That does not force a
 * particular index: a disabled plan is still chosen when nothing else can answer the query, so a
 * missing or mis-ordered index still shows up as a Sort or as another index.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let testDb: TestDatabase;
let client: pg.Client;
let userId: string;
let ideaId: string;
let evaluationId: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  client = new pg.Client({ connectionString: testDb.url });
  await client.connect();
  // A little data of every kind, including soft-deleted and non-pending rows.
  await client.query(`
    INSERT INTO users (email, password_hash, name)
      SELECT 'user' || g || '@example.com', 'hash', 'User ' || g FROM generate_series(1, 20) g;
    UPDATE users SET deleted_at = now() WHERE email = 'user20@example.com';
    INSERT INTO business_ideas (user_id, title, description, status, deleted_at)
      SELECT u.id, 'Idea ' || g, repeat('An idea worth checking. ', 4),
             (ARRAY['draft', 'submitted', 'evaluating', 'completed', 'archived']::idea_status[])[1 + g % 5],
             CASE WHEN g % 7 = 0 THEN now() END
        FROM users u CROSS JOIN generate_series(1, 5) g;
    INSERT INTO evaluations (business_idea_id, status, priority, started_at, completed_at, claimed_by, lease_expires_at)
      SELECT i.id, s.status::evaluation_status, (ARRAY['low', 'normal', 'high']::evaluation_priority[])[1 + g % 3],
             CASE WHEN s.status <> 'pending' THEN now() END, CASE WHEN s.status = 'completed' THEN now() END,
             CASE WHEN s.status <> 'pending' THEN 'worker-' || g END,
             CASE WHEN s.status = 'analyzing' THEN now() + interval '5 minutes' END
        FROM business_ideas i CROSS JOIN generate_series(1, 2) g
        CROSS JOIN (VALUES ('pending'), ('analyzing'), ('completed')) s(status);
    INSERT INTO agent_results (evaluation_id, agent_type)
      SELECT e.id, a FROM evaluations e
        CROSS JOIN unnest(ARRAY['market-research', 'competitive-analysis', 'customer-research']) a;
    ANALYZE;
  `);
  const { rows } = await client.query(
    `SELECT u.id AS user_id, i.id AS idea_id, e.id AS evaluation_id
       FROM users u JOIN business_ideas i ON i.user_id = u.id JOIN evaluations e ON e.business_idea_id = i.id
      LIMIT 1`,
  );
  const ids = rows[0] as { user_id: string; idea_id: string; evaluation_id: string };
  ({ user_id: userId, idea_id: ideaId, evaluation_id: evaluationId } = ids);
  await client.query('SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off');
});

afterAll(async () => {
  await client?.end();
  await testDb?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

async function plan(query: string, params: unknown[] = []): Promise<PlanNode[]> {
  const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${query}`, params);
  const root = (rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan;
  const nodes: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    nodes.push(node);
    node.Plans?.forEach(walk);
  };
  walk(root);
  return nodes;
}

async function expectIndex(query: string, params: unknown[], index: string, options: { ordered?: boolean } = {}) {
  const nodes = await plan(query, params);
  const summary = nodes.map((n) => `${n['Node Type']}${n['Index Name'] ? ` on ${n['Index Name']}` : ''}`);
  expect(summary, 'plan').toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^Index (Only )?Scan on ${index}$`))]));
  if (options.ordered)
    expect(
      summary.filter((s) => s.startsWith('Sort') || s.startsWith('Incremental Sort')),
      'no sort',
    ).toEqual([]);
}

describe('indexes serve the access patterns', () => {
  it('login by email (live accounts): users_email_key', async () => {
    await expectIndex('SELECT * FROM users WHERE email = $1 AND deleted_at IS NULL', ['user3@example.com'], 'users_email_key');
  });

  it("a user's ideas, newest first: business_ideas_user_id_created_at_idx, no sort", async () => {
    await expectIndex(
      'SELECT * FROM business_ideas WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 20',
      [userId],
      'business_ideas_user_id_created_at_idx',
      { ordered: true },
    );
  });

  it('ideas by status: business_ideas_status_created_at_idx, no sort', async () => {
    await expectIndex(
      'SELECT * FROM business_ideas WHERE status = $1 AND deleted_at IS NULL ORDER BY created_at LIMIT 50',
      ['submitted'],
      'business_ideas_status_created_at_idx',
      { ordered: true },
    );
  });

  it("an idea's evaluations, newest first: evaluations_business_idea_id_created_at_idx, no sort", async () => {
    await expectIndex(
      'SELECT * FROM evaluations WHERE business_idea_id = $1 ORDER BY created_at DESC',
      [ideaId],
      'evaluations_business_idea_id_created_at_idx',
      { ordered: true },
    );
  });

  it('due pending evaluations by priority (high first) then due time: evaluations_pending_queue_idx, no sort', async () => {
    await expectIndex(
      `SELECT * FROM evaluations WHERE status = 'pending' AND run_after <= statement_timestamp()
        ORDER BY priority DESC, run_after, id LIMIT 10 FOR UPDATE SKIP LOCKED`,
      [],
      'evaluations_pending_queue_idx',
      { ordered: true },
    );
  });

  it("an evaluation's agent results: the (evaluation_id, agent_type) unique index, no sort", async () => {
    await expectIndex(
      'SELECT * FROM agent_results WHERE evaluation_id = $1 ORDER BY agent_type',
      [evaluationId],
      'agent_results_evaluation_id_agent_type_key',
      { ordered: true },
    );
  });

  it('the ON DELETE CASCADE lookups of every foreign key', async () => {
    // What the FK triggers run when a parent row is deleted (soft-deleted children included).
    await expectIndex('SELECT 1 FROM business_ideas WHERE user_id = $1', [userId], 'business_ideas_user_id_idx');
    await expectIndex('SELECT 1 FROM evaluations WHERE business_idea_id = $1', [ideaId], 'evaluations_business_idea_id_created_at_idx');
    await expectIndex('SELECT 1 FROM agent_results WHERE evaluation_id = $1', [evaluationId], 'agent_results_evaluation_id_agent_type_key');
  });

  it('the queue index holds only pending rows', async () => {
    const { rows } = await client.query(
      `SELECT (SELECT count(*)::int FROM evaluations WHERE status = 'pending') AS pending,
              (SELECT count(*)::int FROM evaluations) AS total,
              pg_get_expr(i.indpred, i.indrelid) AS predicate
         FROM pg_index i WHERE i.indexrelid = 'evaluations_pending_queue_idx'::regclass`,
    );
    expect(rows[0]?.predicate).toBe("(status = 'pending'::evaluation_status)");
    expect(rows[0]?.pending).toBeGreaterThan(0);
    expect(rows[0]?.pending).toBeLessThan(rows[0]?.total);
  });
});
