/**
 * The real migrations/ folder: every migration reverts exactly what it applied, down to 0 leaves
 * only the ledger, up again gives an identical schema, and later migrations keep existing data.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultMigrationsDir } from '../../src/migrate/index.js';
import { catalogSnapshot, type CatalogSnapshot } from '../support/catalog.js';
import { appliedNames, createScratchDatabase, migrationsDir, sql, type ScratchDatabase } from './support.js';

const DIR = defaultMigrationsDir();
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => f.slice(0, -4));

let db: ScratchDatabase;
beforeEach(async () => {
  db = await createScratchDatabase();
});
afterEach(async () => {
  await db.drop();
});

/** A database holding nothing but an empty ledger: what down --to 0 must leave. */
async function ledgerOnlySnapshot(): Promise<CatalogSnapshot> {
  const empty = await createScratchDatabase();
  const dir = migrationsDir();
  try {
    await empty.migrator(dir.path).up(); // creates the ledger, applies nothing
    return await catalogSnapshot(empty.connection);
  } finally {
    dir.cleanup();
    await empty.drop();
  }
}

describe('the migrations in migrations/', () => {
  it('are at least two files, so ordering across files is exercised', () => {
    expect(NAMES.length).toBeGreaterThanOrEqual(2);
  });

  it('round-trip: up, down to 0 leaves only the ledger, up again gives an identical catalog', async () => {
    const migrator = db.migrator(DIR);
    await migrator.up();
    expect(await appliedNames(db)).toEqual(NAMES);
    const first = await catalogSnapshot(db.connection);
    expect(first.relations).toEqual(
      // Row-level security since 20261125110000 (users stays outside it).
      expect.arrayContaining([
        'public.users table',
        'public.business_ideas table rls',
        'public.evaluations table rls',
        'public.agent_results table rls',
      ]),
    );

    await migrator.down({ to: 0 });
    expect(await appliedNames(db)).toEqual([]);
    expect(await catalogSnapshot(db.connection)).toEqual(await ledgerOnlySnapshot());

    await migrator.up();
    expect(await catalogSnapshot(db.connection)).toEqual(first);
  });

  it('would catch a down section that leaves an object behind', async () => {
    const dir = migrationsDir();
    try {
      cpSync(DIR, dir.path, { recursive: true });
      const [first] = readdirSync(dir.path)
        .filter((f) => f.endsWith('.sql'))
        .sort();
      const path = join(dir.path, first!);
      const original = readFileSync(path, 'utf8');
      const down = original.indexOf('-- migrate:down');
      const edited = original.slice(0, down) + original.slice(down).replace(/^DROP FUNCTION [^;]+;$/m, '-- (forgotten)');
      expect(edited).not.toBe(original);
      writeFileSync(path, edited);
      await db.migrator(dir.path).up();
      await db.migrator(dir.path).down({ to: 0 });
      const leftover = await catalogSnapshot(db.connection);
      const expected = await ledgerOnlySnapshot();
      expect(leftover).not.toEqual(expected);
      expect(leftover.functions.length).toBe(expected.functions.length + 1);
    } finally {
      dir.cleanup();
    }
  });

  it('each migration on its own: up, down restores the catalog before it, up again gives the same catalog', async () => {
    const migrator = db.migrator(DIR);
    let before = await catalogSnapshot(db.connection);
    for (const [i, name] of NAMES.entries()) {
      expect((await migrator.up({ step: 1 })).map((r) => r.name)).toEqual([name]);
      const applied = await catalogSnapshot(db.connection);
      expect((await migrator.down()).map((r) => r.name)).toEqual([name]);
      const reverted = await catalogSnapshot(db.connection);
      // Before the first migration the ledger did not exist yet; compare everything else.
      if (i === 0)
        expect(withoutLedger(reverted), `${name}.sql: its down does not restore the catalog before it`).toEqual(withoutLedger(before));
      else expect(reverted, `${name}.sql: its down does not restore the catalog before it`).toEqual(before);
      expect((await migrator.up({ step: 1 })).map((r) => r.name)).toEqual([name]);
      expect(await catalogSnapshot(db.connection), `${name}.sql: applied again, it gives another catalog`).toEqual(applied);
      before = applied;
    }
  });

  it('a later migration keeps the rows that are already there', async () => {
    const [first] = NAMES;
    await db.migrator(DIR).up({ to: first! });
    await db.query(`
      INSERT INTO users (id, email, password_hash, name)
      VALUES ('00000000-0000-4000-8000-000000000001', 'ada@example.com', 'argon2id$hash', 'Ada');
      INSERT INTO business_ideas (id, user_id, title, description, status)
      VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001',
              'Solar kiosks', repeat('A realistic description of a business idea. ', 3), 'submitted');
      INSERT INTO evaluations (business_idea_id, priority)
      VALUES ('00000000-0000-4000-8000-000000000002', 'high');`);
    const before = await rowsOf(db);

    // The rest of the real migrations, then a new one on top (as a team would add it).
    const dir = migrationsDir();
    try {
      cpSync(DIR, dir.path, { recursive: true });
      dir.write({
        '20991231000000_add_user_nickname.sql': sql(
          "ALTER TABLE users ADD COLUMN nickname text NOT NULL DEFAULT '';",
          'ALTER TABLE users DROP COLUMN nickname;',
        ),
      });
      const applied = await db.migrator(dir.path).up();
      expect(applied.map((r) => r.name)).toEqual([...NAMES.slice(1), '20991231000000_add_user_nickname']);
      expect(await rowsOf(db)).toEqual(before);
      expect(await db.query('SELECT nickname FROM users')).toEqual([{ nickname: '' }]);

      await db.migrator(dir.path).down();
      expect(await rowsOf(db)).toEqual(before);
    } finally {
      dir.cleanup();
    }
  });
});

function withoutLedger(snapshot: CatalogSnapshot): CatalogSnapshot {
  const drop = (items: string[]) => items.filter((s) => !s.includes('schema_migrations'));
  return Object.fromEntries(Object.entries(snapshot).map(([k, v]) => [k, drop(v)])) as unknown as CatalogSnapshot;
}

async function rowsOf(db: ScratchDatabase): Promise<unknown> {
  return {
    users: await db.query('SELECT id, email, password_hash, name, created_at, updated_at, deleted_at FROM users ORDER BY id'),
    ideas: await db.query('SELECT id, user_id, title, description, status, created_at, updated_at FROM business_ideas ORDER BY id'),
    evaluations: await db.query('SELECT id, business_idea_id, status, priority, created_at FROM evaluations ORDER BY id'),
  };
}
