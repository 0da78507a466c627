/**
 * The JSONB queries on agent results: containment on insights and a key path lookup in
 * output_data, their filters and pagination, hostile keys and values, and the GIN indexes behind
 * them (the plans of the exact SQL the repository sends, with sequential scans switched off).
 */
import { sql } from 'kysely';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentInsights, AgentOutputData } from '../../src/schema/json.js';
import { findAgentResultsByInsights, findAgentResultsByOutput, type AgentResult } from '../../src/repositories/agent-results.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea, createTestAgentResult, createTestEvaluation } from '../support/factories.js';
import { captureSql } from '../support/sql-capture.js';

const t = useTestDatabase();

const HOSTILE_KEY = `it's "quoted" \\ $.a[*] ? (@ == 1) 日本 \u{1F600}`;
const HOSTILE_VALUE = `'); DROP TABLE agent_results; -- "x" \\ \n\t $$ 💥`;

function output(topic: string, currency: string, extra: Record<string, string> = {}): AgentOutputData {
  return {
    version: 1,
    summary: `About ${topic}`,
    findings: [
      { topic: 'general', statement: 'x' },
      { topic, statement: `Findings on ${topic}` },
    ],
    details: { marketSize: { estimate: 1e9, currency }, flags: { beta: true, tier: 2, none: null } as never, ...extra },
  };
}
function insights(kind: 'threat' | 'opportunity', impact: 'low' | 'high'): AgentInsights {
  return {
    version: 1,
    items: [
      { kind: 'strength', title: 'Team' },
      { kind, title: `${kind} ${impact}`, impact },
    ],
    metrics: { competitorCount: 14 },
  };
}

let evaluationA: string;
let evaluationB: string;
const rows: Record<string, AgentResult> = {};

beforeAll(async () => {
  const idea = await createSubmittedIdea(t.db);
  evaluationA = (await createTestEvaluation(t.db, idea.id)).id;
  evaluationB = (await createTestEvaluation(t.db, idea.id)).id;
  const completed = { status: 'completed' as const, startedAt: new Date(), completedAt: new Date() };
  const add = async (
    name: string,
    evaluationId: string,
    agentType: string,
    out: AgentOutputData | null,
    ins: AgentInsights | null,
    createdAt: string,
  ) => {
    rows[name] = await createTestAgentResult(t.db, evaluationId, {
      ...completed,
      agentType,
      outputData: out && JSON.stringify(out),
      insights: ins && JSON.stringify(ins),
      createdAt,
    });
  };
  await add('marketEur', evaluationA, 'market-research', output('market-size', 'EUR'), insights('threat', 'high'), '2026-01-01T00:00:00Z');
  await add(
    'competitorsUsd',
    evaluationA,
    'competitive-analysis',
    output('competitor', 'USD'),
    insights('threat', 'low'),
    '2026-01-02T00:00:00Z',
  );
  await add(
    'customersEur',
    evaluationA,
    'customer-research',
    output('pain-point', 'EUR', { [HOSTILE_KEY]: HOSTILE_VALUE }),
    insights('opportunity', 'high'),
    '2026-01-03T00:00:00Z',
  );
  await add('marketB', evaluationB, 'market-research', output('market-size', 'EUR'), insights('threat', 'high'), '2026-01-04T00:00:00Z');
  await add('unfinished', evaluationB, 'pricing', null, null, '2026-01-05T00:00:00Z');
});

const ids = (page: { items: AgentResult[] }) => page.items.map((r) => r.id);

describe('findAgentResultsByInsights (insights @> ...)', () => {
  it('finds the runs whose insights contain the given object, newest first', async () => {
    const page = await findAgentResultsByInsights(t.db, { contains: { items: [{ kind: 'threat', impact: 'high' }] } });
    expect(ids(page)).toEqual([rows.marketB!.id, rows.marketEur!.id]);
    expect(page.nextCursor).toBeNull();
    expect(page.items[0]?.insights).toEqual(insights('threat', 'high'));
    expect(ids(await findAgentResultsByInsights(t.db, { contains: { metrics: { competitorCount: 14 } } }))).toHaveLength(4);
    expect(ids(await findAgentResultsByInsights(t.db, { contains: { items: [{ kind: 'weakness' }] } }))).toEqual([]);
  });

  it('narrows to an evaluation or agent type, and pages', async () => {
    const threats = { items: [{ kind: 'threat' }] };
    expect(ids(await findAgentResultsByInsights(t.db, { contains: threats, evaluationId: evaluationA }))).toEqual([
      rows.competitorsUsd!.id,
      rows.marketEur!.id,
    ]);
    expect(ids(await findAgentResultsByInsights(t.db, { contains: threats, agentType: 'market-research' }))).toEqual([
      rows.marketB!.id,
      rows.marketEur!.id,
    ]);
    const first = await findAgentResultsByInsights(t.db, { contains: threats, limit: 2 });
    expect(ids(first)).toEqual([rows.marketB!.id, rows.competitorsUsd!.id]);
    const second = await findAgentResultsByInsights(t.db, { contains: threats, limit: 2, cursor: first.nextCursor! });
    expect(ids(second)).toEqual([rows.marketEur!.id]);
    expect(second.nextCursor).toBeNull();
  });

  it('rejects an empty or non-object pattern before the database', async () => {
    await expect(findAgentResultsByInsights(t.db, { contains: {} })).rejects.toMatchObject({ issues: [{ path: 'contains' }] });
    await expect(findAgentResultsByInsights(t.db, { contains: [] as never, limit: 0 })).rejects.toMatchObject({
      issues: [{ path: 'contains' }, { path: 'limit' }],
    });
  });
});

describe('findAgentResultsByOutput (output_data @? jsonpath)', () => {
  it('finds the runs with a value at a key path, searching arrays on the way', async () => {
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', 'marketSize', 'currency'], equals: 'EUR' }))).toEqual([
      rows.marketB!.id,
      rows.customersEur!.id,
      rows.marketEur!.id,
    ]);
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['findings', 'topic'], equals: 'competitor' }))).toEqual([
      rows.competitorsUsd!.id,
    ]);
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['findings', 'topic'], equals: 'general' }))).toHaveLength(4);
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', 'marketSize', 'currency'], equals: 'GBP' }))).toEqual([]);
  });

  it('compares numbers, booleans and null by value and type', async () => {
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', 'marketSize', 'estimate'], equals: 1_000_000_000 }))).toHaveLength(
      4,
    );
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', 'marketSize', 'estimate'], equals: '1000000000' }))).toEqual([]);
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', 'flags', 'beta'], equals: true }))).toHaveLength(4);
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', 'flags', 'tier'], equals: 2.0 }))).toHaveLength(4);
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', 'flags', 'none'], equals: null }))).toHaveLength(4);
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', 'flags', 'beta'], equals: 'true' }))).toEqual([]);
  });

  it('carries hostile keys and values verbatim (they are data, not jsonpath or SQL)', async () => {
    const found = await findAgentResultsByOutput(t.db, { path: ['details', HOSTILE_KEY], equals: HOSTILE_VALUE });
    expect(ids(found)).toEqual([rows.customersEur!.id]);
    expect(found.items[0]?.outputData?.details?.[HOSTILE_KEY]).toBe(HOSTILE_VALUE);
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', HOSTILE_KEY], equals: `${HOSTILE_VALUE} ` }))).toEqual([]);
    expect(ids(await findAgentResultsByOutput(t.db, { path: ['details', "marketSize' || '"], equals: 'EUR' }))).toEqual([]);
    const { n } = await sql<{ n: number }>`select count(*)::int as n from agent_results`.execute(t.db).then((r) => r.rows[0]!);
    expect(n).toBe(5);
  });

  it('narrows to an evaluation or agent type, and pages', async () => {
    const eur = { path: ['details', 'marketSize', 'currency'], equals: 'EUR' };
    expect(ids(await findAgentResultsByOutput(t.db, { ...eur, evaluationId: evaluationA }))).toEqual([
      rows.customersEur!.id,
      rows.marketEur!.id,
    ]);
    expect(ids(await findAgentResultsByOutput(t.db, { ...eur, agentType: 'market-research', evaluationId: evaluationB }))).toEqual([
      rows.marketB!.id,
    ]);
    const first = await findAgentResultsByOutput(t.db, { ...eur, limit: 1 });
    const second = await findAgentResultsByOutput(t.db, { ...eur, limit: 1, cursor: first.nextCursor! });
    const third = await findAgentResultsByOutput(t.db, { ...eur, limit: 1, cursor: second.nextCursor! });
    expect([...ids(first), ...ids(second), ...ids(third)]).toEqual([rows.marketB!.id, rows.customersEur!.id, rows.marketEur!.id]);
    expect(third.nextCursor).toBeNull();
  });

  it('rejects an empty path, a NUL and a non-scalar value before the database', async () => {
    await expect(findAgentResultsByOutput(t.db, { path: [], equals: 'x' })).rejects.toMatchObject({ issues: [{ path: 'path' }] });
    await expect(findAgentResultsByOutput(t.db, { path: ['a\u0000'], equals: { a: 1 } as never })).rejects.toMatchObject({
      issues: [{ path: 'path.0' }, { path: 'equals' }],
    });
  });
});

describe('indexes', () => {
  it('both queries use their GIN index (agent_results_insights_idx, agent_results_output_data_idx)', async () => {
    // Enough rows that an index is worth it, then the plans of the exact SQL the repository sends.
    // Both searches are selective (1 and 5 of 2,000): for a common match the planner rightly reads
    // agent_results_created_at_id_idx newest first and stops at the page's end instead.
    await sql`
      INSERT INTO agent_results (evaluation_id, agent_type, status, started_at, completed_at, output_data, insights)
      SELECT ${evaluationA}, 'bulk-' || g, 'completed', now(), now(),
             jsonb_build_object('version', 1, 'summary', 's', 'findings', jsonb_build_array(jsonb_build_object('topic', 'topic-' || g % 50)),
                                'details', jsonb_build_object('marketSize', jsonb_build_object('currency', 'C' || g % 400))),
             jsonb_build_object('version', 1, 'items', jsonb_build_array(jsonb_build_object('kind', 'threat', 'title', 't' || g)))
        FROM generate_series(1, 2000) g`.execute(t.db);
    await sql`ANALYZE agent_results`.execute(t.db);

    // The SQL as the repository compiles it; the parameters as it binds them (pattern, limit + 1).
    const { sqlOf } = captureSql();
    const insightsSql = (await sqlOf((db) => findAgentResultsByInsights(db, { contains: { items: [{ title: 't7' }] } }))).replace(/;$/, '');
    const outputSql = (
      await sqlOf((db) => findAgentResultsByOutput(db, { path: ['details', 'marketSize', 'currency'], equals: 'C7' }))
    ).replace(/;$/, '');
    const outputPath = '$."details"."marketSize"."currency" ? (@ == "C7")';
    const queries = [
      { sql: insightsSql, parameters: [JSON.stringify({ items: [{ title: 't7' }] }), 21] },
      { sql: outputSql, parameters: [outputPath, 21] },
    ];

    const client = new pg.Client({ connectionString: t.testDatabase.url });
    await client.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plans = [];
      for (const query of queries) {
        const { rows: planRows } = await client.query(`EXPLAIN (FORMAT JSON) ${query.sql}`, [...query.parameters]);
        plans.push(JSON.stringify(planRows[0]['QUERY PLAN']));
      }
      expect(plans[0]).toContain('"Index Name":"agent_results_insights_idx"');
      expect(plans[1]).toContain('"Index Name":"agent_results_output_data_idx"');
      for (const plan of plans) expect(plan).not.toContain('Seq Scan');
      // The repository (index) finds what a sequential scan finds: the 5 of 2000 with g % 400 = 7.
      const viaRepository = await findAgentResultsByOutput(t.db, { path: ['details', 'marketSize', 'currency'], equals: 'C7', limit: 100 });
      await client.query('SET enable_seqscan = on; SET enable_bitmapscan = off; SET enable_indexscan = off');
      const { rows: scanned } = await client.query(`EXPLAIN (FORMAT JSON) ${outputSql}`, [outputPath, 1000]);
      expect(JSON.stringify(scanned[0]['QUERY PLAN'])).toContain('Seq Scan');
      const { rows: direct } = await client.query(outputSql, [outputPath, 1000]);
      expect(direct).toHaveLength(5);
      expect(viaRepository.items.map((r) => r.id).sort()).toEqual(direct.map((r: { id: string }) => r.id).sort());
    } finally {
      await client.end();
    }
  });
});
