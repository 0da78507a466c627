/**
 * A refused run touches nothing: the checks that can refuse (an unknown "to", an integrity problem,
 * an interrupted section that cannot resume) all come before the runner writes anything, the
 * ledger table included, and the clean-up of stale progress rows waits until nothing refuses.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

const progressNames = async () =>
  (await db.query<{ name: string }>('SELECT name FROM data_layer_migrate.progress ORDER BY name')).map((r) => r.name);

describe('a refused run', () => {
  it('with a "to" that names no migration creates no ledger, up or down, dry run or not', async () => {
    for (const attempt of [
      () => db.migrator(dir.path).up({ to: 'nonexistent' }),
      () => db.migrator(dir.path).up({ to: '20990101000000' }),
      () => db.migrator(dir.path).down({ to: 'nonexistent' }),
      () => db.migrator(dir.path).up({ to: 'nonexistent', dryRun: true }),
    ]) {
      const error = await rejection(attempt());
      expect(error.code).toBe('MIGRATION_NOT_FOUND');
      expect(error.message).toContain('; nothing was run');
    }
    expect(await tables(db)).toEqual([]);
    // The same run with a target that exists goes ahead, ledger and all.
    await db.migrator(dir.path).up({ to: A });
    expect(await tables(db)).toEqual(['a', 'schema_migrations']);
  });

  it('leaves a stale progress row alone when a later row makes it refuse; the run that goes ahead removes it', async () => {
    await db.migrator(dir.path).up();
    // An interrupted transaction:false section (its last statement needs a table that is missing).
    const stepwise = sql('CREATE TABLE b (id int);\nCREATE TABLE c (id int REFERENCES gate (id));', 'DROP TABLE c;\nDROP TABLE b;', {
      upOptions: 'transaction:false',
    });
    dir.write({ [`${B}.sql`]: stepwise });
    await rejection(db.migrator(dir.path).up());
    // A row left for A, which the ledger says is applied: stale. It sorts before B's.
    await db.query(
      `INSERT INTO data_layer_migrate.progress (name, direction, checksum, statements, statements_done, started_by)
       SELECT $1, 'up', checksum, 1, 0, 'an older run' FROM public.schema_migrations WHERE name = $1`,
      [A],
    );
    expect(await progressNames()).toEqual([A, B]);

    // B's file edited since it started: refused, and A's stale row is still there.
    dir.write({ [`${B}.sql`]: stepwise.replace('REFERENCES gate (id)', '') });
    expect((await rejection(db.migrator(dir.path).up())).code).toBe('MIGRATION_INTEGRITY');
    expect(await progressNames()).toEqual([A, B]);

    // Restored, the run resumes B and clears the stale row as it goes ahead.
    dir.write({ [`${B}.sql`]: stepwise });
    await db.query('CREATE TABLE gate (id int PRIMARY KEY)');
    await db.migrator(dir.path).up();
    expect(await appliedNames(db)).toEqual([A, B]);
    expect((await db.query<{ s: string | null }>(`SELECT to_regnamespace('data_layer_migrate')::text AS s`))[0]!.s).toBeNull();
  });
});
