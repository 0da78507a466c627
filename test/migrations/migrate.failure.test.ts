/** Failing migrations leave no trace and say exactly what failed; timeouts name who blocked. */
import pg from 'pg';
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
let db: ScratchDatabase;
let dir: MigrationsDir;
beforeEach(async () => {
  db = await createScratchDatabase();
  dir = migrationsDir({ [`${A}.sql`]: sql('CREATE TABLE a (id int PRIMARY KEY);', 'DROP TABLE a;') });
});
afterEach(async () => {
  await db.drop();
  dir.cleanup();
});

describe('a failing migration', () => {
  it('with a syntax error in its 2nd statement leaves no table, no ledger row; earlier files stay applied', async () => {
    const file = '20260102000000_broken.sql';
    dir.write({ [file]: sql('CREATE TABLE b (id int);\n\nCREATE TABEL c (id int);\nCREATE TABLE d (id int);', 'DROP TABLE b;') });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.file).toBe(file);
    expect(error.code).toBe('MIGRATION_FAILED');
    expect(error.message).toContain(`${file} (up) failed at statement 2 of 3, line 4:`);
    expect(error.message).toContain('    CREATE TABEL c (id int)');
    expect(error.message).toContain('PostgreSQL error 42601: syntax error at or near "TABEL"');
    expect(error.message).toContain("Nothing was changed: the migration's transaction was rolled back");
    expect((error.cause as { code?: string }).code).toBe('42601');
    expect(await tables(db)).toEqual(['a', 'schema_migrations']);
    expect(await appliedNames(db)).toEqual([A]);
  });

  it("with a runtime error reports PostgreSQL's detail and the exact line inside a multi-line statement", async () => {
    const file = '20260102000000_dupes.sql';
    dir.write({
      [file]: sql('CREATE TABLE b (id int);\nINSERT INTO a VALUES (1);\nINSERT INTO a\n  VALUES (2),\n         (1);', 'DROP TABLE b;'),
    });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.message).toContain(`${file} (up) failed at statement 3 of 3, line 4:`);
    expect(error.message).toContain('    INSERT INTO a ...');
    expect(error.message).toContain('PostgreSQL error 23505: duplicate key value violates unique constraint "a_pkey"');
    expect(error.message).toContain('detail: Key (id)=(1) already exists.');
    expect(await db.query('SELECT * FROM a')).toEqual([]);
    expect(await tables(db)).toEqual(['a', 'schema_migrations']);
    expect(await appliedNames(db)).toEqual([A]);

    const positioned = '20260102000000_dupes.sql';
    dir.write({ [positioned]: sql('SELECT 1;\nSELECT\n  1,\n  nope;', 'SELECT 1;') });
    const located = await rejection(db.migrator(dir.path).up());
    expect(located.message).toContain('failed at line 5 (statement 2 of 2, starting at line 3):\n    SELECT ...\n    (line 5: nope)');
    expect(located.message).toContain('column "nope" does not exist');
  });

  it('fails on down with no trace either: the ledger row stays and the schema is untouched', async () => {
    const file = '20260102000000_bad_down.sql';
    dir.write({ [file]: sql('CREATE TABLE b (id int);', 'DROP TABLE b;\nDROP TABLE nonexistent;') });
    await db.migrator(dir.path).up();
    const error = await rejection(db.migrator(dir.path).down());
    expect(error.message).toContain(`${file} (down) failed at statement 2 of 2, line 6:`);
    expect(error.message).toContain('table "nonexistent" does not exist');
    expect(await tables(db)).toEqual(['a', 'b', 'schema_migrations']);
    expect(await appliedNames(db)).toEqual([A, '20260102000000_bad_down']);
  });

  it('that violates a deferred constraint fails at COMMIT, naming the file, with nothing left behind', async () => {
    const file = '20260102000000_deferred.sql';
    dir.write({
      [file]: sql(
        'CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE ch (pid int REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO ch VALUES (1);',
        'DROP TABLE ch; DROP TABLE p;',
      ),
    });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.file).toBe(file);
    expect(error.message).toContain(`${file} (up) failed at COMMIT (deferred constraint checks run here):`);
    expect(error.message).toContain('PostgreSQL error 23503');
    expect(error.message).toContain('detail: Key (pid)=(1) is not present in table "p".');
    expect(await tables(db)).toEqual(['a', 'schema_migrations']);
    expect(await appliedNames(db)).toEqual([A]);
  });

  it('whose ledger row cannot be written (a stray row) rolls back its SQL too', async () => {
    const file = '20260102000000_stray';
    // The migration writes its own ledger row, so the runner's insert collides with it.
    dir.write({
      [`${file}.sql`]: sql(
        "CREATE TABLE b (id int);\nINSERT INTO schema_migrations (name, checksum, execution_ms) VALUES ('" + file + "', 'x', 0);",
        'DROP TABLE b;',
      ),
    });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.message).toContain(`${file}.sql (up) failed at writing its public.schema_migrations row:`);
    expect(error.message).toContain('23505');
    expect(await tables(db)).toEqual(['a', 'schema_migrations']);
    expect(await appliedNames(db)).toEqual([A]);
  });

  it('that needs to run outside a transaction says how to mark it', async () => {
    dir.write({ '20260102000000_index.sql': sql('CREATE INDEX CONCURRENTLY a_id_idx ON a (id);', 'DROP INDEX a_id_idx;') });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.message).toContain('25001');
    expect(error.message).toContain('mark the section "-- migrate:up transaction:false"');
  });

  it('in a transaction:false section says which statements already took effect', async () => {
    const file = '20260102000000_nontx.sql';
    dir.write({
      [file]: sql(
        'CREATE TABLE b (id int);\nCREATE INDEX CONCURRENTLY b_id_idx ON b (id);\nCREATE INDEX CONCURRENTLY broken ON nope (id);',
        'DROP TABLE b;',
        {
          upOptions: 'transaction:false',
        },
      ),
    });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.message).toContain(`${file} (up) failed at statement 3 of 3, line 4:`);
    expect(error.message).toContain('statements 1-2 (lines 2, 3) already took effect and no public.schema_migrations row was written');
    expect(await tables(db)).toEqual(['a', 'b', 'schema_migrations']);
    expect(await appliedNames(db)).toEqual([A]);
  });
});

describe('transaction:false', () => {
  it('runs CREATE INDEX CONCURRENTLY, records the ledger row, and reverts with DROP INDEX CONCURRENTLY', async () => {
    const file = '20260102000000_index_a';
    dir.write({
      [`${file}.sql`]: sql(
        'CREATE INDEX CONCURRENTLY a_id_idx ON a (id);\nCREATE INDEX CONCURRENTLY a_id2_idx ON a ((id * 2));',
        'DROP INDEX CONCURRENTLY a_id2_idx;\nDROP INDEX CONCURRENTLY a_id_idx;',
        { upOptions: 'transaction:false', downOptions: 'transaction:false' },
      ),
    });
    await db.migrator(dir.path).up();
    const indexes = await db.query<{ indexname: string; valid: boolean }>(
      `SELECT i.indexname, x.indisvalid AS valid FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname
         JOIN pg_index x ON x.indexrelid = c.oid WHERE i.tablename = 'a' ORDER BY 1`,
    );
    expect(indexes).toEqual([
      { indexname: 'a_id2_idx', valid: true },
      { indexname: 'a_id_idx', valid: true },
      { indexname: 'a_pkey', valid: true },
    ]);
    expect(await appliedNames(db)).toEqual([A, file]);
    await db.migrator(dir.path).down();
    expect((await db.query(`SELECT 1 FROM pg_indexes WHERE tablename = 'a'`)).length).toBe(1);
    expect(await appliedNames(db)).toEqual([A]);
  });
});

describe('timeouts', () => {
  it('enforces statement_timeout and says which setting fired', async () => {
    dir.write({ '20260102000000_slow.sql': sql('SELECT pg_sleep(5);', 'SELECT 1;') });
    const started = Date.now();
    const error = await rejection(db.migrator(dir.path, { statementTimeoutMs: 300 }).up());
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.message).toContain('57014');
    expect(error.message).toContain('statement_timeout is 300 ms');
    expect(await appliedNames(db)).toEqual([A]);
  });

  it('fails a lock wait within lock_timeout and names the blocking session', async () => {
    await db.migrator(dir.path).up();
    dir.write({ '20260102000000_alter_a.sql': sql('ALTER TABLE a ADD COLUMN note text;', 'ALTER TABLE a DROP COLUMN note;') });
    const blocker = new pg.Client({ ...db.connection, password: db.connection.password, application_name: 'test-blocker' });
    await blocker.connect();
    try {
      const blockerPid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await blocker.query('BEGIN');
      await blocker.query('SELECT * FROM a'); // ACCESS SHARE until commit: ALTER TABLE must wait
      const started = Date.now();
      const error = await rejection(db.migrator(dir.path, { lockTimeoutMs: 500 }).up());
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(3000);
      expect(error.message).toContain('PostgreSQL error 55P03: canceling statement due to lock timeout');
      expect(error.message).toContain('lock_timeout is 500 ms');
      expect(error.message).toContain(
        `the lock was held by: pid ${blockerPid} (application_name "test-blocker", state "idle in transaction"`,
      );
      expect(error.message).toContain('query: SELECT * FROM a');
    } finally {
      await blocker.end();
    }
    expect(await appliedNames(db)).toEqual([A]);
    expect((await db.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'a' AND column_name = 'note'`)).length).toBe(0);
  });
});
