/**
 * The load set end to end at the smallest scale (0.005: 5 users, 50 ideas, 100 evaluations, 800
 * agent results): counts follow the formula, two databases get identical rows, every status and
 * every CHECK holds (the COPY would fail otherwise), the validation checks pass, the audit
 * triggers are back on afterwards, and a second load or an aborted one leaves nothing half done.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCounts } from '../../seeds/load/generate.js';
import { loadLoadSet, type LoadSetResult } from '../../seeds/load/load.js';
import { runChecks } from '../../seeds/checks.js';
import { runSeedSet } from '../../seeds/runner.js';
import { loadSet } from '../../seeds/sets/load.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { SeedError } from '../../seeds/errors.js';
import { pgConfig } from '../../scripts/lib/server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const SCALE = 0.005;
const TABLES = ['users', 'business_ideas', 'evaluations', 'agent_results'] as const;

interface Loaded {
  testDatabase: TestDatabase;
  client: pg.Client;
  result: LoadSetResult;
}

async function loadInto(): Promise<Loaded> {
  const testDatabase = await createTestDatabase();
  const client = new pg.Client(pgConfig(testDatabase.connection));
  await client.connect();
  const result = await loadLoadSet(client, { scale: SCALE });
  return { testDatabase, client, result };
}

const count = async (client: pg.Client, query: string): Promise<number> => Number((await client.query<{ n: string }>(query)).rows[0]?.n);
/** An order-independent digest of a whole table's contents. */
const tableDigest = async (client: pg.Client, table: string): Promise<string> =>
  (await client.query<{ d: string }>(`SELECT md5(string_agg(t::text, E'\\n' ORDER BY t.id)) AS d FROM ${table} t`)).rows[0]?.d ?? '';

describe('the load set at scale 0.005', () => {
  let first: Loaded;
  let second: Loaded;

  beforeAll(async () => {
    first = await loadInto();
    second = await loadInto();
  });

  afterAll(async () => {
    for (const loaded of [first, second]) {
      await loaded?.client.end().catch(() => undefined);
      await loaded?.testDatabase.drop();
    }
  });

  it('writes the counted rows, all of them, with the audit triggers off', async () => {
    const expected = loadCounts(SCALE);
    expect(expected).toEqual({ users: 5, business_ideas: 50, evaluations: 100, agent_results: 800 });
    expect(first.result.rows).toEqual(expected);
    expect(first.result.auditTriggers).toBe('disabled');
    for (const table of TABLES) expect(await count(first.client, `SELECT count(*) AS n FROM ${table}`)).toBe(expected[table]);
    // Loaded rows have no insert history, like restored ones.
    expect(await count(first.client, 'SELECT count(*) AS n FROM audit_log')).toBe(0);
  });

  it('gives identical rows in two databases', async () => {
    expect(second.result.checksum).toBe(first.result.checksum);
    for (const table of TABLES) expect(await tableDigest(second.client, table), table).toBe(await tableDigest(first.client, table));
  });

  it('keeps foreign keys whole and gives every evaluation its eight agents', async () => {
    expect(
      await count(first.client, 'SELECT count(*) AS n FROM business_ideas i LEFT JOIN users u ON u.id = i.user_id WHERE u.id IS NULL'),
    ).toBe(0);
    expect(
      await count(
        first.client,
        'SELECT count(*) AS n FROM evaluations e LEFT JOIN business_ideas i ON i.id = e.business_idea_id WHERE i.id IS NULL',
      ),
    ).toBe(0);
    expect(
      await count(
        first.client,
        'SELECT count(*) AS n FROM agent_results a LEFT JOIN evaluations e ON e.id = a.evaluation_id WHERE e.id IS NULL',
      ),
    ).toBe(0);
    expect(
      await count(
        first.client,
        'SELECT count(*) AS n FROM (SELECT evaluation_id FROM agent_results GROUP BY 1 HAVING count(DISTINCT agent_type) <> 8) x',
      ),
    ).toBe(0);
  });

  it('represents every status and priority', async () => {
    const values = async (query: string): Promise<string[]> => (await first.client.query<{ v: string }>(query)).rows.map((r) => r.v).sort();
    expect(await values('SELECT DISTINCT status::text AS v FROM business_ideas')).toEqual([
      'archived',
      'completed',
      'draft',
      'evaluating',
      'submitted',
    ]);
    expect(await values('SELECT DISTINCT status::text AS v FROM evaluations')).toEqual([
      'analyzing',
      'completed',
      'dead',
      'failed',
      'pending',
    ]);
    expect(await values('SELECT DISTINCT priority::text AS v FROM evaluations')).toEqual(['high', 'low', 'normal']);
    expect(await values('SELECT DISTINCT status::text AS v FROM agent_results')).toEqual(['completed', 'failed', 'pending', 'running']);
  });

  it('passes the seed validation checks', async () => {
    const database = createDatabase({ connectionString: first.testDatabase.url, env: {}, pool: { max: 2 } });
    try {
      const report = await runChecks(database.db, { everyStatus: true });
      expect(report.results.filter((r) => !r.ok)).toEqual([]);
      expect(report.ok).toBe(true);
    } finally {
      await database.close();
    }
  });

  it('leaves the audit and updated_at triggers working for normal use', async () => {
    const enabled = await first.client.query<{ tgname: string; tgenabled: string }>(
      `SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY($1) ORDER BY 1`,
      [[...TABLES]],
    );
    // 8 audit, 4 updated_at, 2 queue wake-ups (evaluations_queued, evaluations_requeued).
    expect(enabled.rows).toHaveLength(14);
    expect(enabled.rows.filter((r) => r.tgenabled !== 'O')).toEqual([]);

    const { rows } = await first.client.query<{ id: string; updated_at: Date }>(
      'SELECT id, updated_at FROM business_ideas ORDER BY id LIMIT 1',
    );
    const idea = rows[0];
    if (!idea) throw new Error('no idea loaded');
    await first.client.query(`UPDATE business_ideas SET title = 'Renamed after the load' WHERE id = $1`, [idea.id]);
    const after = await first.client.query<{ updated_at: Date }>('SELECT updated_at FROM business_ideas WHERE id = $1', [idea.id]);
    expect(after.rows[0]?.updated_at.getTime()).toBeGreaterThan(idea.updated_at.getTime());
    const audit = await first.client.query<{ operation: string; row_id: string }>('SELECT operation::text, row_id FROM audit_log');
    expect(audit.rows).toEqual([{ operation: 'update', row_id: idea.id }]);
  });

  it('refuses a second load into the same database and changes nothing', async () => {
    const before = await tableDigest(second.client, 'agent_results');
    const error = await loadLoadSet(second.client, { scale: SCALE }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SeedError);
    expect((error as SeedError).code).toBe('SEED_CONFLICT');
    expect((error as SeedError).message).toMatch(/loading users: rows with the load set's ids are already there.*db:clean/);
    expect(await count(second.client, 'SELECT count(*) AS n FROM users')).toBe(5);
    expect(await tableDigest(second.client, 'agent_results')).toBe(before);
    // The rollback restored the triggers the load had switched off.
    expect(await count(second.client, `SELECT count(*) AS n FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'`)).toBe(0);
    expect((await second.client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });
});

describe('failures roll the whole load back', () => {
  let testDatabase: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    client = new pg.Client(pgConfig(testDatabase.connection));
    await client.connect();
  });

  afterAll(async () => {
    await client?.end().catch(() => undefined);
    await testDatabase?.drop();
  });

  const totalRows = async (): Promise<number> =>
    count(
      client,
      `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM business_ideas) + (SELECT count(*) FROM evaluations) + (SELECT count(*) FROM agent_results) AS n`,
    );

  it('an abort midway leaves no rows and the triggers on', async () => {
    const controller = new AbortController();
    let ticks = 0;
    const progress = {
      start() {},
      tick() {
        // Abort midway through business_ideas (4 KiB chunks of about 4 ideas; users are in).
        if (++ticks === 8) controller.abort(new Error('stopped by the test'));
      },
      done() {},
    };
    await expect(loadLoadSet(client, { scale: SCALE, progress, signal: controller.signal, chunkBytes: 4_096 })).rejects.toThrow(
      /^stopped by the test$/,
    );
    expect(ticks).toBe(8);
    expect(await totalRows()).toBe(0);
    expect(await count(client, `SELECT count(*) AS n FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'`)).toBe(0);
  });

  it('a violated constraint in the last table names it and leaves no rows in any table', async () => {
    // The parents are in by the time agent_results fails: they must go too.
    await client.query(`ALTER TABLE agent_results ADD CONSTRAINT test_no_deep CHECK (input_data->'parameters'->>'depth' <> 'deep')`);
    try {
      const error = await loadLoadSet(client, { scale: SCALE }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SeedError);
      expect((error as SeedError).code).toBe('SEED_LOAD_FAILED');
      expect((error as SeedError).message).toMatch(/^loading agent_results failed: .*test_no_deep/);
      expect(await totalRows()).toBe(0);
    } finally {
      await client.query('ALTER TABLE agent_results DROP CONSTRAINT test_no_deep');
    }
  });
});

describe('the load set through the seed runner', () => {
  let testDatabase: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    database = createDatabase({ connectionString: testDatabase.url, env: {}, pool: { max: 3 } });
  });

  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('loads once, records the scale and checksum, passes the checks, and skips a second run', async () => {
    const outcome = await runSeedSet(database, loadSet, { scale: SCALE });
    expect(outcome.status).toBe('applied');
    expect(outcome.rows).toEqual(loadCounts(SCALE));
    expect(outcome.checks?.ok).toBe(true);
    const history = await database.db.selectFrom('seedHistory').select(['setName', 'scale', 'checksum']).execute();
    expect(history).toEqual([{ setName: 'load', scale: SCALE, checksum: outcome.checksum }]);
    expect(outcome.checksum).toMatch(/^[0-9a-f]{64}$/);

    const again = await runSeedSet(database, loadSet, { scale: SCALE });
    expect(again.status).toBe('skipped');
  });

  it('refuses a scale outside the load set range with a clear message', async () => {
    const error = await runSeedSet(database, loadSet, { scale: 0.001, force: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SeedError);
    expect((error as SeedError).message).toMatch(/load set scale must be a number from 0.005 to 1000/);
  });
});

describe('a loading role that does not own the tables', () => {
  let testDatabase: TestDatabase;
  let client: pg.Client;
  const role = `dl_load_nonowner_${Math.random().toString(16).slice(2, 10)}`;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    client = new pg.Client(pgConfig(testDatabase.connection));
    await client.connect();
    // BYPASSRLS: row-level security refuses COPY FROM for roles it applies to; the point here is ownership.
    await client.query(`CREATE ROLE ${role} NOLOGIN BYPASSRLS`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await client.query(`GRANT SELECT, INSERT ON users, business_ideas, evaluations, agent_results TO ${role}`);
    await client.query(`SET ROLE ${role}`);
  });

  afterAll(async () => {
    await client?.query('RESET ROLE').catch(() => undefined);
    await client?.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    await client?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await client?.end().catch(() => undefined);
    await testDatabase?.drop();
  });

  it("fails under auditTriggers: 'disable', naming the tables, and writes nothing", async () => {
    const error = await loadLoadSet(client, { scale: SCALE, auditTriggers: 'disable' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SeedError);
    expect((error as SeedError).code).toBe('SEED_TRIGGERS');
    expect((error as SeedError).message).toMatch(/agent_results, business_ideas, evaluations, users are not owned by the loading role/);
    expect(await count(client, 'SELECT count(*) AS n FROM users')).toBe(0);
  });

  it("keeps the triggers under 'auto', with a warning, and every row is audited", async () => {
    const warnings: string[] = [];
    const logger = { error() {}, info() {}, debug() {}, warn: (_: object, msg?: string) => void warnings.push(msg ?? '') };
    const result = await loadLoadSet(client, { scale: SCALE, logger });
    expect(result.auditTriggers).toBe('kept');
    expect(warnings).toEqual([expect.stringMatching(/cannot be switched off: every loaded row is audited/)]);
    await client.query('RESET ROLE');
    expect(await count(client, `SELECT count(*) AS n FROM audit_log WHERE operation = 'insert'`)).toBe(5 + 50 + 100 + 800);
  });
});
