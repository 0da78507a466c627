/**
 * transaction:false sections are checked when the file is parsed: every statement must run either
 * exactly once (in a transaction with its progress record) or be safe to run again, so that an
 * interrupted run can always resume. Also the migrator's session names (session.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MigrationError } from '../../src/errors.js';
import { createMigrator } from '../../src/migrate/index.js';
import { parseMigration } from '../../src/migrate/files.js';
import {
  APPLICATION_NAME_MAX,
  holderLiveness,
  migratorApplicationName,
  parseMigratorApplicationName,
  processIdentity,
} from '../../src/migrate/session.js';
import { splitSql } from '../../src/migrate/sql-splitter.js';
import { planSection, type RunMode } from '../../src/migrate/statements.js';

const NAME = '20261124120000_indexes.sql';
const nonTx = (up: string) => `-- migrate:up transaction:false\n${up}\n`;

function parseError(content: string): MigrationError {
  try {
    parseMigration(NAME, content);
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationError);
    return error as MigrationError;
  }
  throw new Error('expected a MigrationError');
}

const modes = (script: string): RunMode[] => {
  const { plan, problems } = planSection(splitSql(script));
  expect(problems).toEqual([]);
  return plan.map((p) => p.run);
};

describe('planSection', () => {
  it('runs what PostgreSQL accepts in a transaction exactly once, in a transaction with its progress', () => {
    expect(
      modes(
        "CREATE TABLE t (a int); ALTER TYPE mood ADD VALUE 'x'; INSERT INTO t VALUES (1); CREATE INDEX i ON t (a); DROP INDEX i; DO $$ BEGIN END $$; ANALYZE; SET LOCAL work_mem = '1MB'",
      ).map((m) => m.mode),
    ).toEqual(['transaction', 'transaction', 'transaction', 'transaction', 'transaction', 'transaction', 'rerun', 'transaction']);
  });

  it('knows how to re-run the statements that must run on their own, and what to check first', () => {
    expect(
      modes(
        [
          'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a)',
          'create unique index concurrently "T_b" on only app."T" using btree (b)',
          'DROP INDEX CONCURRENTLY IF EXISTS app.t_a_idx',
          'DROP INDEX CONCURRENTLY t_a_idx',
          'REINDEX (VERBOSE) TABLE CONCURRENTLY app.t',
          'REINDEX INDEX t_a_idx',
          'VACUUM (ANALYZE) t',
          'ALTER SYSTEM SET work_mem = 4096',
          'DROP DATABASE IF EXISTS scratch',
        ].join(';\n'),
      ),
    ).toEqual([
      { mode: 'rerun', what: 'CREATE INDEX CONCURRENTLY', check: { kind: 'create-index', index: 't_a_idx', table: 't' } },
      { mode: 'rerun', what: 'CREATE INDEX CONCURRENTLY', check: { kind: 'create-index', index: 'T_b', table: 'app."T"' } },
      { mode: 'rerun', what: 'DROP INDEX CONCURRENTLY', check: { kind: 'drop-index', index: 'app.t_a_idx', ifExists: true } },
      { mode: 'rerun', what: 'DROP INDEX CONCURRENTLY', check: { kind: 'drop-index', index: 't_a_idx', ifExists: false } },
      { mode: 'rerun', what: 'REINDEX CONCURRENTLY', check: { kind: 'reindex', target: 'table', name: 'app.t' } },
      { mode: 'rerun', what: 'REINDEX' },
      { mode: 'rerun', what: 'VACUUM' },
      { mode: 'rerun', what: 'ALTER SYSTEM' },
      { mode: 'rerun', what: 'DROP DATABASE' },
    ]);
  });

  it('replays SET and RESET, and keeps a BEGIN ... COMMIT block written in the section together', () => {
    expect(
      modes(
        'SET search_path = app; RESET work_mem; BEGIN; INSERT INTO t VALUES (1); SAVEPOINT s; ROLLBACK TO s; COMMIT; START TRANSACTION; SELECT 1; ABORT',
      ).map((m) => m.mode),
    ).toEqual([
      'session',
      'session',
      'block-begin',
      'in-block',
      'in-block',
      'in-block',
      'block-commit',
      'block-begin',
      'in-block',
      'block-rollback',
    ]);
  });

  it('is not fooled by keywords in comments, strings or quoted names', () => {
    expect(
      modes('/* CREATE INDEX CONCURRENTLY x ON t (a) */ SELECT \'VACUUM\'; -- VACUUM\nSELECT "vacuum" FROM t').map((m) => m.mode),
    ).toEqual(['transaction', 'transaction']);
  });
});

describe('parseMigration of a transaction:false section', () => {
  it.each([
    [
      'an unnamed CREATE INDEX CONCURRENTLY',
      'CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY ON t (a);',
      'line 3: CREATE INDEX CONCURRENTLY without an index name is not safe to run again after an interruption: name the index: CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON ...',
    ],
    [
      'CREATE DATABASE',
      'CREATE DATABASE other;',
      'line 2: CREATE DATABASE is not safe to run again after an interruption: it cannot run in a transaction and has no IF NOT EXISTS',
    ],
    [
      'DROP DATABASE without IF EXISTS',
      'DROP DATABASE other;',
      'line 2: DROP DATABASE is not safe to run again after an interruption: write DROP DATABASE IF EXISTS',
    ],
    [
      'a concurrent DETACH PARTITION',
      'ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;',
      'line 2: ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY is not safe',
    ],
    ['a subscription', "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p;", 'line 2: CREATE SUBSCRIPTION is not safe'],
    ['DISCARD', 'DISCARD ALL;', "line 2: DISCARD is not safe to run again after an interruption: it resets the runner's session"],
    [
      'a BEGIN never closed',
      'BEGIN;\nSELECT 1;',
      'line 2: this BEGIN is never closed: end the transaction with COMMIT in the same section',
    ],
    ['a COMMIT without BEGIN', 'SELECT 1;\nCOMMIT;', 'line 3: COMMIT ends no transaction: there is no BEGIN before it in this section'],
    ['a savepoint outside a transaction', 'SAVEPOINT s;', 'line 2: a savepoint needs a transaction: put it between BEGIN and COMMIT'],
    [
      'CREATE INDEX CONCURRENTLY inside a written BEGIN',
      'BEGIN;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);\nCOMMIT;',
      'line 3: CREATE INDEX CONCURRENTLY cannot run inside the transaction opened at line 2; move it after the COMMIT',
    ],
    [
      'COMMIT AND CHAIN',
      'BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\nCOMMIT;',
      'line 4: COMMIT AND CHAIN is not safe to run again after an interruption: write COMMIT; then BEGIN;',
    ],
  ])('refuses %s, naming the file, the line and what to write instead', (_label, up, message) => {
    const error = parseError(nonTx(up));
    expect(error.file).toBe(NAME);
    expect(error.code).toBe('MIGRATION_INVALID');
    expect(error.message).toContain(
      `${NAME}: the "-- migrate:up transaction:false" section (line 1) could not be resumed safely if a run were interrupted; nothing was run:`,
    );
    expect(error.message).toContain(message);
  });

  it('lists every problem of a section at once, and checks the down section too', () => {
    const error = parseError('-- migrate:up\nSELECT 1;\n-- migrate:down transaction:false\nCREATE DATABASE a;\nDROP TABLESPACE b;\n');
    expect(error.message).toContain('the "-- migrate:down transaction:false" section (line 3)');
    expect(error.message).toContain('  - line 4: CREATE DATABASE');
    expect(error.message).toContain(
      '  - line 5: DROP TABLESPACE is not safe to run again after an interruption: write DROP TABLESPACE IF EXISTS',
    );
  });

  it('accepts a statement marked -- migrate:rerunnable, which then runs on its own', () => {
    const m = parseMigration(
      NAME,
      nonTx(
        'CREATE TABLE t (a int);\n-- migrate:rerunnable\nCALL backfill_in_batches();\n\n-- migrate:rerunnable\n\nCREATE DATABASE scratch;',
      ),
    );
    expect(m.up.rerunnable).toEqual([4, 8]);
    expect(planSection(m.up.statements, new Set(m.up.rerunnable)).plan.map((p) => p.run.mode)).toEqual(['transaction', 'rerun', 'rerun']);
    // A transactional section has no rerunnable field at all, so its shape is unchanged.
    expect(parseMigration(NAME, '-- migrate:up\nSELECT 1;').up).toEqual({ transaction: true, statements: [{ sql: 'SELECT 1', line: 2 }] });
  });

  it.each([
    [
      'in a transactional section',
      '-- migrate:up\n-- migrate:rerunnable\nSELECT 1;',
      'line 2: "-- migrate:rerunnable" applies only to a "transaction:false" section',
    ],
    [
      'with nothing after it',
      nonTx('SELECT 1;\n-- migrate:rerunnable'),
      'line 3: "-- migrate:rerunnable" is not followed by a statement in its section',
    ],
    ['with options', nonTx('-- migrate:rerunnable yes\nSELECT 1;'), 'line 2: "-- migrate:rerunnable" takes no options (got "yes")'],
    [
      'on transaction control',
      nonTx('-- migrate:rerunnable\nBEGIN;\nCOMMIT;'),
      'line 3: -- migrate:rerunnable cannot mark transaction control',
    ],
    [
      'inside a written BEGIN',
      nonTx('BEGIN;\n-- migrate:rerunnable\nSELECT 1;\nCOMMIT;'),
      'line 4: -- migrate:rerunnable has no meaning inside the transaction opened at line 2',
    ],
  ])('refuses -- migrate:rerunnable %s', (_label, content, message) => {
    expect(parseError(content).message).toContain(message);
  });

  it('refuses a bad file before connecting: nothing is touched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-rerun-'));
    try {
      writeFileSync(join(dir, NAME), nonTx('CREATE INDEX CONCURRENTLY ON t (a);'));
      const migrator = createMigrator({
        connection: { host: '127.0.0.1', port: 1, user: 'nobody', database: 'nowhere' },
        migrationsDir: dir,
      });
      const error = await migrator.up().then(
        () => undefined,
        (e: unknown) => e as MigrationError,
      );
      expect(error).toBeInstanceOf(MigrationError);
      expect(error?.code).toBe('MIGRATION_INVALID');
      expect(error?.file).toBe(NAME);
      expect(error?.message).toContain('line 2: CREATE INDEX CONCURRENTLY without an index name');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('migrator session names', () => {
  it('fit in 63 bytes with any host name, and carry pid and identity a waiter can parse back', () => {
    const me = processIdentity();
    for (const host of ['h', 'a'.repeat(200), 'ip-10-0-12-34.eu-west-1.compute.internal']) {
      const name = migratorApplicationName({ ...me, pid: 4194304, host });
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(APPLICATION_NAME_MAX);
      expect(parseMigratorApplicationName(name)).toMatchObject({ pid: 4194304, hostTag: me.hostTag, startTag: me.startTag });
    }
    expect(migratorApplicationName({ pid: 7, host: 'mac' })).toBe('data-layer migrate (pid 7 on mac)');
    expect(parseMigratorApplicationName('data-layer migrate (pid 7 on mac)')).toEqual({
      pid: 7,
      host: 'mac',
      hostTag: undefined,
      startTag: undefined,
    });
    expect(parseMigratorApplicationName('data-layer migrate blocker watch (pid 7)')).toBeUndefined();
  });

  it('tell this live process from a gone one, and never call anything elsewhere dead', () => {
    const me = processIdentity();
    expect(me.hostTag).toMatch(/^[0-9a-f]{8}$/); // Linux: /proc is there
    expect(holderLiveness(migratorApplicationName(me)).verdict).toBe('alive');
    expect(holderLiveness(migratorApplicationName({ ...me, pid: 0 })).verdict).toBe('unknown');
    expect(holderLiveness(migratorApplicationName({ ...me, hostTag: 'ffffffff', pid: 2 ** 22 + 1 })).verdict).toBe('unknown');
    expect(holderLiveness(migratorApplicationName({ ...me, pid: 2 ** 22 + 1 }))).toEqual({
      verdict: 'dead',
      reason: `its process ${2 ** 22 + 1} on this host no longer exists`,
    });
  });
});
