/** Concurrent migrators: one runs at a time under the advisory lock, each migration runs once. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { LOCK_KEY } from '../../src/migrate/lock.js';
import { appliedNames, createScratchDatabase, migrationsDir, rejection, sql, type MigrationsDir, type ScratchDatabase } from './support.js';

const NAMES = ['20260101000000_create_runs', '20260102000000_second', '20260103000000_third'];
// Every migration records that it ran; the sleeps make the runs overlap if the lock did not hold.
const FILES = {
  [`${NAMES[0]}.sql`]: sql(
    "CREATE TABLE runs (name text NOT NULL, pid int NOT NULL DEFAULT pg_backend_pid());\nINSERT INTO runs (name) VALUES ('first');\nSELECT pg_sleep(0.2);",
    'DROP TABLE runs;',
  ),
  [`${NAMES[1]}.sql`]: sql("INSERT INTO runs (name) VALUES ('second');\nSELECT pg_sleep(0.1);", "DELETE FROM runs WHERE name = 'second';"),
  [`${NAMES[2]}.sql`]: sql("CREATE TABLE third (id int);\nINSERT INTO runs (name) VALUES ('third');", 'DROP TABLE third;'),
};

let db: ScratchDatabase;
let dir: MigrationsDir;
beforeEach(async () => {
  db = await createScratchDatabase();
  dir = migrationsDir(FILES);
});
afterEach(async () => {
  await db.drop();
  dir.cleanup();
});

async function expectEachRanOnce(): Promise<void> {
  expect(await appliedNames(db)).toEqual(NAMES);
  const runs = await db.query<{ name: string; n: number }>('SELECT name, count(*)::int AS n FROM runs GROUP BY name ORDER BY name');
  expect(runs).toEqual([
    { name: 'first', n: 1 },
    { name: 'second', n: 1 },
    { name: 'third', n: 1 },
  ]);
}

describe('concurrent migrators', () => {
  it('8 migrators in one process all succeed and each migration is applied exactly once', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => db.migrator(dir.path).up()));
    expect(
      results
        .flat()
        .map((r) => r.name)
        .sort(),
    ).toEqual(NAMES);
    // The first to get the lock applied everything; the rest found nothing pending.
    expect(results.filter((r) => r.length > 0)).toHaveLength(1);
    await expectEachRanOnce();
  });

  it('8 CLI processes started at once all exit 0 and each migration is applied exactly once', async () => {
    const script = resolve(import.meta.dirname, '../../scripts/migrate.ts');
    const run = () =>
      new Promise<{ code: number | null; output: string }>((done) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, 'up', '--dir', dir.path], {
          env: { ...process.env, DATABASE_URL: db.url, DATABASE_MIGRATION_URL: '', MIGRATION_LOCK_WAIT_MS: '60000' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.on('close', (code) => done({ code, output }));
      });
    const outcomes = await Promise.all(Array.from({ length: 8 }, run));
    for (const o of outcomes) expect(o.code, o.output).toBe(0);
    const summaries = outcomes.map((o) => o.output).filter((o) => o.includes('3 migrations applied'));
    expect(summaries).toHaveLength(1);
    await expectEachRanOnce();
  }, 60_000);

  it('gives up after lockWaitMs with an error naming the session holding the lock', async () => {
    const holder = new pg.Client({ ...db.connection, password: db.connection.password, application_name: 'test-lock-holder' });
    await holder.connect();
    const waiting: string[] = [];
    const logger: Logger = { info: (_o, msg) => waiting.push(msg ?? ''), warn: () => {}, error: () => {}, debug: () => {} };
    try {
      await holder.query('SELECT pg_advisory_lock($1, $2)', [...LOCK_KEY]);
      const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const started = Date.now();
      const error = await rejection(db.migrator(dir.path, { lockWaitMs: 400, logger }).up());
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toContain('held the migration lock for more than 400 ms (MIGRATION_LOCK_WAIT_MS)');
      expect(error.message).toContain(`held by pid ${pid} (application_name "test-lock-holder"`);
      expect(elapsed).toBeGreaterThanOrEqual(400);
      expect(elapsed).toBeLessThan(3000);
      expect(waiting).toContain('waiting for another migration run to release the migration lock');
      expect(await appliedNames(db)).toEqual([]);

      // Once the holder lets go, a waiting migrator proceeds.
      const pending = db.migrator(dir.path, { lockWaitMs: 10_000 }).up();
      await new Promise((r) => setTimeout(r, 200));
      await holder.query('SELECT pg_advisory_unlock($1, $2)', [...LOCK_KEY]);
      expect((await pending).map((r) => r.name)).toEqual(NAMES);
    } finally {
      await holder.end();
    }
    await expectEachRanOnce();
  });

  it('releases the lock when a migration fails, so the next run can go ahead', async () => {
    dir.write({ '20260104000000_fails.sql': sql('SELECT 1/0;', 'SELECT 1;') });
    await rejection(db.migrator(dir.path).up());
    expect(
      await db.query(
        `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      ),
    ).toEqual([]);
    dir.remove('20260104000000_fails.sql');
    expect(await db.migrator(dir.path, { lockWaitMs: 200 }).up()).toEqual([]);
    await expectEachRanOnce();
  });
});
