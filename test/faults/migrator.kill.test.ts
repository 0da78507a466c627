/**
 * Fault suite: the migrator CLI (`scripts/migrate.ts up`, one node process) is killed with SIGKILL
 * in the middle of a long statement, and then run again at once. Each test measures what the kill
 * leaves behind (how long the orphaned server session lives, what the ledger and the progress
 * record say) and how long recovery takes, and asserts a bound on each: a killed migrator leaves
 * nothing to clean up by hand.
 *
 * Every test has databases of its own (empty ones on the run's server, dropped at the end) and
 * a migrations folder of its own. The slow statements sleep for as long as `knobs.sleep_s` says,
 * so the rerun (after the test sets it to 0) runs the very same files quickly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createScratchDatabase, migrationsDir, sql, type MigrationsDir, type ScratchDatabase } from '../migrations/support.js';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/migrate.ts');
const LOCK_WAIT_MS = 60_000;

interface Run {
  child: ChildProcess;
  pid: number;
  output: () => string;
  /** When (Date.now()) `text` first appeared in the output. */
  seenAt: (text: string) => number | undefined;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node --import tsx scripts/migrate.ts up --dir <dir>`: one process, so SIGKILL kills the migrator itself. */
function migrate(db: ScratchDatabase, dir: MigrationsDir, extra: string[] = []): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, 'up', '--dir', dir.path, ...extra], {
    env: { ...process.env, DATABASE_URL: db.url, DATABASE_MIGRATION_URL: '', MIGRATION_LOCK_WAIT_MS: String(LOCK_WAIT_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const chunks: { at: number; end: number }[] = [];
  const add = (d: Buffer) => {
    output += d.toString();
    chunks.push({ at: Date.now(), end: output.length });
  };
  child.stdout.on('data', add);
  child.stderr.on('data', add);
  const seenAt = (text: string) => {
    const index = output.indexOf(text);
    return index < 0 ? undefined : chunks.find((c) => c.end > index)?.at;
  };
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('close', (code, signal) => done({ code, signal })),
  );
  return { child, pid: child.pid!, output: () => output, seenAt, exit };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 25 ms until it returns a value; fails after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** The server session of the migrator process `pid` (its application_name names the pid). */
async function sessionOf(
  db: ScratchDatabase,
  pid: number,
): Promise<{ pid: number; state: string; query: string; running_ms: number } | undefined> {
  const rows = await db.query<{ pid: number; state: string; query: string; running_ms: number }>(
    `SELECT pid, state, query, (extract(epoch FROM clock_timestamp() - query_start) * 1000)::int AS running_ms
       FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1`,
    [`data-layer migrate (pid ${pid} on %`],
  );
  return rows[0];
}

/** Waits until the server session `backend` is gone; returns when (Date.now()). */
async function goneAt(db: ScratchDatabase, backend: number, timeoutMs: number): Promise<number> {
  return waitFor(
    `session ${backend} to end`,
    async () => ((await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [backend])).length === 0 ? Date.now() : undefined),
    timeoutMs,
  );
}

async function kill(run: Run): Promise<number> {
  run.child.kill('SIGKILL');
  const { signal } = await run.exit;
  expect(signal).toBe('SIGKILL');
  return Date.now();
}

const KNOBS = '20260101000000_knobs';
const knobs = (sleepS: number) =>
  sql(`CREATE TABLE knobs (sleep_s float8 NOT NULL);\nINSERT INTO knobs VALUES (${sleepS});`, 'DROP TABLE knobs;');
/** A transactional migration whose second statement sleeps for knobs.sleep_s. */
const SLOW = '20260102000000_slow';
const slow = sql('CREATE TABLE b (id int);\nSELECT pg_sleep((SELECT sleep_s FROM knobs));', 'DROP TABLE b;');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
async function scratch(files: Record<string, string>): Promise<{ db: ScratchDatabase; dir: MigrationsDir }> {
  const db = await createScratchDatabase();
  const dir = migrationsDir(files);
  cleanups.push(
    () => db.drop(),
    () => dir.cleanup(),
  );
  return { db, dir };
}
const ledger = async (db: ScratchDatabase) =>
  (await db.query<{ name: string }>('SELECT name FROM public.schema_migrations ORDER BY name')).map((r) => r.name);

/** One line per measurement, collected in the test output: the figures the bounds are about. */
const measured = (label: string, figures: Record<string, number>) =>
  console.log(
    `[fault] ${label}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );

describe('a migrator killed with SIGKILL during a long statement', () => {
  it('leaves a session the server ends within about client_connection_check_interval, not at the end of the statement', async () => {
    const figures: Record<string, number> = {};
    for (const [label, flags] of [
      ['without', ['--connection-check-interval', '0']],
      ['with', []],
    ] as const) {
      const { db, dir } = await scratch({ [`${KNOBS}.sql`]: knobs(8), [`${SLOW}.sql`]: slow });
      const run = migrate(db, dir, [...flags]);
      const session = await waitFor(
        'the migrator to sleep',
        async () => {
          const s = await sessionOf(db, run.pid);
          return s?.state === 'active' && s.query.includes('pg_sleep') && s.running_ms >= 300 ? s : undefined;
        },
        30_000,
      );
      const killedAt = await kill(run);
      const remainingMs = 8000 - session.running_ms;
      const gone = await goneAt(db, session.pid, 20_000);
      figures[`orphan_ms_${label}`] = gone - killedAt;
      figures[`statement_left_ms_${label}`] = remainingMs;
      // Nothing of the killed run's transaction survived, and the lock went with the session.
      expect(await ledger(db)).toEqual([KNOBS]);
      expect(
        await db.query(
          `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        ),
      ).toEqual([]);
    }
    measured('orphaned session lifetime after SIGKILL', figures);
    // Without the check the session sleeps on (the statement had >= 6.5 s left); with it, it ends within ~1 s.
    expect(figures.orphan_ms_without).toBeGreaterThanOrEqual(figures.statement_left_ms_without! - 1500);
    expect(figures.orphan_ms_with).toBeLessThan(2500);
  }, 90_000);

  it('a rerun started right after the kill succeeds within seconds, well inside its lock wait', async () => {
    const { db, dir } = await scratch({ [`${KNOBS}.sql`]: knobs(60), [`${SLOW}.sql`]: slow });
    const run = migrate(db, dir);
    const session = await waitFor(
      'the migrator to sleep',
      async () => {
        const s = await sessionOf(db, run.pid);
        return s?.state === 'active' && s.query.includes('pg_sleep') ? s : undefined;
      },
      30_000,
    );
    await db.query('UPDATE knobs SET sleep_s = 0');
    const killedAt = await kill(run);
    const rerun = migrate(db, dir);
    const [gone, result] = await Promise.all([goneAt(db, session.pid, 20_000), rerun.exit]);
    const rerunMs = Date.now() - killedAt;
    // Process start-up (tsx) until it connects, then until it holds the lock and applies.
    const connecting = rerun.seenAt('database: ')! - killedAt;
    const applying = rerun.seenAt(`applying ${SLOW}`)! - killedAt;
    measured('rerun after SIGKILL (transactional)', {
      orphan_ms: gone - killedAt,
      rerun_connecting_ms: connecting,
      rerun_applying_ms: applying,
      rerun_ms: rerunMs,
      lock_wait_ms: LOCK_WAIT_MS,
    });
    // Once connected, the lock came within about a second of the orphan's end (backoff tops out at 1 s).
    expect(applying - Math.max(connecting, gone - killedAt)).toBeLessThan(2500);
    expect(result.code, rerun.output()).toBe(0);
    expect(rerun.output()).toContain(`applied ${SLOW}`);
    expect(await ledger(db)).toEqual([KNOBS, SLOW]);
    expect(gone - killedAt).toBeLessThan(2500);
    expect(rerunMs).toBeLessThan(15_000);
  }, 90_000);

  it('a rerun finds the holder of the lock dead (its process is gone) and ends the orphaned session instead of waiting', async () => {
    const { db, dir } = await scratch({ [`${KNOBS}.sql`]: knobs(60), [`${SLOW}.sql`]: slow });
    // Without the interval the orphan would hold the lock for the rest of its 60 s sleep.
    const run = migrate(db, dir, ['--connection-check-interval', '0']);
    const session = await waitFor(
      'the migrator to sleep',
      async () => {
        const s = await sessionOf(db, run.pid);
        return s?.state === 'active' && s.query.includes('pg_sleep') ? s : undefined;
      },
      30_000,
    );
    await db.query('UPDATE knobs SET sleep_s = 0');
    const killedAt = await kill(run);
    const rerun = migrate(db, dir, ['--connection-check-interval', '0']);
    const [gone, result] = await Promise.all([goneAt(db, session.pid, 30_000), rerun.exit]);
    const rerunMs = Date.now() - killedAt;
    measured('rerun after SIGKILL, dead holder terminated', {
      orphan_ms: gone - killedAt,
      rerun_connecting_ms: rerun.seenAt('database: ')! - killedAt,
      rerun_ms: rerunMs,
    });
    expect(result.code, rerun.output()).toBe(0);
    expect(rerun.output()).toContain(`the migration lock was held by the orphaned session pid ${session.pid}`);
    expect(rerun.output()).toContain(`its process ${run.pid} on this host no longer exists; terminated it with pg_terminate_backend`);
    expect(await ledger(db)).toEqual([KNOBS, SLOW]);
    expect(rerunMs).toBeLessThan(15_000);
  }, 90_000);
});

describe('a migrator killed with SIGKILL inside a transaction:false section', () => {
  // Statement 1 is not idempotent (it must not run twice); statement 3 builds an index on a slow
  // expression, so the kill lands in the middle of its CREATE INDEX CONCURRENTLY.
  const SETUP = '20260101000000_setup';
  const setup = sql(
    [
      'CREATE TABLE knobs (sleep_s float8 NOT NULL);',
      'INSERT INTO knobs VALUES (0.02);',
      'CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL);',
      'INSERT INTO t SELECT g, g, g FROM generate_series(1, 2000) g;',
      // Schema-qualified: PostgreSQL 17+ runs index expressions with search_path = pg_catalog, pg_temp.
      'CREATE FUNCTION slow_key(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep((SELECT sleep_s FROM public.knobs)); RETURN x; END $$;',
    ].join('\n'),
    'DROP FUNCTION slow_key(int); DROP TABLE t; DROP TABLE knobs;',
  );
  const INDEXES = '20260102000000_indexes';
  const indexes = sql(
    [
      "CREATE TABLE audit_note (note text NOT NULL DEFAULT 'indexes added');",
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_slow_idx ON t (slow_key(b));',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_ab_idx ON t (a, b);',
    ].join('\n'),
    [
      'DROP INDEX CONCURRENTLY IF EXISTS t_ab_idx;',
      'DROP INDEX CONCURRENTLY IF EXISTS t_slow_idx;',
      'DROP INDEX CONCURRENTLY IF EXISTS t_a_idx;',
      'DROP TABLE audit_note;',
    ].join('\n'),
    { upOptions: 'transaction:false', downOptions: 'transaction:false' },
  );
  const indexState = (db: ScratchDatabase) =>
    db.query<{ name: string; valid: boolean }>(
      `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'public.t'::regclass AND c.relname <> 't_pkey' ORDER BY 1`,
    );

  it('is recorded as started; the rerun says which statements took effect, drops the INVALID index and resumes to completion', async () => {
    const { db, dir } = await scratch({ [`${SETUP}.sql`]: setup, [`${INDEXES}.sql`]: indexes });
    const run = migrate(db, dir);
    const session = await waitFor(
      'the slow CREATE INDEX CONCURRENTLY to be building',
      async () => {
        const s = await sessionOf(db, run.pid);
        if (!s?.query.includes('t_slow_idx')) return undefined;
        const phase = await db.query<{ phase: string }>('SELECT phase FROM pg_stat_progress_create_index WHERE pid = $1', [s.pid]);
        return phase[0]?.phase.startsWith('building index') ? s : undefined;
      },
      30_000,
    );
    const killedAt = await kill(run);
    const gone = await goneAt(db, session.pid, 20_000);

    // What the kill left: statements 1-2 done and recorded, statement 3's index INVALID, no ledger row.
    expect(await ledger(db)).toEqual([SETUP]);
    expect(await indexState(db)).toEqual([
      { name: 't_a_idx', valid: true },
      { name: 't_slow_idx', valid: false },
    ]);
    expect(await db.query('SELECT name, direction, statements, statements_done FROM data_layer_migrate.progress')).toEqual([
      { name: INDEXES, direction: 'up', statements: 4, statements_done: 2 },
    ]);
    const status = await db.migrator(dir.path).status();
    expect(status.find((s) => s.name === INDEXES)).toMatchObject({
      state: 'pending',
      started: { direction: 'up', statementsDone: 2, statements: 4, resumable: true },
    });

    await db.query('UPDATE knobs SET sleep_s = 0');
    const resumeStarted = Date.now();
    const rerun = migrate(db, dir);
    const result = await rerun.exit;
    const resumeMs = Date.now() - resumeStarted;
    // Process start-up (tsx, slow on a loaded machine) until it connects, then the resume itself.
    const connectedMs = rerun.seenAt('database: ')! - resumeStarted;
    measured('transaction:false kill and resume', {
      orphan_ms: gone - killedAt,
      resume_connecting_ms: connectedMs,
      resume_after_connect_ms: resumeMs - connectedMs,
      resume_ms: resumeMs,
    });
    expect(result.code, rerun.output()).toBe(0);
    const out = rerun.output();
    expect(out).toContain(
      `resuming ${INDEXES} (up, transaction:false): it was started (up, transaction:false) by data-layer migrate (pid ${run.pid} on `,
    );
    expect(out).toContain(
      'and stopped after 2 of its 4 statements; statements 1-2 (lines 2, 3) took effect; continuing at statement 3 (line 4)',
    );
    expect(out).toContain(
      `${INDEXES}.sql, statement 3 (line 4): index public.t_slow_idx is INVALID (an interrupted CREATE INDEX CONCURRENTLY leaves it so), ` +
        'and IF NOT EXISTS would keep it: dropping it (DROP INDEX CONCURRENTLY IF EXISTS public.t_slow_idx)',
    );
    expect(out).toContain(`applied ${INDEXES}`);
    // Statement 1 ran exactly once (a second CREATE TABLE would have failed), every index is valid,
    // the ledger has the row and the progress record is gone with its schema.
    expect(await db.query('SELECT count(*)::int AS n FROM audit_note')).toEqual([{ n: 0 }]);
    expect(await indexState(db)).toEqual([
      { name: 't_a_idx', valid: true },
      { name: 't_ab_idx', valid: true },
      { name: 't_slow_idx', valid: true },
    ]);
    expect(await ledger(db)).toEqual([SETUP, INDEXES]);
    expect(await db.query(`SELECT to_regnamespace('data_layer_migrate') AS schema`)).toEqual([{ schema: null }]);
    expect(gone - killedAt).toBeLessThan(2500);
    expect(resumeMs - connectedMs).toBeLessThan(10_000);
    expect(resumeMs).toBeLessThan(30_000);
  }, 90_000);
});
