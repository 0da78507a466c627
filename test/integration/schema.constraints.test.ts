/**
 * The schema's rules, checked against a freshly migrated database: every CHECK, uniqueness and
 * foreign key rejects what it should (with the SQLSTATE and constraint name an application would
 * map), accepts the boundary values, and the ON DELETE rules, enums and updated_at trigger behave.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** SQLSTATEs the data layer maps to typed errors. */
const CHECK_VIOLATION = '23514';
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const NOT_NULL_VIOLATION = '23502';
const INVALID_TEXT_REPRESENTATION = '22P02';

let testDb: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  testDb = await createTestDatabase();
  client = new pg.Client({ connectionString: testDb.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await testDb?.drop();
});

type Row = Record<string, unknown>;

/** INSERT ... RETURNING *; column names come from the test itself, values are parameters. */
async function insert(table: string, values: Row): Promise<Row> {
  const columns = Object.keys(values);
  const params = columns.map((_, i) => `$${i + 1}`);
  const { rows } = await client.query(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${params.join(', ')}) RETURNING *`,
    Object.values(values),
  );
  return rows[0] as Row;
}

/** Expects the statement to fail with `code` (and, when given, on the named constraint). */
async function expectViolation(promise: Promise<unknown>, code: string, constraint?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as pg.DatabaseError,
  );
  expect(error, `expected SQLSTATE ${code}${constraint ? ` on ${constraint}` : ''}, but the statement succeeded`).toBeDefined();
  expect({ code: error?.code, constraint: error?.constraint }).toEqual({
    code,
    constraint: constraint ?? error?.constraint,
  });
}

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;
const validDescription = 'A scheduling assistant for independent dental clinics that fills gaps.'; // > 50 chars
const at = (iso: string) => new Date(iso);

function newUser(overrides: Row = {}): Promise<Row> {
  return insert('users', {
    email: `user-${unique()}@example.com`,
    password_hash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    name: 'Ada Lovelace',
    ...overrides,
  });
}

async function newIdea(overrides: Row = {}): Promise<Row> {
  const userId = overrides.user_id ?? (await newUser()).id;
  return insert('business_ideas', { user_id: userId, title: 'Clinic scheduler', description: validDescription, ...overrides });
}

async function newEvaluation(overrides: Row = {}): Promise<Row> {
  const ideaId = overrides.business_idea_id ?? (await newIdea()).id;
  return insert('evaluations', { business_idea_id: ideaId, ...overrides });
}

async function newAgentResult(overrides: Row = {}): Promise<Row> {
  const evaluationId = overrides.evaluation_id ?? (await newEvaluation()).id;
  return insert('agent_results', { evaluation_id: evaluationId, agent_type: 'market-research', ...overrides });
}

async function count(table: string, column: string, id: unknown): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [id]);
  return rows[0]?.n ?? -1;
}

describe('users', () => {
  it('stores a normalised email and fills the defaults', async () => {
    const user = await newUser({ email: 'ada@example.com' });
    expect(user.email).toBe('ada@example.com');
    expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(user.created_at).toBeInstanceOf(Date);
    expect(user.updated_at).toEqual(user.created_at);
    expect(user.deleted_at).toBeNull();
  });

  it.each([['Ada@Example.com'], ['ADA2@EXAMPLE.COM']])('rejects an email that is not normalised: %j', async (email) => {
    await expectViolation(newUser({ email }), CHECK_VIOLATION, 'users_email_normalised_check');
  });

  // Whitespace anywhere, surrounding included, is a format error (checked before normalisation).
  it.each([
    ['not-an-email'],
    ['ada@localhost'],
    ['ada lovelace@example.com'],
    [' ada@example.com'],
    ['ada@example.com\t'],
    ['@example.com'],
    ['a@b@example.com'],
  ])('rejects a malformed email: %j', async (email) => {
    await expectViolation(newUser({ email }), CHECK_VIOLATION, 'users_email_format_check');
  });

  it('bounds the email at 254 characters', async () => {
    const local = 'a'.repeat(64);
    const domain = (n: number) => `${'d'.repeat(n)}.com`;
    await newUser({ email: `${local}@${domain(254 - 64 - 1 - 4)}` }); // exactly 254
    await expectViolation(newUser({ email: `${local}@${domain(255 - 64 - 1 - 4)}` }), CHECK_VIOLATION, 'users_email_format_check');
  });

  it('rejects a second live account with the same email', async () => {
    const email = `dup-${unique()}@example.com`;
    await newUser({ email });
    await expectViolation(newUser({ email }), UNIQUE_VIOLATION, 'users_email_key');
  });

  it('lets a closed (soft-deleted) account be re-registered, and refuses to restore over it', async () => {
    const email = `closed-${unique()}@example.com`;
    const closed = await newUser({ email });
    await client.query('UPDATE users SET deleted_at = now() WHERE id = $1', [closed.id]);
    const again = await newUser({ email });
    expect(again.id).not.toBe(closed.id);
    await expectViolation(
      client.query('UPDATE users SET deleted_at = NULL WHERE id = $1', [closed.id]),
      UNIQUE_VIOLATION,
      'users_email_key',
    );
  });

  it.each([[''], ['   '], ['n'.repeat(101)]])('rejects a name of %j', async (name) => {
    await expectViolation(newUser({ name }), CHECK_VIOLATION, 'users_name_length_check');
  });

  it('accepts a 100-character name and rejects an empty password hash or a missing one', async () => {
    await newUser({ name: 'n'.repeat(100) });
    await expectViolation(newUser({ password_hash: '' }), CHECK_VIOLATION, 'users_password_hash_not_empty_check');
    await expectViolation(newUser({ password_hash: null }), NOT_NULL_VIOLATION);
  });
});

describe('business_ideas', () => {
  it('defaults to draft and belongs to an existing user', async () => {
    const idea = await newIdea();
    expect(idea.status).toBe('draft');
    await expectViolation(
      newIdea({ user_id: '00000000-0000-4000-8000-000000000000' }),
      FOREIGN_KEY_VIOLATION,
      'business_ideas_user_id_fkey',
    );
  });

  it('accepts descriptions of 50 and 5000 characters', async () => {
    await newIdea({ description: 'd'.repeat(50) });
    await newIdea({ description: 'd'.repeat(5000) });
  });

  it.each([
    ['49 characters', 'd'.repeat(49)],
    ['5001 characters', 'd'.repeat(5001)],
    ['49 characters padded with spaces to 60', `  ${'d'.repeat(49)}         `],
  ])('rejects a description of %s', async (_label, description) => {
    await expectViolation(newIdea({ description }), CHECK_VIOLATION, 'business_ideas_description_length_check');
  });

  it('bounds the title to 3..200 characters of real text', async () => {
    await newIdea({ title: 'abc' });
    await newIdea({ title: 't'.repeat(200) });
    for (const title of ['ab', '  ab  ', 't'.repeat(201)]) {
      await expectViolation(newIdea({ title }), CHECK_VIOLATION, 'business_ideas_title_length_check');
    }
  });

  it('rejects a status outside the enum', async () => {
    await expectViolation(newIdea({ status: 'deleted' }), INVALID_TEXT_REPRESENTATION);
  });
});

describe('evaluations', () => {
  it('defaults to pending, normal priority, no timestamps or results', async () => {
    const evaluation = await newEvaluation();
    expect(evaluation).toMatchObject({ status: 'pending', priority: 'normal', started_at: null, completed_at: null, results: null });
    await expectViolation(
      newEvaluation({ business_idea_id: '00000000-0000-4000-8000-000000000000' }),
      FOREIGN_KEY_VIOLATION,
      'evaluations_business_idea_id_fkey',
    );
    await expectViolation(newEvaluation({ priority: 'urgent' }), INVALID_TEXT_REPRESENTATION);
  });

  it('rejects completed_at before started_at', async () => {
    await newEvaluation({ status: 'completed', started_at: at('2026-01-01T10:00:00Z'), completed_at: at('2026-01-01T10:00:00Z') });
    await expectViolation(
      newEvaluation({ status: 'completed', started_at: at('2026-01-01T10:00:00Z'), completed_at: at('2026-01-01T09:59:59Z') }),
      CHECK_VIOLATION,
      'evaluations_completed_after_started_check',
    );
  });

  it('ties status to its timestamps without blocking a retry or an early failure', async () => {
    const started = at('2026-01-01T10:00:00Z');
    const ended = at('2026-01-01T10:05:00Z');
    await expectViolation(newEvaluation({ status: 'analyzing' }), CHECK_VIOLATION, 'evaluations_started_at_required_check');
    await expectViolation(
      newEvaluation({ status: 'completed', completed_at: ended }),
      CHECK_VIOLATION,
      'evaluations_started_at_required_check',
    );
    await expectViolation(
      newEvaluation({ status: 'completed', started_at: started }),
      CHECK_VIOLATION,
      'evaluations_completed_at_matches_status_check',
    );
    await expectViolation(
      newEvaluation({ status: 'pending', completed_at: ended }),
      CHECK_VIOLATION,
      'evaluations_completed_at_matches_status_check',
    );
    // A run can fail before it starts.
    const failed = await newEvaluation({ status: 'failed', completed_at: ended, error_message: 'idea withdrawn' });
    // Retry: back to pending, clearing the end time (the last error may stay).
    const { rows } = await client.query(`UPDATE evaluations SET status = 'pending', completed_at = NULL WHERE id = $1 RETURNING status`, [
      failed.id,
    ]);
    expect(rows[0]).toEqual({ status: 'pending' });
  });

  it('keeps results a JSON object', async () => {
    const started = at('2026-01-01T10:00:00Z');
    const base = { status: 'completed', started_at: started, completed_at: started };
    const evaluation = await newEvaluation({ ...base, results: JSON.stringify({ version: 1, overallScore: 72.5 }) });
    expect(evaluation.results).toEqual({ version: 1, overallScore: 72.5 });
    for (const results of ['[1, 2]', '"done"', '42']) {
      await expectViolation(newEvaluation({ ...base, results }), CHECK_VIOLATION, 'evaluations_results_is_object_check');
    }
  });
});

describe('agent_results', () => {
  it('defaults to pending with an empty input object', async () => {
    const result = await newAgentResult();
    expect(result).toMatchObject({ status: 'pending', input_data: {}, output_data: null, insights: null, score: null });
    await expectViolation(
      newAgentResult({ evaluation_id: '00000000-0000-4000-8000-000000000000' }),
      FOREIGN_KEY_VIOLATION,
      'agent_results_evaluation_id_fkey',
    );
  });

  it('accepts scores 0, 99.99 and 100 and rejects -1 and 100.01', async () => {
    const evaluation = await newEvaluation();
    for (const [i, score] of [0, 99.99, 100].entries()) {
      const row = await newAgentResult({ evaluation_id: evaluation.id, agent_type: `agent-${i}`, score });
      expect(Number(row.score)).toBe(score);
    }
    for (const score of [-1, 100.01]) {
      await expectViolation(newAgentResult({ score }), CHECK_VIOLATION, 'agent_results_score_range_check');
    }
  });

  it.each([['market-research'], ['x'], ['agent2-v3'], ['a'.repeat(64)]])('accepts the agent type %j', async (agentType) => {
    await newAgentResult({ agent_type: agentType });
  });

  it.each([
    ['Market-Research'],
    ['market_research'],
    ['market--research'],
    ['-market'],
    ['market-'],
    ['2market'],
    ['market research'],
    [''],
    ['a'.repeat(65)],
  ])('rejects the agent type %j', async (agentType) => {
    await expectViolation(newAgentResult({ agent_type: agentType }), CHECK_VIOLATION, 'agent_results_agent_type_format_check');
  });

  it('allows one result per agent type per evaluation', async () => {
    const evaluation = await newEvaluation();
    await newAgentResult({ evaluation_id: evaluation.id, agent_type: 'competitive-analysis' });
    await newAgentResult({ evaluation_id: evaluation.id, agent_type: 'customer-research' });
    await newAgentResult({ agent_type: 'competitive-analysis' }); // another evaluation: fine
    await expectViolation(
      newAgentResult({ evaluation_id: evaluation.id, agent_type: 'competitive-analysis' }),
      UNIQUE_VIOLATION,
      'agent_results_evaluation_id_agent_type_key',
    );
  });

  it('rejects completed_at before started_at and ties status to timestamps', async () => {
    const started = at('2026-01-01T10:00:00Z');
    await expectViolation(
      newAgentResult({ status: 'completed', started_at: started, completed_at: at('2026-01-01T09:00:00Z') }),
      CHECK_VIOLATION,
      'agent_results_completed_after_started_check',
    );
    await expectViolation(newAgentResult({ status: 'running' }), CHECK_VIOLATION, 'agent_results_started_at_required_check');
    await expectViolation(
      newAgentResult({ status: 'failed', started_at: started }),
      CHECK_VIOLATION,
      'agent_results_completed_at_matches_status_check',
    );
    await expectViolation(
      newAgentResult({ status: 'running', started_at: started, completed_at: started }),
      CHECK_VIOLATION,
      'agent_results_completed_at_matches_status_check',
    );
    const done = await newAgentResult({ status: 'completed', started_at: started, completed_at: started, score: 80 });
    expect(done.status).toBe('completed');
    await expectViolation(newAgentResult({ status: 'done' }), INVALID_TEXT_REPRESENTATION);
  });

  it('keeps input_data, output_data and insights JSON objects', async () => {
    const row = await newAgentResult({
      input_data: JSON.stringify({ idea: { title: 't', description: 'd' } }),
      output_data: JSON.stringify({ version: 1, summary: 's', findings: [] }),
      insights: JSON.stringify({ version: 1, items: [] }),
    });
    expect(row.output_data).toEqual({ version: 1, summary: 's', findings: [] });
    await expectViolation(newAgentResult({ input_data: '[]' }), CHECK_VIOLATION, 'agent_results_input_data_is_object_check');
    await expectViolation(newAgentResult({ input_data: 'null' }), CHECK_VIOLATION, 'agent_results_input_data_is_object_check');
    await expectViolation(newAgentResult({ input_data: null }), NOT_NULL_VIOLATION);
    await expectViolation(newAgentResult({ output_data: '"text"' }), CHECK_VIOLATION, 'agent_results_output_data_is_object_check');
    await expectViolation(newAgentResult({ insights: '[{"kind": "risk"}]' }), CHECK_VIOLATION, 'agent_results_insights_is_object_check');
  });
});

describe('ON DELETE rules', () => {
  async function tree() {
    const user = await newUser();
    const idea = await newIdea({ user_id: user.id });
    const evaluation = await newEvaluation({ business_idea_id: idea.id });
    const result = await newAgentResult({ evaluation_id: evaluation.id });
    return { user, idea, evaluation, result };
  }

  it('a hard-deleted user takes their ideas, evaluations and agent results', async () => {
    const t = await tree();
    const other = await tree();
    await client.query('DELETE FROM users WHERE id = $1', [t.user.id]);
    expect(await count('business_ideas', 'id', t.idea.id)).toBe(0);
    expect(await count('evaluations', 'id', t.evaluation.id)).toBe(0);
    expect(await count('agent_results', 'id', t.result.id)).toBe(0);
    expect(await count('agent_results', 'id', other.result.id)).toBe(1);
  });

  it('deleting an idea deletes its evaluations and their agent results; deleting an evaluation, its results', async () => {
    const t = await tree();
    await client.query('DELETE FROM evaluations WHERE id = $1', [t.evaluation.id]);
    expect(await count('agent_results', 'id', t.result.id)).toBe(0);
    expect(await count('business_ideas', 'id', t.idea.id)).toBe(1);

    const u = await tree();
    await client.query('DELETE FROM business_ideas WHERE id = $1', [u.idea.id]);
    expect(await count('evaluations', 'id', u.evaluation.id)).toBe(0);
    expect(await count('agent_results', 'id', u.result.id)).toBe(0);
    expect(await count('users', 'id', u.user.id)).toBe(1);
  });

  it('a soft delete removes nothing', async () => {
    const t = await tree();
    await client.query('UPDATE users SET deleted_at = now() WHERE id = $1', [t.user.id]);
    await client.query('UPDATE business_ideas SET deleted_at = now() WHERE id = $1', [t.idea.id]);
    expect(await count('agent_results', 'id', t.result.id)).toBe(1);
  });
});

describe('updated_at', () => {
  const tables: [string, () => Promise<Row>, string][] = [
    ['users', () => newUser(), `name = 'Grace Hopper'`],
    ['business_ideas', () => newIdea(), `title = 'Renamed idea'`],
    ['evaluations', () => newEvaluation(), `priority = 'high'`],
    ['agent_results', () => newAgentResult(), `error_message = 'retrying'`],
  ];

  it.each(tables)('%s: set to the transaction time on a real change, kept on a no-op update', async (table, create, change) => {
    const row = await create();
    const past = at('2000-01-01T00:00:00Z');
    // The trigger only fires on UPDATE, so an INSERT can plant a known old value.
    await client.query(`DELETE FROM ${table} WHERE id = $1`, [row.id]);
    await insert(table, { ...row, updated_at: past });

    const noop = await client.query(`UPDATE ${table} SET id = id WHERE id = $1 RETURNING updated_at`, [row.id]);
    expect(noop.rows[0]?.updated_at).toEqual(past);

    const changed = await client.query(
      `UPDATE ${table} SET ${change} WHERE id = $1 RETURNING updated_at = now() AS is_now, updated_at > created_at AS after_created`,
      [row.id],
    );
    expect(changed.rows[0]).toEqual({ is_now: true, after_created: true });

    // A caller cannot set it by hand either: the database owns it.
    const forced = await client.query(`UPDATE ${table} SET updated_at = $2 WHERE id = $1 RETURNING updated_at = now() AS is_now`, [
      row.id,
      past,
    ]);
    expect(forced.rows[0]).toEqual({ is_now: true });
  });
});

describe('catalog', () => {
  it('declares the enums with their labels in order (priority sorts low < normal < high)', async () => {
    const { rows } = await client.query<{ type: string; labels: string[] }>(
      `SELECT t.typname::text AS type, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
         JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
        GROUP BY t.typname ORDER BY t.typname`,
    );
    expect(rows).toEqual([
      { type: 'agent_result_status', labels: ['pending', 'running', 'completed', 'failed'] },
      { type: 'audit_operation', labels: ['insert', 'update', 'delete'] },
      { type: 'evaluation_priority', labels: ['low', 'normal', 'high'] },
      { type: 'evaluation_status', labels: ['pending', 'analyzing', 'completed', 'failed', 'dead'] },
      { type: 'idea_status', labels: ['draft', 'submitted', 'evaluating', 'completed', 'archived'] },
    ]);
    const { rows: order } = await client.query(
      `SELECT p::text AS priority FROM unnest(ARRAY['normal', 'high', 'low']::evaluation_priority[]) p ORDER BY p DESC`,
    );
    expect(order.map((r) => r.priority)).toEqual(['high', 'normal', 'low']);
  });

  it('indexes every foreign key column (leading column of some index)', async () => {
    const { rows } = await client.query<{ constraint: string }>(
      `SELECT c.conname AS constraint
         FROM pg_constraint c
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
          AND NOT EXISTS (
            SELECT 1 FROM pg_index i
             WHERE i.indrelid = c.conrelid AND i.indpred IS NULL
               AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)`,
    );
    expect(rows).toEqual([]);
    const { rows: fks } = await client.query(
      `SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`,
    );
    expect(fks[0]?.n).toBe(3);
  });

  it('maintains updated_at with a trigger on every table that has one', async () => {
    const { rows } = await client.query<{ table: string }>(
      `SELECT a.attrelid::regclass::text AS table
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
        WHERE a.attname = 'updated_at' AND c.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = a.attrelid AND t.tgfoid = 'set_updated_at'::regproc)
        ORDER BY 1`,
    );
    expect(rows).toEqual([]);
    const { rows: triggers } = await client.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgfoid = 'set_updated_at'::regproc`);
    expect(triggers[0]?.n).toBe(4);
  });
});
