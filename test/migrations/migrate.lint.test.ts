/**
 * The lint against a real database: `up` refuses a blocking statement on a table above the
 * threshold and lets the same statement through on a small one, lint-ignore reasons reach the
 * ledger and `status`, adding such a line to an applied file keeps it verified, and the CLI's
 * lint, status --exit-code and wait.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitForServer } from '../../src/migrate/wait.js';
import { appliedNames, createScratchDatabase, migrationsDir, rejection, sql, type MigrationsDir, type ScratchDatabase } from './support.js';

const CREATE = '20260101000000_create_t';
const INDEX = '20260102000000_index_t';
const createFile = sql('CREATE TABLE t (id bigint PRIMARY KEY, a int);', 'DROP TABLE t;');
const indexFile = (before = '') => `${before}${sql('CREATE INDEX t_a_idx ON t (a);', 'DROP INDEX t_a_idx;')}`;
const largeTable = { rows: 100, bytes: 64 * 1024 * 1024 };

let db: ScratchDatabase;
let dir: MigrationsDir;
beforeEach(async () => {
  db = await createScratchDatabase();
  dir = migrationsDir({ [`${CREATE}.sql`]: createFile });
});
afterEach(async () => {
  await db.drop();
  dir.cleanup();
});

const indexes = async () =>
  (await db.query<{ i: string }>(`SELECT indexname AS i FROM pg_indexes WHERE tablename = 't' ORDER BY 1`)).map((r) => r.i);

describe('up runs the lint first, graded by the live table size', () => {
  it('refuses CREATE INDEX on a table above the threshold with rule, file and line, applying nothing', async () => {
    await db.migrator(dir.path).up();
    await db.query('INSERT INTO t SELECT g, g FROM generate_series(1, 500) g; ANALYZE t;');
    dir.write({ [`${INDEX}.sql`]: indexFile() });
    const error = await rejection(db.migrator(dir.path, { largeTable }).up());
    expect(error.code).toBe('MIGRATION_LINT');
    expect(error.file).toBe(`${INDEX}.sql`);
    expect(error.message).toContain('nothing was applied');
    expect(error.message).toContain(`${INDEX}.sql:2  error  require-concurrent-index-creation  CREATE INDEX on t without CONCURRENTLY`);
    expect(error.message).toContain('(t: about 500 rows');
    expect(error.message).toContain('-- migrate:lint-ignore <rule> <reason>');
    expect(await appliedNames(db)).toEqual([CREATE]);
    expect(await indexes()).toEqual(['t_pkey']);

    // The same statement on the same table while it is below the threshold: a note, applied.
    const report = await db.migrator(dir.path, { largeTable: { rows: 1000 } }).lint();
    expect(report.findings).toMatchObject([{ rule: 'require-concurrent-index-creation', severity: 'note', file: `${INDEX}.sql` }]);
    await db.migrator(dir.path, { largeTable: { rows: 1000 } }).up();
    expect(await indexes()).toEqual(['t_a_idx', 't_pkey']);
  }, 60_000);

  it('lets it through on an empty live table, and on a table an earlier file of the same run creates', async () => {
    dir.write({ [`${INDEX}.sql`]: indexFile() });
    const pending = await db.migrator(dir.path).lint();
    expect(pending.findings).toMatchObject([{ severity: 'note', grade: `created by ${CREATE}.sql earlier in this run` }]);
    await db.migrator(dir.path, { largeTable }).up({ to: CREATE });
    expect((await db.migrator(dir.path, { largeTable }).lint()).findings).toMatchObject([
      { severity: 'note', grade: expect.stringMatching(/^t: (never analyzed|about 0 rows), \d+ KiB, below the threshold$/) as unknown },
    ]);
    await db.migrator(dir.path, { largeTable }).up();
    expect(await appliedNames(db)).toEqual([CREATE, INDEX]);
  }, 60_000);
});

describe('a lint-ignore line', () => {
  const reason = 't holds a few hundred rows; the build takes milliseconds';

  it('lets up apply the file and is recorded in the ledger and shown by status', async () => {
    await db.migrator(dir.path).up();
    await db.query('INSERT INTO t SELECT g, g FROM generate_series(1, 500) g; ANALYZE t;');
    dir.write({ [`${INDEX}.sql`]: indexFile(`-- migrate:lint-ignore require-concurrent-index-creation ${reason}\n`) });
    const pending = await db.migrator(dir.path).status();
    expect(pending.find((s) => s.name === INDEX)).toMatchObject({
      state: 'pending',
      lintIgnores: [{ rule: 'require-concurrent-index-creation', reason, line: 1 }],
    });
    await db.migrator(dir.path, { largeTable }).up();
    const rows = await db.query<{ lint_ignores: unknown }>(`SELECT lint_ignores FROM schema_migrations WHERE name = $1`, [INDEX]);
    expect(rows[0]?.lint_ignores).toEqual([{ rule: 'require-concurrent-index-creation', reason, line: 1 }]);
    const applied = await db.migrator(dir.path).status();
    expect(applied.find((s) => s.name === INDEX)).toMatchObject({ state: 'applied', lintIgnores: [{ reason }] });
  }, 60_000);

  it('added to a file already applied (by a runner that knew no lint) leaves it applied, not changed', async () => {
    // A ledger as the runner before the lint wrote it: no lint_ignores column.
    dir.write({ [`${INDEX}.sql`]: indexFile() });
    await db.migrator(dir.path).up();
    await db.query('ALTER TABLE schema_migrations DROP COLUMN lint_ignores');
    dir.write({ [`${INDEX}.sql`]: indexFile(`-- migrate:lint-ignore require-concurrent-index-creation ${reason}\n`) });
    const status = await db.migrator(dir.path).status();
    expect(status.map((s) => [s.name, s.state])).toEqual([
      [CREATE, 'applied'],
      [INDEX, 'applied'],
    ]);
    dir.write({ '20260103000000_more.sql': sql('CREATE TABLE u (id int);', 'DROP TABLE u;') });
    expect((await db.migrator(dir.path).up()).map((r) => r.name)).toEqual(['20260103000000_more']);
    expect(await db.query('SELECT lint_ignores FROM schema_migrations ORDER BY name')).toEqual([
      { lint_ignores: null },
      { lint_ignores: null },
      { lint_ignores: null },
    ]);
  }, 60_000);
});

const SCRIPT = resolve(import.meta.dirname, '../../scripts/migrate.ts');

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      env: { ...base, DATABASE_URL: db.url, DATABASE_MIGRATION_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('the CLI', () => {
  it('lint exits 1 on an error (each file alone, no database), 0 with --database on an empty table; status --exit-code exits 1 while anything is pending', async () => {
    dir.write({ [`${INDEX}.sql`]: indexFile() });
    await db.migrator(dir.path).up({ to: CREATE });
    const [offline, live, pending, plain] = await Promise.all([
      cli(['lint', '--dir', dir.path]),
      cli(['lint', '--database', '--verbose', '--dir', dir.path]),
      cli(['status', '--exit-code', '--dir', dir.path]),
      cli(['status', '--dir', dir.path]),
    ]);
    expect(offline.code, offline.stderr).toBe(1);
    expect(offline.stdout).toMatch(/20260102000000_index_t\.sql:2 {2}error {2}require-concurrent-index-creation/);
    expect(offline.stdout).toContain('fix: Use CREATE INDEX CONCURRENTLY IF NOT EXISTS');
    expect(offline.stdout).toContain('2 files linted: 1 error, 0 warnings, 0 notes, 0 ignored');
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toContain('note  require-concurrent-index-creation');
    expect(live.stdout).toContain('1 file linted: 0 errors');
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('pending: 1 migration to apply (--exit-code)');
    expect(plain.code).toBe(0);
  }, 60_000);

  it('wait returns once the server answers, and gives up after --wait-timeout on a port nobody listens on', async () => {
    expect(await waitForServer(db.connection, { timeoutMs: 5000 })).toBeLessThan(5000);
    const nobody = { ...db.connection, host: '127.0.0.1', port: 9 };
    const started = Date.now();
    const error = await rejection(waitForServer(nobody, { timeoutMs: 1500, intervalMs: 200 }));
    expect(error.code).toBe('MIGRATION_WAIT_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1300);
    expect(Date.now() - started).toBeLessThan(6_500);
    const closed = await cli(['wait', '--wait-timeout', '1500'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:9/postgres' });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('the server did not answer within 1500 ms; last attempt: could not connect to');
    expect(closed.stderr).toContain('connection refused');
    const up = await cli(['up', '--wait', '--wait-timeout', '5000', '--dir', dir.path]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('the server answers');
  }, 60_000);
});
