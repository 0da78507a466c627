/**
 * transaction:false sections are recorded as they go (data_layer_migrate.progress), so a run that
 * stops part-way (here: a failing statement; test/faults/migrator.kill.test.ts kills the process)
 * is resumed by running the same command again, refused with the manual step named when it cannot
 * be, and shown by status.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { appliedNames, createScratchDatabase, migrationsDir, rejection, sql, type MigrationsDir, type ScratchDatabase } from './support.js';

const A = '20260101000000_create_a';
const B = '20260102000000_stepwise';
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

const progress = () => db.query('SELECT name, direction, statements, statements_done FROM data_layer_migrate.progress ORDER BY name');
const progressSchema = async () => (await db.query<{ s: string | null }>(`SELECT to_regnamespace('data_layer_migrate')::text AS s`))[0]!.s;
const indexes = (table: string) =>
  db.query<{ name: string; valid: boolean }>(
    `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass AND NOT i.indisprimary ORDER BY 1`,
    [table],
  );
function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (_o: object, msg?: string) => lines.push(msg ?? '');
  return { lines, info: push, warn: push, error: push, debug: () => {} };
}

/** Statement 4 needs public.gate, which the tests create between runs. */
const stepwise = sql(
  [
    'CREATE TABLE b (id int);',
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS b_id_idx ON b (id);',
    'INSERT INTO a VALUES (1);',
    'CREATE TABLE c (id int REFERENCES gate (id));',
  ].join('\n'),
  'DROP TABLE c;\nDELETE FROM a;\nDROP TABLE b;',
  { upOptions: 'transaction:false' },
);

describe('a transaction:false section that stops part-way', () => {
  it('is recorded, says exactly what took effect, and the same command resumes it at the failed statement', async () => {
    dir.write({ [`${B}.sql`]: stepwise });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.code).toBe('MIGRATION_FAILED');
    expect(error.message).toContain(`${B}.sql (up) failed at statement 4 of 4, line 5:`);
    expect(error.message).toContain('statements 1-3 (lines 2, 3, 4) already took effect and no public.schema_migrations row was written.');
    expect(error.message).toContain('Statement 4 ran in a transaction of its own, which was rolled back.');
    expect(error.message).toContain(
      'data_layer_migrate.progress records this: fix the cause and run the same command again; it resumes at statement 4 (line 5).',
    );
    expect(await progress()).toEqual([{ name: B, direction: 'up', statements: 4, statements_done: 3 }]);
    expect(await appliedNames(db)).toEqual([A]);
    // Only finished migrations count as applied, for status and the health check alike.
    const status = await db.migrator(dir.path).status();
    expect(status.map((s) => [s.name, s.state, s.started?.statementsDone])).toEqual([
      [A, 'applied', undefined],
      [B, 'pending', 3],
    ]);

    await db.query('CREATE TABLE gate (id int PRIMARY KEY)');
    const log = recorder();
    const results = await db.migrator(dir.path, { logger: log }).up();
    expect(results.map((r) => [r.name, r.resumedAfter])).toEqual([[B, 3]]);
    expect(log.lines.join('\n')).toContain(
      `resuming ${B} (up, transaction:false): it was started (up, transaction:false) by data-layer migrate (pid ${process.pid} on `,
    );
    expect(log.lines.join('\n')).toContain('statements 1-3 (lines 2, 3, 4) took effect; continuing at statement 4 (line 5)');
    // Statements 1-3 did not run again: b exists once, a holds one row, c exists.
    expect(await db.query('SELECT id FROM a')).toEqual([{ id: 1 }]);
    expect(await db.query(`SELECT to_regclass('c')::text AS c`)).toEqual([{ c: 'c' }]);
    expect(await appliedNames(db)).toEqual([A, B]);
    expect(await progressSchema()).toBeNull();
  });

  it('after a failed CREATE UNIQUE INDEX CONCURRENTLY drops the INVALID index it left before building it again', async () => {
    await db.migrator(dir.path).up();
    await db.query('CREATE TABLE d (v int); INSERT INTO d VALUES (1), (1), (2)');
    dir.write({
      [`${B}.sql`]: sql('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS d_v_key ON d (v);', 'DROP INDEX CONCURRENTLY IF EXISTS d_v_key;', {
        upOptions: 'transaction:false',
        downOptions: 'transaction:false',
      }),
    });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.message).toContain('PostgreSQL error 23505');
    expect(error.message).toContain('no statement had taken effect and no public.schema_migrations row was written.');
    expect(error.message).toContain(
      'Statement 1 runs on its own (CREATE INDEX CONCURRENTLY) and may have partly taken effect: a failed CREATE INDEX CONCURRENTLY leaves an INVALID index, which the next run drops before building it again.',
    );
    expect(await indexes('d')).toEqual([{ name: 'd_v_key', valid: false }]);

    await db.query('DELETE FROM d WHERE ctid = (SELECT min(ctid) FROM d WHERE v = 1)');
    const log = recorder();
    await db.migrator(dir.path, { logger: log }).up();
    expect(log.lines).toContain(
      `${B}.sql, statement 1 (line 2): index public.d_v_key is INVALID (an interrupted CREATE INDEX CONCURRENTLY leaves it so), ` +
        'and IF NOT EXISTS would keep it: dropping it (DROP INDEX CONCURRENTLY IF EXISTS public.d_v_key)',
    );
    expect(await indexes('d')).toEqual([{ name: 'd_v_key', valid: true }]);
    expect(await appliedNames(db)).toEqual([A, B]);
  });

  it('after an interrupted REINDEX CONCURRENTLY drops the INVALID _ccnew index it left, then reindexes', async () => {
    await db.migrator(dir.path).up();
    await db.query(
      [
        'CREATE TABLE knobs (sleep_s float8 NOT NULL); INSERT INTO knobs VALUES (0);',
        'CREATE FUNCTION slow_key(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep((SELECT sleep_s FROM public.knobs)); RETURN x; END $$;',
        'CREATE TABLE t (b int); INSERT INTO t SELECT g FROM generate_series(1, 500) g; CREATE INDEX t_slow_idx ON t (slow_key(b));',
        'UPDATE knobs SET sleep_s = 0.01;',
      ].join('\n'),
    );
    dir.write({ [`${B}.sql`]: sql('REINDEX INDEX CONCURRENTLY t_slow_idx;', undefined, { upOptions: 'transaction:false' }) });
    const error = await rejection(db.migrator(dir.path, { statementTimeoutMs: 500 }).up());
    expect(error.message).toContain('PostgreSQL error 57014');
    expect(await indexes('t')).toEqual([
      { name: 't_slow_idx', valid: true },
      { name: 't_slow_idx_ccnew', valid: false },
    ]);

    await db.query('UPDATE knobs SET sleep_s = 0');
    const log = recorder();
    await db.migrator(dir.path, { logger: log }).up();
    expect(log.lines).toContain(
      `${B}.sql, statement 1 (line 2): public.t_slow_idx_ccnew is an INVALID index left by an interrupted REINDEX CONCURRENTLY: ` +
        'dropping it (DROP INDEX CONCURRENTLY IF EXISTS public.t_slow_idx_ccnew)',
    );
    expect(await indexes('t')).toEqual([{ name: 't_slow_idx', valid: true }]);
    expect(await appliedNames(db)).toEqual([A, B]);
  });

  it('whose interrupted statement had in fact finished (its progress was not recorded) is not run twice', async () => {
    // Plain CREATE / DROP INDEX CONCURRENTLY, without IF [NOT] EXISTS: running them again would fail.
    await db.migrator(dir.path).up();
    dir.write({
      [`${B}.sql`]: sql(
        'CREATE INDEX CONCURRENTLY a_x_idx ON a ((id * 2));\nDROP INDEX CONCURRENTLY a_x_idx;\nCREATE INDEX CONCURRENTLY a_y_idx ON a ((id * 3));\nSELECT * FROM gate;',
        'DROP INDEX CONCURRENTLY a_y_idx;',
        { upOptions: 'transaction:false', downOptions: 'transaction:false' },
      ),
    });
    await rejection(db.migrator(dir.path).up()); // stops at statement 4: gate does not exist
    // As if the run had been killed after statement 3 finished but before its progress was written.
    await db.query(`UPDATE data_layer_migrate.progress SET statements_done = 2`);
    await db.query('CREATE TABLE gate (id int)');
    const log = recorder();
    await db.migrator(dir.path, { logger: log }).up();
    expect(log.lines).toContain(
      `${B}.sql, statement 3 (line 4): index public.a_y_idx exists and is valid, so the interrupted CREATE INDEX CONCURRENTLY had finished; recording it as done`,
    );
    expect(await indexes('a')).toEqual([{ name: 'a_y_idx', valid: true }]);
    expect(await appliedNames(db)).toEqual([A, B]);

    // The same for DROP INDEX CONCURRENTLY: gone means done.
    await db.migrator(dir.path).down();
    const C = '20260103000000_drop_again';
    dir.write({
      [`${C}.sql`]: sql(
        'CREATE INDEX CONCURRENTLY a_z_idx ON a ((id * 4));\nDROP INDEX CONCURRENTLY a_z_idx;\nSELECT * FROM nope;',
        undefined,
        {
          upOptions: 'transaction:false',
        },
      ),
    });
    dir.remove(`${B}.sql`);
    await rejection(db.migrator(dir.path).up());
    await db.query(`UPDATE data_layer_migrate.progress SET statements_done = 1`);
    await db.query('CREATE TABLE nope ()');
    const again = recorder();
    await db.migrator(dir.path, { logger: again }).up();
    expect(again.lines).toContain(
      `${C}.sql, statement 2 (line 3): index a_z_idx no longer exists, so the interrupted DROP INDEX had finished; recording it as done`,
    );
    expect(await appliedNames(db)).toEqual([A, C]);
  });

  it('replays the SET statements already done, so the statements still to run see the same session', async () => {
    dir.write({
      [`${B}.sql`]: sql(
        'CREATE SCHEMA app;\nSET search_path = app, public;\nCREATE TABLE made_before (id int);\nCREATE TABLE made_after (id int REFERENCES public.gate (id));',
        undefined,
        { upOptions: 'transaction:false' },
      ),
    });
    await rejection(db.migrator(dir.path).up());
    await db.query('CREATE TABLE gate (id int PRIMARY KEY)');
    await db.migrator(dir.path).up();
    expect(await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'app' ORDER BY 1`)).toEqual([
      { tablename: 'made_after' },
      { tablename: 'made_before' },
    ]);
  });

  it('rolls back a BEGIN ... COMMIT block written in the section as a whole, and resumes at its BEGIN', async () => {
    dir.write({
      [`${B}.sql`]: sql(
        'CREATE TABLE b (id int);\nBEGIN;\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\nSELECT * FROM gate;\nCOMMIT;\nINSERT INTO a VALUES (3);',
        undefined,
        { upOptions: 'transaction:false' },
      ),
    });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.message).toContain('failed at statement 5 of 7, line 6:');
    expect(error.message).toContain('statement 1 (line 2) already took effect');
    expect(error.message).toContain('The transaction opened by BEGIN at line 3 was rolled back (statements 2-5).');
    expect(error.message).toContain('it resumes at statement 2 (line 3).');
    expect(await db.query('SELECT id FROM a')).toEqual([]);
    expect(await progress()).toEqual([{ name: B, direction: 'up', statements: 7, statements_done: 1 }]);

    await db.query('CREATE TABLE gate ()');
    await db.migrator(dir.path).up();
    expect(await db.query('SELECT id FROM a ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(await appliedNames(db)).toEqual([A, B]);
  });

  it('in down is resumed by down, and blocks up until then', async () => {
    dir.write({
      [`${B}.sql`]: sql('CREATE TABLE b (id int);\nCREATE TABLE c (id int);', 'DROP TABLE c;\nSELECT * FROM gate;\nDROP TABLE b;', {
        downOptions: 'transaction:false',
      }),
    });
    await db.migrator(dir.path).up();
    const failed = await rejection(db.migrator(dir.path).down());
    expect(failed.message).toContain(`${B}.sql (down) failed at statement 2 of 3, line 7:`);
    expect(await appliedNames(db)).toEqual([A, B]);

    const C = '20260103000000_later';
    dir.write({ [`${C}.sql`]: sql('CREATE TABLE later (id int);', 'DROP TABLE later;') });
    const refused = await rejection(db.migrator(dir.path).up());
    expect(refused.code).toBe('MIGRATION_INTERRUPTED');
    expect(refused.file).toBe(`${B}.sql`);
    expect(refused.message).toContain(`${B}.sql was started (down, transaction:false) by data-layer migrate (pid ${process.pid} on `);
    expect(refused.message).toContain('stopped after 1 of its 3 statements: statement 1 (line 6) took effect.');
    expect(refused.message).toContain(
      `Finish it before anything else: npm run migrate -- down (from code: down()), which reverts ${B} first resumes it at statement 2 (line 7).`,
    );
    expect(refused.message).toContain(`This up would start with ${C} (up) instead; nothing was run.`);
    expect(await db.query(`SELECT to_regclass('later') AS t`)).toEqual([{ t: null }]);

    await db.query('CREATE TABLE gate ()');
    const reverted = await db.migrator(dir.path).down();
    expect(reverted.map((r) => [r.name, r.direction, r.resumedAfter])).toEqual([[B, 'down', 1]]);
    expect(await appliedNames(db)).toEqual([A]);
    expect(await db.query(`SELECT to_regclass('b') AS t`)).toEqual([{ t: null }]);
  });
});

describe('a statement that commits by itself (a procedure with COMMIT)', () => {
  const procedure =
    'CREATE PROCEDURE fill() LANGUAGE plpgsql AS $$ BEGIN FOR i IN 1..3 LOOP INSERT INTO a VALUES (i); COMMIT; END LOOP; END $$;';

  it('is refused by PostgreSQL inside the per-statement transaction, with the hint to mark it re-runnable', async () => {
    await db.migrator(dir.path).up();
    await db.query(procedure);
    dir.write({ [`${B}.sql`]: sql('CALL fill();', undefined, { upOptions: 'transaction:false' }) });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.message).toContain('PostgreSQL error 2D000');
    expect(error.message).toContain(
      'this one ends the transaction itself. If it is safe to run twice, put a "-- migrate:rerunnable" line before it.',
    );
    expect(error.message).toContain('Statement 1 ran in a transaction of its own, which was rolled back.');
    expect(await db.query('SELECT id FROM a')).toEqual([]);
  });

  it('runs on its own, committing as it goes, when marked -- migrate:rerunnable', async () => {
    await db.migrator(dir.path).up();
    await db.query(procedure);
    dir.write({ [`${B}.sql`]: sql('-- migrate:rerunnable\nCALL fill();', undefined, { upOptions: 'transaction:false' }) });
    await db.migrator(dir.path).up();
    expect(await db.query('SELECT id FROM a ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(await appliedNames(db)).toEqual([A, B]);
  });
});

describe('a started transaction:false section that cannot be resumed', () => {
  it('when its file was edited since, is refused with the manual step named, and nothing runs', async () => {
    dir.write({ [`${B}.sql`]: stepwise });
    await rejection(db.migrator(dir.path).up());
    // The fix is written into the started file instead of a new one.
    dir.write({ [`${B}.sql`]: stepwise.replace('REFERENCES gate (id)', '') });
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.code).toBe('MIGRATION_INTEGRITY');
    expect(error.file).toBe(`${B}.sql`);
    expect(error.message).toContain(`${B}.sql was started (up, transaction:false) by data-layer migrate`);
    expect(error.message).toContain('statements 1-3 of the version that was started took effect, but the file was edited since (checksum ');
    expect(error.message).toContain('so the run cannot resume; nothing was run.');
    expect(error.message).toContain(
      'Restore the version that was started (from version control) and run the command again, which resumes at statement 4;',
    );
    expect(error.message).toContain(
      `or finish (or undo) statements 4-4 of that version by hand, insert its public.schema_migrations row if you finished it, and then: DELETE FROM data_layer_migrate.progress WHERE name = '${B}'`,
    );
    // Nothing ran: no table c, the record unchanged.
    expect(await db.query(`SELECT to_regclass('c') AS t`)).toEqual([{ t: null }]);
    expect(await progress()).toEqual([{ name: B, direction: 'up', statements: 4, statements_done: 3 }]);
    const status = await db.migrator(dir.path).status();
    expect(status.find((s) => s.name === B)?.started?.resumable).toBe(false);

    // The manual step named in the message, once done, lets the next run go ahead.
    await db.query('CREATE TABLE c (id int)');
    const checksum = (await db.migrator(dir.path).status()).find((s) => s.name === B)!.checksum;
    await db.query(`INSERT INTO public.schema_migrations (name, checksum, execution_ms) VALUES ($1, $2, 0)`, [B, checksum]);
    await db.query(`DELETE FROM data_layer_migrate.progress WHERE name = '${B}'`);
    expect(await db.migrator(dir.path).up()).toEqual([]);
  });

  it('blocks down (and its dry run), naming the command that finishes it', async () => {
    await db.migrator(dir.path).up();
    dir.write({ [`${B}.sql`]: stepwise });
    await rejection(db.migrator(dir.path).up());
    const down = await rejection(db.migrator(dir.path).down());
    expect(down.code).toBe('MIGRATION_INTERRUPTED');
    expect(down.message).toContain('stopped after 3 of its 4 statements: statements 1-3 (lines 2, 3, 4) took effect.');
    expect(down.message).toContain(
      `Finish it before anything else: npm run migrate -- up --to ${B} (from code: up({ to: '${B}' })) resumes it at statement 4 (line 5).`,
    );
    expect(down.message).toContain(`This down would start with ${A} (down) instead; nothing was run.`);
    expect(await appliedNames(db)).toEqual([A]);
    const dry = await rejection(db.migrator(dir.path).down({ dryRun: true }));
    expect(dry.code).toBe('MIGRATION_INTERRUPTED');
  });
});

describe('status of a started section', () => {
  it('is shown as started by the CLI, with how far it got; --json carries it too', async () => {
    dir.write({ [`${B}.sql`]: stepwise });
    await rejection(db.migrator(dir.path).up());
    const script = resolve(import.meta.dirname, '../../scripts/migrate.ts');
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string }>((done) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, ...args, '--dir', dir.path], {
          env: { ...process.env, DATABASE_URL: db.url, DATABASE_MIGRATION_URL: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.on('close', (code) => done({ code, stdout }));
      });
    const [table, json, dry] = await Promise.all([cli(['status']), cli(['status', '--json']), cli(['up', '--dry-run'])]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(`started\\s+${B}\\s+\\(up interrupted after 3 of 4 statements, started \\d{4}-.*; the next up resumes it\\)`),
    );
    expect(table.stdout).toContain('1 applied, 1 started');
    const parsed = JSON.parse(json.stdout) as { name: string; state: string; started?: { statementsDone: number; resumable: boolean } }[];
    expect(parsed.find((s) => s.name === B)).toMatchObject({ state: 'pending', started: { statementsDone: 3, resumable: true } });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('-- resumes an interrupted run: statements 1-3 (lines 2, 3, 4) took effect');
    expect(dry.stdout).toContain(
      'BEGIN;\nCREATE TABLE c (id int REFERENCES gate (id));\nUPDATE data_layer_migrate.progress SET statements_done = 4',
    );
    expect(dry.stdout).not.toContain('CREATE TABLE b (id int);');
  }, 60_000);
});
