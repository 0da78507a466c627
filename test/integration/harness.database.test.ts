/**
 * The per-file databases of the test harness: clones carry the migrated schema, are isolated from
 * each other, and are really gone after drop(); the template itself cannot be connected to.
 */
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { pgConfig } from '../../scripts/lib/server.js';
import { defaultMigrationsDir } from '../../src/migrate/index.js';
import { adminConnection, createTestDatabase, useTestDatabase, type TestDatabase } from '../support/database.js';

const created: TestDatabase[] = [];
afterAll(async () => {
  for (const database of created) await database.drop();
});

async function create(options?: { migrated?: boolean }): Promise<TestDatabase> {
  const database = await createTestDatabase(options);
  created.push(database);
  return database;
}

async function query<R extends pg.QueryResultRow>(database: TestDatabase, text: string, values?: unknown[]): Promise<R[]> {
  const client = new pg.Client(pgConfig(database.connection));
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function exists(name: string): Promise<boolean> {
  const client = new pg.Client(pgConfig(adminConnection()));
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

const tablesSql = `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`;
const insertUser = `INSERT INTO users (email, password_hash, name) VALUES ($1, 'scrypt$x', 'Test User')`;

describe('createTestDatabase', () => {
  it('clones the migrated template: every table and every migration in the ledger', async () => {
    const database = await create();
    const tables = (await query<{ tablename: string }>(database, tablesSql)).map((r) => r.tablename);
    expect(tables).toEqual(['agent_results', 'audit_log', 'business_ideas', 'evaluations', 'schema_migrations', 'seed_history', 'users']);
    const files = readdirSync(defaultMigrationsDir())
      .filter((f) => /^\d{14}_.+\.sql$/.test(f))
      .map((f) => f.replace(/\.sql$/, ''));
    const ledger = (await query<{ name: string }>(database, 'SELECT name FROM schema_migrations ORDER BY name')).map((r) => r.name);
    expect(ledger.map((n) => n.replace(/\.sql$/, ''))).toEqual(files.sort());
  });

  it('gives an empty database with { migrated: false }', async () => {
    const database = await create({ migrated: false });
    expect(await query(database, tablesSql)).toEqual([]);
  });

  it('isolates databases from each other', async () => {
    const [a, b] = await Promise.all([create(), create()]);
    expect(a.name).not.toBe(b.name);
    await query(a, insertUser, ['only-in-a@example.com']);
    expect(await query(a, 'SELECT email FROM users')).toEqual([{ email: 'only-in-a@example.com' }]);
    expect(await query(b, 'SELECT email FROM users')).toEqual([]);
    // The template is untouched, so a later clone starts empty too.
    const c = await create();
    expect(await query(c, 'SELECT email FROM users')).toEqual([]);
  });

  it('names every database after this run, and exposes a URL that works', async () => {
    const database = await create();
    expect(database.name.startsWith(`dl_t_${inject('dlRunId')}_`)).toBe(true);
    expect(database.url).toMatch(new RegExp(`/${database.name}$`));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      expect((await client.query('SELECT current_database() AS db')).rows).toEqual([{ db: database.name }]);
    } finally {
      await client.end();
    }
  });

  it('drop() removes the database, cuts open sessions, and is idempotent', async () => {
    const database = await create();
    const session = new pg.Client(pgConfig(database.connection));
    session.on('error', () => undefined); // the forced drop terminates it
    await session.connect();
    await database.drop();
    expect(await exists(database.name)).toBe(false);
    await expect(query(database, 'SELECT 1')).rejects.toMatchObject({ code: '3D000' });
    await database.drop();
    await session.end().catch(() => undefined);
  });

  it('keeps the template closed to connections, so clones are never blocked', async () => {
    const template = inject('dlTemplate');
    const client = new pg.Client({ ...pgConfig(adminConnection()), database: template });
    await expect(client.connect()).rejects.toThrow(/not currently accepting connections/);
  });
});

describe('useTestDatabase', () => {
  const t = useTestDatabase();

  it('gives the file a migrated database and a working Kysely handle', async () => {
    const inserted = await t.db
      .insertInto('users')
      .values({ email: 'kysely@example.com', passwordHash: 'scrypt$x', name: 'Kysely' })
      .returning(['id', 'email'])
      .executeTakeFirstOrThrow();
    expect(inserted.email).toBe('kysely@example.com');
    expect(t.testDatabase.name.startsWith('dl_t_')).toBe(true);
    expect(t.database.pool.options.max).toBe(4);
  });
});
