/**
 * The lint's mechanics, without a database: grading by where a table was created and by a size
 * lookup, `-- migrate:lint-ignore` lines, parse errors with file and line, and the checksum that
 * leaves lint-ignore lines out.
 */
import { describe, expect, it } from 'vitest';
import { MigrationError } from '../../src/errors.js';
import { checksumOf, loadMigrations, parseMigration } from '../../src/migrate/files.js';
import { lintMigrations, type SizeLookup } from '../../src/migrate/lint/index.js';
import { defaultMigrationsDir } from '../../src/migrate/paths.js';

const file = (name: string, up: string, header = '') =>
  parseMigration(`${name}.sql`, `${header}-- migrate:up\n${up}\n-- migrate:down\nSELECT 1;\n`);

const sizes =
  (table: Record<string, { rows: number | null; bytes: number } | null>): SizeLookup =>
  async (relations) =>
    new Map(relations.map((r) => [r, table[r] ? { table: r, ...table[r] } : null]));

async function rejection(promise: Promise<unknown>): Promise<MigrationError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationError);
    return error as MigrationError;
  }
  throw new Error('expected a MigrationError');
}

describe('grading', () => {
  const create = file('20260101000000_create', 'CREATE TABLE t (a int);');
  const index = file('20260102000000_index', 'CREATE INDEX t_a_idx ON t (a);');

  it('makes a finding on a table created earlier in the same file a note', async () => {
    const report = await lintMigrations([file('20260101000000_x', 'CREATE TABLE t (a int);\nCREATE INDEX t_a_idx ON t (a);')]);
    expect(report.findings).toMatchObject([{ rule: 'require-concurrent-index-creation', severity: 'note', line: 3 }]);
    expect(report.errors).toBe(0);
  });

  it('treats a table of an earlier file as new only in run mode (what up checks), not each file alone (what CI checks)', async () => {
    expect((await lintMigrations([create, index], { mode: 'run' })).findings[0]).toMatchObject({
      severity: 'note',
      grade: 'created by 20260101000000_create.sql earlier in this run',
    });
    expect((await lintMigrations([create, index])).findings[0]).toMatchObject({
      severity: 'error',
      grade: 'no database to compare against: assumed large',
    });
  });

  it('grades by the live size: a note below the threshold, an error above it or when the table is missing', async () => {
    const thresholds = { rows: 1000, bytes: 1024 * 1024 };
    const lint = (t: Parameters<typeof sizes>[0]) => lintMigrations([index], { sizes: sizes(t), thresholds });
    expect((await lint({ t: { rows: 10, bytes: 16384 } })).findings[0]).toMatchObject({
      severity: 'note',
      grade: 't: about 10 rows, 16 KiB, below the threshold',
    });
    expect((await lint({ t: { rows: 5000, bytes: 16384 } })).findings[0]).toMatchObject({ severity: 'error' });
    expect((await lint({ t: { rows: null, bytes: 4 * 1024 * 1024 } })).findings[0]).toMatchObject({
      severity: 'error',
      grade: expect.stringContaining('never analyzed, 4 MiB, above the threshold'),
    });
    expect((await lint({ t: null })).findings[0]).toMatchObject({ severity: 'error', grade: 'not in the database: assumed large' });
  });

  it('keeps an application-compatibility rule an error on a small live table (old code still uses it)', async () => {
    const report = await lintMigrations([file('20260101000000_x', 'ALTER TABLE t DROP COLUMN a;')], {
      sizes: sizes({ t: { rows: 0, bytes: 0 } }),
    });
    expect(report.findings).toMatchObject([{ rule: 'ban-drop-column', severity: 'error' }]);
  });
});

describe('-- migrate:lint-ignore', () => {
  it('before "-- migrate:up" accepts the rule in the whole file, with the reason', async () => {
    const m = file(
      '20260101000000_x',
      'CREATE INDEX a_idx ON t (a);\nCREATE INDEX b_idx ON t (b);',
      '-- migrate:lint-ignore require-concurrent-index-creation t is a lookup table of 20 rows\n',
    );
    const report = await lintMigrations([m]);
    expect(report.findings.map((f) => f.ignored)).toEqual(['t is a lookup table of 20 rows', 't is a lookup table of 20 rows']);
    expect([report.errors, report.ignored]).toEqual([0, 2]);
  });

  it('in the section accepts only the next statement', async () => {
    const m = file(
      '20260101000000_x',
      '-- migrate:lint-ignore require-concurrent-index-creation built while the feature is dark\nCREATE INDEX a_idx ON t (a);\nCREATE INDEX b_idx ON t (b);',
    );
    const report = await lintMigrations([m]);
    expect(report.findings.map((f) => [f.line, f.ignored])).toEqual([
      [3, 'built while the feature is dark'],
      [4, undefined],
    ]);
    expect(report.errors).toBe(1);
  });

  it('that matches nothing is a warning; one naming no rule is refused with its line', async () => {
    const unused = file('20260101000000_x', '-- migrate:lint-ignore ban-drop-table nothing is dropped\nSELECT 1;');
    expect((await lintMigrations([unused])).findings).toMatchObject([{ rule: 'unused-lint-ignore', severity: 'warning', line: 2 }]);
    const unknown = file('20260101000000_x', '-- migrate:lint-ignore no-such-rule because\nSELECT 1;');
    const error = await rejection(lintMigrations([unknown]));
    expect(error.message).toContain('20260101000000_x.sql: line 2: "-- migrate:lint-ignore no-such-rule" names no lint rule');
  });

  it('without a reason, or in the down section, is refused when the file is parsed', () => {
    expect(() => file('20260101000000_x', '-- migrate:lint-ignore ban-drop-table\nSELECT 1;')).toThrow(
      /line 2: write "-- migrate:lint-ignore <rule-id> <reason>"/,
    );
    expect(() =>
      parseMigration(
        '20260101000000_x.sql',
        '-- migrate:up\nSELECT 1;\n-- migrate:down\n-- migrate:lint-ignore ban-drop-table why\nDROP TABLE t;\n',
      ),
    ).toThrow(/line 4: "-- migrate:lint-ignore" in the down section/);
  });

  it('is left out of the checksum, so a file applied before the line was added still verifies', () => {
    const original = '-- migrate:up\nCREATE INDEX a_idx ON t (a);\n-- migrate:down\nDROP INDEX a_idx;\n';
    const accepted =
      '-- migrate:lint-ignore require-concurrent-index-creation small table\n-- migrate:up\n' +
      '-- migrate:lint-ignore require-concurrent-index-creation really\nCREATE INDEX a_idx ON t (a);\n-- migrate:down\nDROP INDEX a_idx;\n';
    expect(checksumOf(accepted)).toBe(checksumOf(original));
    expect(checksumOf(accepted.replace(/\n/g, '\r\n'))).toBe(checksumOf(original));
    expect(checksumOf(original.replace('a_idx ON', 'b_idx ON'))).not.toBe(checksumOf(original));
  });

  it("keeps the shipped migrations' checksums as databases recorded them before the lint existed", () => {
    const recorded: Record<string, string> = {
      '20261124120100_add_indexes_and_constraints': '0a57f0f216b900ef8ce27e64b91098f2c758c04930bea72eabe5a9519c309485',
      '20261125090000_business_ideas_search': '17d763f71eb55d159fd34e6885f514dea11f6f282ff16bcc4a8c9c826a5ea3eb',
      '20261125090100_evaluation_leases_and_agent_result_indexes': '4a5dcacfbfa09ffa2a9d82d11c3cdec8508138d9f0f506c5fac5d645b6dbd18a',
      '20261201090100_idempotency_key_indexes': 'b645d4a0c2fdbfb332d8f2d2e2a87ce4e58ad77debbd42726ed04bcb809d068c',
    };
    const files = loadMigrations(defaultMigrationsDir());
    for (const [name, checksum] of Object.entries(recorded)) {
      const m = files.find((f) => f.name === name)!;
      expect(m.lintIgnores.length, name).toBeGreaterThan(0);
      expect(m.checksum, name).toBe(checksum);
    }
  });
});

describe('bad input', () => {
  it('a statement PostgreSQL cannot parse is reported with the file and the line of the error', async () => {
    const m = file('20260101000000_typo', 'CREATE TABLE t (a int);\nALTER TABLE t\n  ADD COLUMN b int,\n  ADD COLUMM c int;');
    const error = await rejection(lintMigrations([m]));
    expect(error.file).toBe('20260101000000_typo.sql');
    expect(error.code).toBe('MIGRATION_INVALID');
    expect(error.message).toMatch(
      /^20260101000000_typo\.sql: PostgreSQL's parser rejects the statement at line 5: syntax error at or near "int"/,
    );
  });

  it("with onParseError 'skip' (up's choice) it is a warning and the other statements are still linted", async () => {
    const m = file('20260101000000_typo', 'CREATE TABEL t (a int);\nDROP TABLE u;');
    const report = await lintMigrations([m], { onParseError: 'skip' });
    expect(report.findings.map((f) => [f.rule, f.line])).toEqual([
      ['unparsed-statement', 2],
      ['ban-drop-table', 3],
    ]);
  });
});
