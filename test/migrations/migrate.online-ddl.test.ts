/**
 * The forms the lint suggests let writes through while they run; the forms it flags do not. Proved
 * structurally, without timing: each migration is paused in the middle of its scan of the table,
 * holding whatever lock it holds, and a write is made to the table meanwhile.
 *
 * The pause: the index expression or the CHECK calls `held(gate)`, which for the one row with
 * gate = 0 takes a shared advisory lock that the test holds exclusively, so the scan stops at that
 * row (pg_stat_activity: wait_event_type Lock, wait_event advisory) until the test lets go. The
 * writer's rows have gate = 1 and never wait there. Then:
 * - CREATE INDEX CONCURRENTLY (transaction:false) and VALIDATE CONSTRAINT after ADD ... NOT VALID
 *   hold SHARE UPDATE EXCLUSIVE: an INSERT and an UPDATE commit while the statement is still
 *   paused;
 * - plain CREATE INDEX (SHARE) and ADD CONSTRAINT ... CHECK (ACCESS EXCLUSIVE): the same write
 *   waits for a relation lock, blocked by the migrator's backend, and commits only once the
 *   migration has.
 * The bench (`npm run bench -- migrations`, scripts/bench/migrations.ts) measures what this costs.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createScratchDatabase, migrationsDir, sql, type MigrationsDir, type ScratchDatabase } from './support.js';

const GATE: [number, number] = [4242, 13];

let db: ScratchDatabase;
let dir: MigrationsDir;
const clients: pg.Client[] = [];

beforeEach(async () => {
  db = await createScratchDatabase();
  dir = migrationsDir();
  await db.query(`
    CREATE TABLE orders (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      gate int NOT NULL DEFAULT 1,
      reference text NOT NULL
    );
    -- IMMUTABLE so that an index may use it; it is, but for the pause.
    CREATE FUNCTION held(v int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
    BEGIN
      IF v = 0 THEN PERFORM pg_advisory_xact_lock_shared(${GATE[0]}, ${GATE[1]}); END IF;
      RETURN v;
    END $$;
    INSERT INTO orders (gate, reference) SELECT CASE WHEN g = 50 THEN 0 ELSE 1 END, md5(g::text) FROM generate_series(1, 100) AS g;
  `);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  dir.cleanup();
  await db.drop();
});

async function connect(name: string): Promise<pg.Client> {
  const client = new pg.Client({ ...db.connection, password: db.connection.password, application_name: name });
  client.on('error', () => undefined);
  await client.connect();
  clients.push(client);
  return client;
}

/** Polls until `check` returns a value (not a timing threshold: a bound so a broken run fails instead of hanging). */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`gave up waiting: ${what}`);
}

interface Paused {
  /** The migrator's backend, paused at the gate row. */
  pid: number;
  /** The lock modes it holds on `orders`. */
  modes: string[];
  /** Lets the statement go on, and waits for the migration to finish. */
  finish(): Promise<void>;
}

/** Applies `file` and returns once its statement matching `statement` is paused at the gate row. */
async function applyPaused(file: string, statement: RegExp): Promise<Paused> {
  const gate = await connect('test gate');
  await gate.query('SELECT pg_advisory_lock($1, $2)', GATE);
  dir.write({ '20261201000000_ddl.sql': file });
  const up = db.migrator(dir.path, { lockTimeoutMs: 0 }).up();
  up.catch(() => undefined);
  const pid = await until('the migration to reach the gate row', async () => {
    const rows = await db.query<{ pid: number; query: string }>(
      `SELECT pid, query FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'data-layer migrate (pid%'
          AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
    );
    return rows.find((r) => statement.test(r.query))?.pid;
  });
  const modes = (
    await db.query<{ mode: string }>(
      `SELECT mode FROM pg_locks WHERE pid = $1 AND granted AND relation = 'orders'::regclass ORDER BY mode`,
      [pid],
    )
  ).map((r) => r.mode);
  return {
    pid,
    modes,
    async finish() {
      await gate.query('SELECT pg_advisory_unlock($1, $2)', GATE);
      const applied = await up;
      expect(applied.map((m) => m.name)).toEqual(['20261201000000_ddl']);
    },
  };
}

/** Whether backend `pid` is still paused at the gate row. */
async function stillPaused(pid: number): Promise<boolean> {
  const rows = await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock' AND wait_event = 'advisory'`, [
    pid,
  ]);
  return rows.length === 1;
}

/** A write of one row and an update of another; resolves when both have committed. */
async function write(client: pg.Client): Promise<void> {
  await client.query(`INSERT INTO orders (reference) VALUES ('written meanwhile')`);
  await client.query(`UPDATE orders SET reference = 'updated meanwhile' WHERE id = 1`);
}

const committed = async () =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE reference IN ('written meanwhile', 'updated meanwhile')`))[0]!
    .n;

/** The safe form: the write commits while the statement is paused, and the migration then completes. */
async function expectWritesCommit(paused: Paused): Promise<void> {
  expect(paused.modes).toEqual(['ShareUpdateExclusiveLock']);
  await write(await connect('test writer'));
  expect(await committed()).toBe(2);
  expect(await stillPaused(paused.pid)).toBe(true);
  await paused.finish();
}

/** The dangerous form: the write waits for the table lock the migrator holds, and commits only after the migration. */
async function expectWritesWait(paused: Paused): Promise<void> {
  const writer = await connect('test writer');
  const writerPid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  let settled = false;
  const writing = write(writer).finally(() => {
    settled = true;
  });
  writing.catch(() => undefined);
  const blockedBy = await until('the write to wait for a lock', async () => {
    const [row] = await db.query<{ blocked_by: number[] }>(
      `SELECT pg_blocking_pids(pid) AS blocked_by FROM pg_stat_activity
        WHERE pid = $1 AND wait_event_type = 'Lock' AND wait_event = 'relation'`,
      [writerPid],
    );
    return row?.blocked_by;
  });
  expect(blockedBy).toEqual([paused.pid]);
  expect(settled).toBe(false);
  expect(await stillPaused(paused.pid)).toBe(true);
  await paused.finish();
  await writing;
  expect(await committed()).toBe(2);
}

describe('an index on a table that takes writes', () => {
  it('CREATE INDEX CONCURRENTLY (transaction:false, as the lint suggests): a write commits while the build runs', async () => {
    const paused = await applyPaused(
      sql(
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_held_idx ON orders (held(gate));',
        'DROP INDEX CONCURRENTLY IF EXISTS orders_held_idx;',
        {
          upOptions: 'transaction:false',
          downOptions: 'transaction:false',
        },
      ),
      /CREATE INDEX CONCURRENTLY/i,
    );
    await expectWritesCommit(paused);
    const [index] = await db.query<{ valid: boolean }>(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'orders_held_idx'::regclass`,
    );
    expect(index?.valid).toBe(true);
  });

  it('plain CREATE INDEX (what the lint flags): the write waits for the build', async () => {
    const paused = await applyPaused(
      sql('CREATE INDEX orders_held_idx ON orders (held(gate));', 'DROP INDEX orders_held_idx;'),
      /CREATE INDEX/i,
    );
    expect(paused.modes).toEqual(['ShareLock']);
    await expectWritesWait(paused);
  });
});

describe('a CHECK constraint on a table that takes writes', () => {
  it('ADD ... NOT VALID, then VALIDATE CONSTRAINT (as the lint suggests): a write commits while the validation scans', async () => {
    const paused = await applyPaused(
      sql(
        'ALTER TABLE orders ADD CONSTRAINT orders_held_check CHECK (held(gate) >= 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_held_check;',
        'ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_held_check;',
        { upOptions: 'transaction:false' },
      ),
      /VALIDATE CONSTRAINT/i,
    );
    await expectWritesCommit(paused);
    const [constraint] = await db.query<{ validated: boolean }>(
      `SELECT convalidated AS validated FROM pg_constraint WHERE conname = 'orders_held_check'`,
    );
    expect(constraint?.validated).toBe(true);
  });

  it('ADD CONSTRAINT ... CHECK without NOT VALID (what the lint flags): the write waits for the scan', async () => {
    const paused = await applyPaused(
      sql(
        'ALTER TABLE orders ADD CONSTRAINT orders_held_check CHECK (held(gate) >= 0);',
        'ALTER TABLE orders DROP CONSTRAINT orders_held_check;',
      ),
      /ADD CONSTRAINT/i,
    );
    expect(paused.modes).toEqual(['AccessExclusiveLock']);
    await expectWritesWait(paused);
  });
});
