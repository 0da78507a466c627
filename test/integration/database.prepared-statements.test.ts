/**
 * Named prepared statements (src/db/statements.ts): reused per connection, bounded per
 * connection, off when asked, and correct after a migration changes a table under them.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { statementName } from '../../src/db/statements.js';
import { parseConnectionUrl } from '../../src/config.js';
import { createMigrator, defaultMigrationsDir } from '../../src/migrate/index.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import { useTestDatabase } from '../support/database.js';
import { createTestAgentResult, createTestEvaluation, createTestIdea, createTestUser } from '../support/factories.js';

const t = useTestDatabase();
const opened: Database[] = [];
afterAll(() => Promise.all(opened.map((database) => database.close())));

/** A handle of one connection, so every query meets the same session. */
function single(pool: { preparedStatements?: boolean; preparedStatementsMax?: number } = {}): Database {
  const database = createDatabase({ connectionString: t.testDatabase.url, env: {}, pool: { max: 1, ...pool } });
  opened.push(database);
  return database;
}

interface Prepared {
  name: string;
  statement: string;
  executions: number;
}

/** The session's named statements (this query is one of them). */
async function preparedOf(database: Database): Promise<Prepared[]> {
  const { rows } = await sql<Prepared>`
    SELECT name, statement, (generic_plans + custom_plans)::int AS executions
      FROM pg_prepared_statements WHERE from_sql = false ORDER BY prepare_time`.execute(database.db);
  return rows;
}

const nameOfQuery = (database: Database, build: (db: Database['db']) => { compile(): { sql: string } }) =>
  statementName(build(database.db).compile().sql);

describe('named prepared statements', () => {
  it('prepare each repository query once per connection and reuse it', async () => {
    const database = single();
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id);
    for (let i = 0; i < 12; i++) expect((await businessIdeas.getIdea(database.owner, idea.id)).id).toBe(idea.id);
    const mine = (await preparedOf(database)).filter((p) => p.statement.includes('from "business_ideas"'));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.name).toMatch(/^dl_[A-Za-z0-9_-]{32}$/);
    expect(mine[0]!.executions).toBe(12);
  });

  it('keep at most preparedStatementsMax per connection under a stream of distinct queries', async () => {
    const database = single({ preparedStatementsMax: 5 });
    for (let i = 0; i < 60; i++) {
      const { rows } = await sql<{ n: number }>`SELECT ${i}::int + ${sql.lit(i)} AS n`.execute(database.db);
      expect(rows[0]!.n).toBe(2 * i);
    }
    const prepared = await preparedOf(database);
    expect(prepared.length).toBeLessThanOrEqual(5);
    // The most recent stay (the newest one is the listing query itself).
    expect(prepared.map((p) => p.statement)).toContain('SELECT $1::int + 59 AS n');
    expect(prepared.map((p) => p.statement)).not.toContain('SELECT $1::int + 0 AS n');
  });

  it('are not used when preparedStatements is false', async () => {
    const database = single({ preparedStatements: false });
    const user = await createTestUser(t.db);
    await businessIdeas.listIdeasByUser(database.owner, user.id);
    expect(await preparedOf(database)).toEqual([]);
  });

  it('are prepared again after the session lost them (DEALLOCATE ALL)', async () => {
    const database = single();
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id);
    await businessIdeas.getIdea(database.owner, idea.id);
    await sql`DEALLOCATE ALL`.execute(database.db);
    expect((await businessIdeas.getIdea(database.owner, idea.id)).id).toBe(idea.id);
  });
});

describe('a migration that alters a table while a pool holds its prepared statements', () => {
  // The project's migrations, and the test's own after them.
  const dir = mkdtempSync(join(tmpdir(), 'dl-prepared-'));
  cpSync(defaultMigrationsDir(), dir, { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let added = 0;

  /** Applies a migration adding a column to agent_results, so `SELECT *` changes its result type. */
  async function addColumn(): Promise<void> {
    added += 1;
    writeFileSync(
      join(dir, `2099010100000${added}_add_column_${added}.sql`),
      `-- migrate:up\nALTER TABLE agent_results ADD COLUMN prepared_test_${added} integer;\n\n-- migrate:down\nALTER TABLE agent_results DROP COLUMN prepared_test_${added};\n`,
    );
    const migrator = createMigrator({ connection: parseConnectionUrl(t.testDatabase.url), migrationsDir: dir });
    await migrator.up();
  }

  it('is the case that needs handling: a plain named statement fails with 0A000', async () => {
    const client = new pg.Client({ connectionString: t.testDatabase.url });
    await client.connect();
    try {
      const query = { name: 'control', text: 'SELECT * FROM agent_results LIMIT 1' };
      await client.query(query);
      await addColumn();
      await expect(client.query(query)).rejects.toMatchObject({ code: '0A000', message: 'cached plan must not change result type' });
    } finally {
      await client.end();
    }
  });

  it('re-prepares the statement and runs the query once more, outside a transaction', async () => {
    const database = single();
    const result = await createTestAgentResult(
      t.db,
      (await createTestEvaluation(t.db, (await createTestIdea(t.db, (await createTestUser(t.db)).id)).id)).id,
    );
    const read = () => database.db.selectFrom('agentResults').selectAll().where('id', '=', result.id);
    const name = nameOfQuery(database, read);
    expect((await read().executeTakeFirstOrThrow()).id).toBe(result.id);
    const before = (await preparedOf(database)).find((p) => p.name === name);
    expect(before).toBeDefined();
    await addColumn();
    const after = await read().executeTakeFirstOrThrow();
    expect(after).toHaveProperty(`preparedTest${added}`, null);
    // Prepared afresh: its execution count started again.
    expect((await preparedOf(database)).find((p) => p.name === name)?.executions).toBe(1);
    expect((await agentResults.getAgentResult(database.owner, result.id)).id).toBe(result.id);
  });

  it('runs the transaction again inside one, the stale statement closed in the aborted transaction', async () => {
    const database = single();
    const result = await createTestAgentResult(
      t.db,
      (await createTestEvaluation(t.db, (await createTestIdea(t.db, (await createTestUser(t.db)).id)).id)).id,
    );
    const read = (db: Database['db']) => db.selectFrom('agentResults').selectAll().where('id', '=', result.id).executeTakeFirstOrThrow();
    await read(database.db);
    await addColumn();
    let attempts = 0;
    const row = await database.transaction(database.db, async (trx) => {
      attempts += 1;
      return read(trx);
    });
    expect(row.id).toBe(result.id);
    expect(attempts).toBe(2);
  });
});
