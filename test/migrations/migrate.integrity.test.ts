/** Edited, missing, out-of-order and malformed files stop the run before anything runs. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationError } from '../../src/errors.js';
import {
  appliedNames,
  createScratchDatabase,
  migrationsDir,
  rejection,
  sql,
  tables,
  type MigrationsDir,
  type ScratchDatabase,
} from './support.js';

const A = '20260101000000_create_a';
const B = '20260102000000_create_b';
const C = '20260103000000_create_c';
const PENDING = '20260104000000_create_d';

let db: ScratchDatabase;
let dir: MigrationsDir;
beforeEach(async () => {
  db = await createScratchDatabase();
  dir = migrationsDir({
    [`${A}.sql`]: sql('CREATE TABLE a (id int);', 'DROP TABLE a;'),
    [`${C}.sql`]: sql('CREATE TABLE c (id int);', 'DROP TABLE c;'),
  });
  await db.migrator(dir.path).up();
  dir.write({ [`${PENDING}.sql`]: sql('CREATE TABLE d (id int);', 'DROP TABLE d;') });
});
afterEach(async () => {
  await db.drop();
  dir.cleanup();
});

/** Nothing ran: d (pending) was not created and the ledger is as before. */
async function expectUntouched(): Promise<void> {
  expect(await tables(db)).toEqual(['a', 'c', 'schema_migrations']);
  expect(await appliedNames(db)).toEqual([A, C]);
}

describe('integrity checks', () => {
  it('refuse an applied file that was edited, naming it, for up and down alike', async () => {
    dir.write({ [`${A}.sql`]: sql('CREATE TABLE a (id bigint);', 'DROP TABLE a;') });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.code).toBe('MIGRATION_INTEGRITY');
    expect(error.file).toBe(`${A}.sql`);
    expect(error.message).toContain(`${A}.sql was edited after it was applied`);
    expect(error.message).toContain('nothing was run');
    await expectUntouched();
    expect((await rejection(db.migrator(dir.path).down())).message).toContain(`${A}.sql was edited`);
    await expectUntouched();
  });

  it('accept a file whose only change is CRLF line endings', async () => {
    const path = join(dir.path, `${A}.sql`);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\n/g, '\r\n'));
    expect((await db.migrator(dir.path).status()).find((s) => s.name === A)?.state).toBe('applied');
    expect((await db.migrator(dir.path).up()).map((r) => r.name)).toEqual([PENDING]);
  });

  it('refuse an applied file that is missing, naming it', async () => {
    dir.remove(`${A}.sql`);
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.code).toBe('MIGRATION_INTEGRITY');
    expect(error.file).toBe(`${A}.sql`);
    expect(error.message).toContain(`${A}.sql was applied (`);
    expect(error.message).toContain('but the file is missing');
    await expectUntouched();
  });

  it('refuse a pending file that sorts before the newest applied one, unless allowed', async () => {
    dir.write({ [`${B}.sql`]: sql('CREATE TABLE b (id int);', 'DROP TABLE b;') });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.code).toBe('MIGRATION_INTEGRITY');
    expect(error.file).toBe(`${B}.sql`);
    expect(error.message).toContain(`${B}.sql is pending but sorts before ${C}, which is already applied`);
    expect(error.message).toContain('--allow-out-of-order');
    await expectUntouched();

    // Reverting is not blocked by an out-of-order file: it is the way to put things in order.
    expect((await db.migrator(dir.path).down({ dryRun: true })).map((r) => r.name)).toEqual([C]);

    const applied = await db.migrator(dir.path, { allowOutOfOrder: true }).up();
    expect(applied.map((r) => r.name)).toEqual([B, PENDING]);
    expect(await appliedNames(db)).toEqual([A, B, C, PENDING]);
  });

  it('list every problem at once', async () => {
    dir.write({ [`${A}.sql`]: sql('SELECT 1;', 'SELECT 1;'), [`${B}.sql`]: sql('SELECT 2;', 'SELECT 2;') });
    dir.remove(`${C}.sql`);
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.message).toContain(`${A}.sql was edited`);
    expect(error.message).toContain(`${C}.sql was applied`);
    expect(error.message).toContain(`${B}.sql is pending but sorts before ${C}`);
    expect(error.file).toBe(`${A}.sql`);
  });

  it('refuse to run anything when any file cannot be parsed, before connecting', async () => {
    dir.write({ '20260105000000_broken.sql': "-- migrate:up\nSELECT 'unterminated;\n" });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.file).toBe('20260105000000_broken.sql');
    expect(error.message).toContain('20260105000000_broken.sql: cannot parse the up section: unterminated quoted string (line 2)');
    await expectUntouched();
  });

  it('are reported by status as changed and missing rather than thrown', async () => {
    dir.write({ [`${A}.sql`]: sql('CREATE TABLE a (id bigint);', 'DROP TABLE a;') });
    dir.remove(`${C}.sql`);
    expect((await db.migrator(dir.path).status()).map((s) => [s.name, s.state])).toEqual([
      [A, 'changed'],
      [C, 'missing'],
      [PENDING, 'pending'],
    ]);
  });

  it('refuse a schema_migrations table made by another tool, saying so', async () => {
    const other = await createScratchDatabase();
    try {
      // Another tool's ledger (a dbmate one, schema_migrations(version), is converted: migrate.baseline.test.ts).
      await other.query('CREATE TABLE schema_migrations (id serial PRIMARY KEY, migration text, batch integer)');
      const error = await rejection(other.migrator(dir.path).up());
      expect(error.code).toBe('MIGRATION_LEDGER');
      expect(error.message).toContain("public.schema_migrations exists but is not this runner's ledger");
      expect((await rejection(other.migrator(dir.path).status())).code).toBe('MIGRATION_LEDGER');
    } finally {
      await other.drop();
    }
  });
});
