import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { copyChunks } from '../../seeds/load/copy.js';
import { LOAD_EPOCH, loadCounts, loadTables, MAX_SCALE, MIN_SCALE, type LoadRow, type LoadTable } from '../../seeds/load/generate.js';
import { AGENT_TYPES } from '../../seeds/load/phrases.js';

const HASHES = ['scrypt$16384$8$1$c2FsdA==$aGFzaA=='];
const tables = (scale = 0.005, seed = 'load'): LoadTable[] => loadTables({ scale, seed, passwordHashes: HASHES });
const rowsOf = (name: string, scale?: number): Record<string, string | null>[] => {
  const table = tables(scale).find((t) => t.name === name);
  if (!table) throw new Error(name);
  return [...table.rows()].map((row: LoadRow) => Object.fromEntries(table.columns.map((c, i) => [c, row[i] ?? null])));
};
const digest = (list: LoadTable[], chunkBytes?: number): string => {
  const hash = createHash('sha256');
  for (const t of list) for (const _ of copyChunks(t.rows(), { hash, ...(chunkBytes ? { chunkBytes } : {}) }));
  return hash.digest('hex');
};
const ms = (value: string | null | undefined): number => (value ? Date.parse(value) : NaN);

describe('loadCounts', () => {
  it('follows the formula, linearly in the scale', () => {
    expect(loadCounts(1)).toEqual({ users: 1_000, business_ideas: 10_000, evaluations: 20_000, agent_results: 160_000 });
    expect(loadCounts(2.5)).toEqual({ users: 2_500, business_ideas: 25_000, evaluations: 50_000, agent_results: 400_000 });
    expect(loadCounts(0.005)).toEqual({ users: 5, business_ideas: 50, evaluations: 100, agent_results: 800 });
  });

  it.each([0, -1, MIN_SCALE / 2, MAX_SCALE * 2, Number.NaN, Number.POSITIVE_INFINITY])('refuses scale %s', (scale) => {
    expect(() => loadCounts(scale)).toThrow(/scale must be a number from 0.005 to 1000/);
  });

  it('yields exactly the counted rows per table', () => {
    for (const scale of [0.005, 0.013]) {
      for (const t of tables(scale)) expect([...t.rows()].length, `${t.name} at ${scale}`).toBe(t.count);
    }
  });
});

describe('determinism', () => {
  it('gives the same bytes on every run and whatever the chunk size', () => {
    const first = digest(tables());
    expect(digest(tables())).toBe(first);
    expect(digest(tables(), 1_000)).toBe(first);
  });

  it('gives other data for another seed', () => {
    expect(digest(tables(0.005, 'other'))).not.toBe(digest(tables()));
  });

  it('keeps ids unique', () => {
    const ids = tables(0.02).flatMap((t) => [...t.rows()].map((r) => r[0]));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('rows follow the schema rules', () => {
  const users = rowsOf('users', 0.01);
  const ideas = rowsOf('business_ideas', 0.01);
  const evaluations = rowsOf('evaluations', 0.01);
  const agents = rowsOf('agent_results', 0.01);

  it('users: normalised unique example.* emails, names within limits', () => {
    expect(new Set(users.map((u) => u.email)).size).toBe(users.length);
    for (const u of users) {
      expect(u.email).toMatch(/^[a-z]+\.[a-z]+\.\d+@example\.(com|org|net)$/);
      expect(u.name?.length).toBeLessThanOrEqual(100);
      expect(u.password_hash).toBe(HASHES[0]);
      expect(ms(u.updated_at)).toBeGreaterThanOrEqual(ms(u.created_at));
      expect(ms(u.created_at)).toBeLessThan(LOAD_EPOCH);
    }
  });

  it('ideas: titles 3..200, descriptions 50..5000, owners exist', () => {
    const userIds = new Set(users.map((u) => u.id));
    for (const i of ideas) {
      expect(i.title?.trim().length).toBeGreaterThanOrEqual(3);
      expect(i.title?.length).toBeLessThanOrEqual(200);
      expect(i.description?.trim().length).toBeGreaterThanOrEqual(50);
      expect(i.description?.length).toBeLessThanOrEqual(5_000);
      expect(userIds.has(i.user_id as string)).toBe(true);
    }
    expect(Math.max(...ideas.map((i) => i.description?.length ?? 0))).toBeGreaterThan(900);
  });

  it('evaluations: status, timestamps, lease and claim agree (the CHECK constraints)', () => {
    const ideaIds = new Set(ideas.map((i) => i.id));
    for (const e of evaluations) {
      expect(ideaIds.has(e.business_idea_id as string)).toBe(true);
      const terminal = e.status === 'completed' || e.status === 'failed' || e.status === 'dead';
      expect(e.completed_at !== null).toBe(terminal);
      if (e.status === 'analyzing' || e.status === 'completed') expect(e.started_at).not.toBeNull();
      if (e.completed_at && e.started_at) expect(ms(e.completed_at)).toBeGreaterThanOrEqual(ms(e.started_at));
      expect(e.lease_expires_at !== null).toBe(e.status === 'analyzing');
      if (e.status === 'pending') expect(e.claimed_by).toBeNull();
      if (e.status === 'analyzing') expect(e.claimed_by).not.toBeNull();
      expect(e.results !== null).toBe(e.status === 'completed');
      expect(e.error_message !== null).toBe(e.status === 'failed' || e.status === 'dead');
    }
  });

  it('evaluation results are objects whose scores match their agent results', () => {
    const byEvaluation = new Map<string, Record<string, string | null>[]>();
    for (const a of agents) byEvaluation.set(a.evaluation_id as string, [...(byEvaluation.get(a.evaluation_id as string) ?? []), a]);
    for (const e of evaluations.filter((x) => x.status === 'completed')) {
      const results = JSON.parse(e.results as string);
      expect(results).toMatchObject({ version: 1, recommendation: expect.stringMatching(/^(strong-go|go|pivot|no-go)$/) });
      expect(results.overallScore).toBeGreaterThanOrEqual(0);
      expect(results.overallScore).toBeLessThanOrEqual(100);
      const scores = Object.fromEntries(
        (byEvaluation.get(e.id as string) ?? []).map((a) => [a.agent_type, a.score === null ? null : Number(a.score)]),
      );
      expect(
        Object.fromEntries(results.agentScores.map((s: { agentType: string; score: number | null }) => [s.agentType, s.score])),
      ).toEqual(scores);
    }
  });

  it('agent results: one per agent type per evaluation; status, score, timestamps and payloads agree', () => {
    expect(AGENT_TYPES).toHaveLength(8);
    expect(AGENT_TYPES).toEqual(expect.arrayContaining(['market-research', 'competitive-analysis', 'customer-research']));
    const pairs = new Set(agents.map((a) => `${a.evaluation_id}/${a.agent_type}`));
    expect(pairs.size).toBe(agents.length);
    expect(agents.length).toBe(evaluations.length * 8);
    for (const a of agents) {
      expect(a.agent_type).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      const terminal = a.status === 'completed' || a.status === 'failed';
      expect(a.completed_at !== null).toBe(terminal);
      if (a.status === 'running' || a.status === 'completed') expect(a.started_at).not.toBeNull();
      if (a.completed_at && a.started_at) expect(ms(a.completed_at)).toBeGreaterThanOrEqual(ms(a.started_at));
      expect(a.score !== null).toBe(a.status === 'completed');
      if (a.score !== null) expect(Number(a.score)).toBeGreaterThanOrEqual(0);
      if (a.score !== null) expect(Number(a.score)).toBeLessThanOrEqual(100);
      const input = JSON.parse(a.input_data as string);
      expect(input).toMatchObject({
        idea: { title: expect.any(String), description: expect.any(String) },
        promptVersion: expect.stringContaining(a.agent_type as string),
      });
      if (a.status === 'completed') {
        const output = JSON.parse(a.output_data as string);
        expect(output).toMatchObject({ version: 1, summary: expect.any(String), usage: { inputTokens: expect.any(Number) } });
        expect(output.findings.length).toBeGreaterThanOrEqual(1);
        const insights = JSON.parse(a.insights as string);
        expect(insights.version).toBe(1);
        expect(insights.items.length).toBeGreaterThanOrEqual(1);
      } else {
        expect(a.output_data).toBeNull();
        expect(a.insights).toBeNull();
      }
      expect(a.error_message !== null).toBe(a.status === 'failed');
    }
  });

  it('covers every status at the smallest scale', () => {
    const small = { ideas: rowsOf('business_ideas'), evaluations: rowsOf('evaluations'), agents: rowsOf('agent_results') };
    expect(new Set(small.ideas.map((i) => i.status))).toEqual(new Set(['draft', 'submitted', 'evaluating', 'completed', 'archived']));
    expect(new Set(small.evaluations.map((e) => e.status))).toEqual(new Set(['pending', 'analyzing', 'completed', 'failed', 'dead']));
    expect(new Set(small.evaluations.map((e) => e.priority))).toEqual(new Set(['low', 'normal', 'high']));
    expect(new Set(small.agents.map((a) => a.status))).toEqual(new Set(['pending', 'running', 'completed', 'failed']));
  });
});
