/**
 * Determinism: the dev set loaded into two fresh databases gives identical rows in every table.
 * Only what the database itself stamps at write time is left out: audit_log's id, txid and
 * changed_at, and seed_history's id, applied_at and duration_ms.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devSet } from '../../seeds/dev.js';
import { runSeedSet, type SeedOutcome } from '../../seeds/runner.js';
import { createDatabase } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const VOLATILE: Record<string, string[]> = { audit_log: ['id', 'txid', 'changed_at'], seed_history: ['id', 'applied_at', 'duration_ms'] };

async function dump(url: string): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY 1`,
    );
    const out: Record<string, unknown[]> = {};
    for (const { name } of tables.rows) {
      const drop = (VOLATILE[name] ?? []).map((c) => ` - '${c}'`).join('');
      const { rows } = await client.query<{ row: unknown }>(`SELECT to_jsonb(t)${drop} AS row FROM public."${name}" t ORDER BY 1`);
      out[name] = rows.map((r) => r.row);
    }
    return out;
  } finally {
    await client.end();
  }
}

describe('the dev set is deterministic', () => {
  const databases: TestDatabase[] = [];
  const outcomes: SeedOutcome[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const testDatabase = await createTestDatabase();
      databases.push(testDatabase);
      const database = createDatabase({ connectionString: testDatabase.url, env: {}, pool: { max: 2 } });
      try {
        outcomes.push(await runSeedSet(database, devSet, { checks: false }));
      } finally {
        await database.close();
      }
    }
  });
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.drop()));
  });

  it('two runs into two fresh databases give identical rows in every table', async () => {
    const [a, b] = [await dump(databases[0]!.url), await dump(databases[1]!.url)];
    expect(Object.keys(a)).toEqual(
      expect.arrayContaining(['users', 'business_ideas', 'evaluations', 'agent_results', 'audit_log', 'seed_history']),
    );
    expect(a.agent_results).toHaveLength(26);
    expect(a.audit_log!.length).toBeGreaterThanOrEqual(45);
    expect(b).toEqual(a);
  });

  it('records the same checksum both times', () => {
    expect(outcomes[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(outcomes[1]?.checksum).toBe(outcomes[0]?.checksum);
  });
});
