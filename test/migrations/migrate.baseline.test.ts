/**
 * Adopting an existing database (docs/migrations.md, "Adopting an existing database"): `baseline`
 * records the real migrations as applied on a database built by running their SQL by hand, after
 * comparing it with a freshly migrated throwaway one, and refuses (listing the differences) when
 * an index is missing or a column has another type; `up` on such a database explains baseline
 * instead of failing with 42P07; a dbmate ledger is converted.
 */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { adminQuery, quoteIdent } from '../../scripts/lib/server.js';
import { BaselineMismatchError, TimeoutError } from '../../src/errors.js';
import { LOCK_KEY } from '../../src/migrate/lock.js';
import { adminConnection } from '../support/database.js';
import { loadMigrations } from '../../src/migrate/files.js';
import { defaultMigrationsDir } from '../../src/migrate/index.js';
import { appliedNames, createScratchDatabase, migrationsDir, rejection, type MigrationsDir, type ScratchDatabase } from './support.js';

const NAMES = readdirSync(defaultMigrationsDir())
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => f.slice(0, -4));
/** The newest two files stay out of the folder at first: "later" migrations for `up` after a baseline. */
const LATER = NAMES.slice(-2);
const EARLIER = NAMES.slice(0, -2);

let db: ScratchDatabase;
let dir: MigrationsDir;
beforeEach(async () => {
  db = await createScratchDatabase();
  dir = migrationsDir();
  cpSync(defaultMigrationsDir(), dir.path, { recursive: true });
  for (const name of LATER) rmSync(join(dir.path, `${name}.sql`));
});
afterEach(async () => {
  dir.cleanup();
  await db.drop();
});

/** Runs the up sections of `names` statement by statement, as someone building the schema by hand would: no ledger. */
async function buildByHand(target: ScratchDatabase, names: readonly string[]): Promise<void> {
  const files = loadMigrations(defaultMigrationsDir()).filter((f) => names.includes(f.name));
  const client = new pg.Client({ ...target.connection, password: target.connection.password });
  await client.connect();
  try {
    for (const file of files) for (const statement of file.up.statements) await client.query(statement.sql);
  } finally {
    await client.end();
  }
}

const ledgerExists = async (target: ScratchDatabase) =>
  (await target.query<{ t: string | null }>(`SELECT to_regclass('public.schema_migrations')::text AS t`))[0]!.t !== null;

/** Databases left on the server by baseline's throwaway step (there must be none). */
const leftovers = async () =>
  (
    await db.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${db.name.slice(0, 30)}\\_baseline\\_%`])
  ).map((r) => r.datname);

describe('migrate baseline', () => {
  it('records every migration of a database built by hand as applied, with checksums; a later up applies only the newer files', async () => {
    await buildByHand(db, EARLIER);
    await db.query('CREATE TABLE local_notes (id int)'); // not the migrations': kept and reported, not a reason to refuse
    const migrator = db.migrator(dir.path);

    const result = await migrator.baseline();
    expect(result.recorded).toEqual(EARLIER);
    expect(result.dryRun).toBe(false);
    expect(result.extra.map((d) => `${d.change} ${d.kind} ${d.name}`)).toEqual(['extra table local_notes']);
    expect(await leftovers()).toEqual([]);

    const status = await migrator.status();
    expect(status.map((s) => s.state)).toEqual(EARLIER.map(() => 'applied'));
    const files = loadMigrations(dir.path);
    expect(status.map((s) => s.checksum)).toEqual(files.map((f) => f.checksum));
    // Running it again records nothing more.
    expect((await migrator.baseline()).recorded).toEqual([]);

    cpSync(defaultMigrationsDir(), dir.path, { recursive: true });
    const applied = await db.migrator(dir.path).up();
    expect(applied.map((r) => r.name)).toEqual(LATER);
    expect(await appliedNames(db)).toEqual(NAMES);
  }, 120_000);

  it('refuses, listing each difference, when an index is missing and a column has another type; nothing is recorded', async () => {
    await buildByHand(db, EARLIER);
    const [index] = await db.query<{ name: string }>(
      `SELECT indexrelid::regclass::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'business_ideas'::regclass AND NOT i.indisprimary AND NOT i.indisunique ORDER BY 1 LIMIT 1`,
    );
    await db.query(`DROP INDEX ${index!.name}`);
    await db.query('ALTER TABLE users ALTER COLUMN name TYPE varchar(300)');

    const error = await rejection(db.migrator(dir.path).baseline());
    expect(error).toBeInstanceOf(BaselineMismatchError);
    expect(error.code).toBe('MIGRATION_BASELINE_MISMATCH');
    const differences = (error as BaselineMismatchError).differences.map((d) => `${d.change} ${d.kind} ${d.name}`);
    expect(differences).toEqual(expect.arrayContaining([`missing index ${index!.name}`, 'different column users.name']));
    expect(error.message).toContain(`missing index ${index!.name}: CREATE INDEX ${index!.name} ON public.business_ideas`);
    expect(error.message).toMatch(/different column users\.name: expected text NOT NULL, found character varying\(300\) NOT NULL/);
    expect(error.message).toContain('nothing was recorded');
    expect(await ledgerExists(db)).toBe(false);
    expect(await leftovers()).toEqual([]);
  }, 120_000);

  it('with --to, records only the migrations up to it; without it, a partly built database is refused', async () => {
    const first = NAMES.slice(0, 3);
    await buildByHand(db, first);
    const refused = await rejection(db.migrator(dir.path).baseline());
    expect(refused.code).toBe('MIGRATION_BASELINE_MISMATCH');
    expect(refused.message).toMatch(/missing (table|function|index|type) /);

    const dryRun = await db.migrator(dir.path).baseline({ to: first[2]!.slice(0, 14), dryRun: true });
    expect(dryRun).toMatchObject({ recorded: first, dryRun: true });
    expect(await ledgerExists(db)).toBe(false);

    expect((await db.migrator(dir.path).baseline({ to: first[2]! })).recorded).toEqual(first);
    expect(await appliedNames(db)).toEqual(first);
    const applied = await db.migrator(dir.path).up();
    expect(applied.map((r) => r.name)).toEqual(EARLIER.slice(3));
  }, 120_000);

  it('refuses a --to that names no migration, and a target before an applied migration', async () => {
    expect((await rejection(db.migrator(dir.path).baseline({ to: '20990101000000' }))).code).toBe('MIGRATION_NOT_FOUND');
    await db.migrator(dir.path).up({ to: NAMES[1]! });
    const error = await rejection(db.migrator(dir.path).baseline({ to: NAMES[0]! }));
    expect(error.code).toBe('MIGRATION_OPTIONS');
    expect(error.message).toContain(`${NAMES[1]} is already applied, after it`);
  }, 60_000);
});

describe('migrate baseline, refusing before it compares', () => {
  it('waits for the migration lock like up, and gives up after lockWaitMs with nothing recorded', async () => {
    await buildByHand(db, EARLIER);
    const holder = new pg.Client({ ...db.connection, password: db.connection.password });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1, $2)', [...LOCK_KEY]);
      const error = await rejection(db.migrator(dir.path, { lockWaitMs: 500 }).baseline());
      expect(error).toBeInstanceOf(TimeoutError);
      expect(await ledgerExists(db)).toBe(false);
    } finally {
      await holder.end();
    }
  }, 60_000);

  it('says the migration role needs CREATEDB when it cannot create the throwaway database', async () => {
    await buildByHand(db, EARLIER);
    const role = `dl_baseline_${randomBytes(5).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await adminQuery(adminConnection(), `CREATE ROLE ${quoteIdent(role)} LOGIN NOCREATEDB PASSWORD '${password}'`);
    try {
      const migrator = db.migrator(dir.path, { connection: { ...db.connection, user: role, password } });
      const error = await rejection(migrator.baseline());
      expect(error.code).toBe('MIGRATION_BASELINE_SCRATCH');
      expect(error.message).toContain('needs CREATEDB');
      expect(error.message).toContain('Nothing was recorded');
      expect(await ledgerExists(db)).toBe(false);
    } finally {
      await adminQuery(adminConnection(), `DROP ROLE ${quoteIdent(role)}`);
    }
  }, 60_000);
});

describe('migrate up on a database built some other way', () => {
  it('refuses before running anything, explaining baseline, and writes no ledger', async () => {
    await buildByHand(db, EARLIER);
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.code).toBe('MIGRATION_NOT_ADOPTED');
    expect(error.file).toBe(`${NAMES[0]}.sql`);
    expect(error.message).toContain('the database already holds');
    expect(error.message).toContain('table users');
    expect(error.message).toContain('migrate baseline');
    expect(error.message).not.toContain('42P07');
    expect(await ledgerExists(db)).toBe(false);
  }, 60_000);

  it('points at the legacy path for the placeholder schema (users, business_evaluations, agent_executions)', async () => {
    await db.query(`CREATE TABLE users (id serial PRIMARY KEY, email text);
                    CREATE TABLE business_evaluations (id serial PRIMARY KEY);
                    CREATE TABLE agent_executions (id serial PRIMARY KEY)`);
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.code).toBe('MIGRATION_NOT_ADOPTED');
    expect(error.message).toContain('earlier placeholder schema');
    expect(error.message).toContain('Adopting an existing database');
    expect(await ledgerExists(db)).toBe(false);
  });
});

describe('a dbmate ledger (schema_migrations(version))', () => {
  const dbmateLedger = async (target: ScratchDatabase, versions: readonly string[]) => {
    await target.query('CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)');
    for (const v of versions) await target.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v]);
  };

  it('is read by status and converted by up, which then applies only what dbmate had not', async () => {
    const done = NAMES.slice(0, 4);
    await buildByHand(db, done);
    await dbmateLedger(
      db,
      done.map((n) => n.slice(0, 14)),
    );
    const status = await db.migrator(dir.path).status();
    expect(status.filter((s) => s.state === 'applied').map((s) => s.name)).toEqual(done);
    // status reads only: still dbmate's table.
    expect((await db.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'schema_migrations'::regclass AND attnum > 0`)).length).toBe(
      1,
    );

    const applied = await db.migrator(dir.path).up();
    expect(applied.map((r) => r.name)).toEqual(EARLIER.slice(4));
    expect(await appliedNames(db)).toEqual(EARLIER);
    const files = loadMigrations(dir.path);
    const rows = await db.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations ORDER BY name');
    expect(rows.slice(0, 4)).toEqual(files.slice(0, 4).map((f) => ({ name: f.name, checksum: f.checksum })));
    expect((await db.query<{ version: string }>('SELECT version FROM schema_migrations_dbmate ORDER BY 1')).map((r) => r.version)).toEqual(
      done.map((n) => n.slice(0, 14)),
    );
    expect((await db.migrator(dir.path).status()).every((s) => s.state === 'applied')).toBe(true);
  }, 60_000);

  it('is converted by baseline too', async () => {
    await buildByHand(db, EARLIER);
    await dbmateLedger(db, [NAMES[0]!.slice(0, 14)]);
    const result = await db.migrator(dir.path).baseline();
    expect(result.alreadyApplied).toEqual([NAMES[0]]);
    expect(result.recorded).toEqual(EARLIER.slice(1));
    expect(await appliedNames(db)).toEqual(EARLIER);
  }, 120_000);

  it('naming a version no file has is refused, and left as it was', async () => {
    await dbmateLedger(db, [NAMES[0]!.slice(0, 14), '20200101000000']);
    const error = await rejection(db.migrator(dir.path).up());
    expect(error.code).toBe('MIGRATION_LEDGER');
    expect(error.message).toContain('dbmate ledger recording version 20200101000000');
    expect((await db.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY 1')).length).toBe(2);
    expect((await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations_dbmate')::text AS t`))[0]!.t).toBeNull();
  });
});
