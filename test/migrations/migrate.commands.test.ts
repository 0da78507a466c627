/** up / down / redo / to / step / status / dry run, on small synthetic migrations. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
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
const files = {
  [`${A}.sql`]: sql('CREATE TABLE a (id int);', 'DROP TABLE a;'),
  [`${B}.sql`]: sql('CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);', 'DROP TABLE b;'),
  [`${C}.sql`]: sql('CREATE TABLE c (id int);', 'DROP TABLE c;'),
};

let db: ScratchDatabase;
let dir: MigrationsDir;
beforeEach(async () => {
  db = await createScratchDatabase();
  dir = migrationsDir(files);
});
afterEach(async () => {
  await db.drop();
  dir.cleanup();
});

describe('up', () => {
  it('applies every pending migration in order, records each in the ledger, and is idempotent', async () => {
    const results = await db.migrator(dir.path).up();
    expect(results.map((r) => [r.name, r.direction])).toEqual([
      [A, 'up'],
      [B, 'up'],
      [C, 'up'],
    ]);
    for (const r of results) expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(await tables(db)).toEqual(['a', 'b', 'c', 'schema_migrations']);
    const ledger = await db.query<{ name: string; checksum: string; applied_at: Date; execution_ms: number }>(
      'SELECT * FROM schema_migrations ORDER BY name',
    );
    expect(ledger.map((r) => r.name)).toEqual([A, B, C]);
    for (const row of ledger) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.applied_at).toBeInstanceOf(Date);
      expect(row.execution_ms).toBeGreaterThanOrEqual(0);
    }
    expect(await db.migrator(dir.path).up()).toEqual([]);
  });

  it('stops at "to" (full file name, name, or timestamp) and takes "step"', async () => {
    expect((await db.migrator(dir.path).up({ to: `${A}.sql` })).map((r) => r.name)).toEqual([A]);
    expect((await db.migrator(dir.path).up({ to: '20260102000000' })).map((r) => r.name)).toEqual([B]);
    expect(await db.migrator(dir.path).up({ to: A })).toEqual([]); // already applied: nothing to do
    expect((await db.migrator(dir.path).up({ step: 5 })).map((r) => r.name)).toEqual([C]);
  });

  it('applies only "step" migrations', async () => {
    expect((await db.migrator(dir.path).up({ step: 2 })).map((r) => r.name)).toEqual([A, B]);
    expect(await appliedNames(db)).toEqual([A, B]);
  });

  it('rejects an unknown "to", a bad step, and to with step, touching nothing', async () => {
    const unknown = await rejection(db.migrator(dir.path).up({ to: '20991231000000' }));
    expect(unknown).toBeInstanceOf(MigrationError);
    expect(unknown.message).toContain('no migration named "20991231000000"');
    expect((await rejection(db.migrator(dir.path).up({ to: 'create_a' }))).message).toContain('give a file name or its 14-digit timestamp');
    expect((await rejection(db.migrator(dir.path).up({ step: 0 }))).message).toContain('step must be a whole number of 1 or more');
    expect((await rejection(db.migrator(dir.path).up({ to: A, step: 1 }))).message).toContain('either "to" or "step"');
    expect(await appliedNames(db)).toEqual([]);
  });

  it('reports progress through the logger', async () => {
    const lines: string[] = [];
    const logger: Logger = { info: (_o, msg) => lines.push(msg ?? ''), warn: () => {}, error: () => {}, debug: () => {} };
    await db.migrator(dir.path, { logger }).up({ step: 1 });
    await db.migrator(dir.path, { logger }).down();
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`applying ${A}`);
    expect(lines[1]).toMatch(new RegExp(`^applied ${A} \\(\\d+ ms\\)$`));
    expect(lines[2]).toBe(`reverting ${A}`);
    expect(lines[3]).toMatch(new RegExp(`^reverted ${A} \\(\\d+ ms\\)$`));
  });
});

describe('down', () => {
  beforeEach(async () => {
    await db.migrator(dir.path).up();
  });

  it('reverts only the last migration by default', async () => {
    const results = await db.migrator(dir.path).down();
    expect(results.map((r) => [r.name, r.direction])).toEqual([[C, 'down']]);
    expect(await tables(db)).toEqual(['a', 'b', 'schema_migrations']);
    expect(await appliedNames(db)).toEqual([A, B]);
  });

  it('reverts down to "to" (which stays applied, mirroring up --to), and the last "step"', async () => {
    expect((await db.migrator(dir.path).down({ to: `${A}.sql` })).map((r) => r.name)).toEqual([C, B]);
    expect(await appliedNames(db)).toEqual([A]);
    expect(await db.migrator(dir.path).down({ to: A })).toEqual([]); // already there
    await db.migrator(dir.path).up();
    expect((await db.migrator(dir.path).down({ to: '20260102000000' })).map((r) => r.name)).toEqual([C]);
    expect(await appliedNames(db)).toEqual([A, B]);
    await db.migrator(dir.path).up();
    expect((await db.migrator(dir.path).down({ step: 2 })).map((r) => r.name)).toEqual([C, B]);
    expect(await appliedNames(db)).toEqual([A]);
  });

  it('reverts everything with to: 0, leaving only the ledger', async () => {
    expect((await db.migrator(dir.path).down({ to: 0 })).map((r) => r.name)).toEqual([C, B, A]);
    expect(await tables(db)).toEqual(['schema_migrations']);
    expect(await appliedNames(db)).toEqual([]);
    expect(await db.migrator(dir.path).down()).toEqual([]);
  });

  it('refuses to revert an irreversible migration (no or empty down section) and reverts nothing', async () => {
    dir.write({ '20260104000000_irreversible.sql': sql('CREATE TABLE d (id int);', '-- cannot be undone') });
    await db.migrator(dir.path).up();
    const error = await rejection(db.migrator(dir.path).down({ step: 2 }));
    expect(error.code).toBe('MIGRATION_IRREVERSIBLE');
    expect(error.message).toContain('20260104000000_irreversible.sql: cannot revert');
    expect(error.file).toBe('20260104000000_irreversible.sql');
    expect(await appliedNames(db)).toEqual([A, B, C, '20260104000000_irreversible']);
    expect(await tables(db)).toContain('d');
  });
});

describe('redo', () => {
  it('reverts and re-applies the last migration', async () => {
    await db.migrator(dir.path).up();
    await db.query('INSERT INTO c VALUES (42)');
    const results = await db.migrator(dir.path).redo();
    expect(results.map((r) => [r.name, r.direction])).toEqual([
      [C, 'down'],
      [C, 'up'],
    ]);
    expect(await db.query('SELECT * FROM c')).toEqual([]); // recreated empty
    expect(await appliedNames(db)).toEqual([A, B, C]);
  });

  it('does nothing when nothing is applied', async () => {
    expect(await db.migrator(dir.path).redo()).toEqual([]);
  });
});

describe('status', () => {
  it('reports pending on a fresh database without creating the ledger', async () => {
    const status = await db.migrator(dir.path).status();
    expect(status.map((s) => [s.name, s.state])).toEqual([
      [A, 'pending'],
      [B, 'pending'],
      [C, 'pending'],
    ]);
    expect(status[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await tables(db)).toEqual([]);
  });

  it('reports applied, pending, changed and missing', async () => {
    await db.migrator(dir.path).up({ step: 2 });
    dir.write({ [`${A}.sql`]: sql('CREATE TABLE a (id bigint);', 'DROP TABLE a;') });
    dir.remove(`${B}.sql`);
    const status = await db.migrator(dir.path).status();
    expect(status.map((s) => [s.name, s.state])).toEqual([
      [A, 'changed'],
      [B, 'missing'],
      [C, 'pending'],
    ]);
    const applied = status.find((s) => s.name === A);
    expect(applied?.appliedAt).toBeInstanceOf(Date);
    expect(applied?.executionMs).toBeGreaterThanOrEqual(0);
  });
});

describe('dry run', () => {
  it('returns the SQL that would run and touches nothing (not even the ledger table)', async () => {
    const results = await db.migrator(dir.path).up({ dryRun: true });
    expect(results.map((r) => r.name)).toEqual([A, B, C]);
    const b = results[1]?.sql ?? '';
    expect(b).toContain(`-- ${B}.sql (up)`);
    expect(b).toContain('BEGIN;');
    expect(b).toContain("SET LOCAL lock_timeout = '2000ms';");
    expect(b).toContain('CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);');
    expect(b).toContain(`INSERT INTO public.schema_migrations (name, checksum, applied_at, execution_ms) VALUES ('${B}'`);
    expect(b.trimEnd().endsWith('COMMIT;')).toBe(true);
    expect(await tables(db)).toEqual([]);
    // This database only: other test files on the same server take advisory locks of their own.
    const locks = await db.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(locks).toEqual([]);
  });

  it('previews down and redo without reverting', async () => {
    await db.migrator(dir.path).up();
    const down = await db.migrator(dir.path).down({ to: 0, dryRun: true });
    expect(down.map((r) => [r.name, r.direction])).toEqual([
      [C, 'down'],
      [B, 'down'],
      [A, 'down'],
    ]);
    expect(down[0]?.sql).toContain(`DROP TABLE c;\nDELETE FROM public.schema_migrations WHERE name = '${C}';`);
    const redo = await db.migrator(dir.path).redo({ dryRun: true });
    expect(redo.map((r) => r.direction)).toEqual(['down', 'up']);
    expect(await appliedNames(db)).toEqual([A, B, C]);
    expect(await tables(db)).toEqual(['a', 'b', 'c', 'schema_migrations']);
  });
});
