import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MigrationError } from '../../src/errors.js';
import { checksumOf, loadMigrations, parseMigration } from '../../src/migrate/files.js';

const NAME = '20261124120000_create_things.sql';

function parseError(content: string, fileName = NAME): MigrationError {
  try {
    parseMigration(fileName, content);
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationError);
    return error as MigrationError;
  }
  throw new Error('expected a MigrationError');
}

describe('parseMigration', () => {
  it('parses both sections with file line numbers, name, version and checksum', () => {
    const content =
      '-- a header comment\n-- migrate:up\nCREATE TABLE a (x int);\n\nCREATE INDEX ON a (x);\n\n-- migrate:down\nDROP TABLE a;\n';
    const m = parseMigration(NAME, content);
    expect(m.name).toBe('20261124120000_create_things');
    expect(m.version).toBe('20261124120000');
    expect(m.fileName).toBe(NAME);
    expect(m.checksum).toBe(checksumOf(content));
    expect(m.up).toEqual({
      transaction: true,
      statements: [
        { sql: 'CREATE TABLE a (x int)', line: 3 },
        { sql: 'CREATE INDEX ON a (x)', line: 5 },
      ],
    });
    expect(m.down).toEqual({ transaction: true, statements: [{ sql: 'DROP TABLE a', line: 8 }] });
  });

  it('reads transaction:false per section', () => {
    const m = parseMigration(
      NAME,
      '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON a (x);\n-- migrate:down   transaction:false\nDROP INDEX CONCURRENTLY i;\n',
    );
    expect(m.up.transaction).toBe(false);
    expect(m.down?.transaction).toBe(false);
    expect(parseMigration(NAME, '-- migrate:up transaction:false\nSELECT 1;\n-- migrate:down\nSELECT 2;').down?.transaction).toBe(true);
  });

  it('treats a missing or empty down section as irreversible (down = null)', () => {
    expect(parseMigration(NAME, '-- migrate:up\nSELECT 1;').down).toBeNull();
    expect(parseMigration(NAME, '-- migrate:up\nSELECT 1;\n-- migrate:down\n-- nothing to undo\n').down).toBeNull();
  });

  it('is insensitive to CRLF line endings and a BOM, in statements and checksum', () => {
    const lf = '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n';
    const crlf = lf.replace(/\n/g, '\r\n');
    const a = parseMigration(NAME, lf);
    const b = parseMigration(NAME, crlf);
    expect(b.checksum).toBe(a.checksum);
    expect(b.up).toEqual(a.up);
    expect(b.down).toEqual(a.down);
    expect(parseMigration(NAME, `\uFEFF${lf}`).up).toEqual(a.up);
    expect(checksumOf(lf.replace('SELECT 2', 'SELECT 3'))).not.toBe(a.checksum);
  });

  it.each([
    ['create_things.sql', 'file name must look like YYYYMMDDHHMMSS_snake_case_name.sql'],
    ['20261124120000-create-things.sql', 'file name must look like'],
    ['20261124120000_CreateThings.sql', 'file name must look like'],
    ['2026112412000_create_things.sql', 'file name must look like'],
    ['20261324120000_create_things.sql', 'is not a valid YYYYMMDDHHMMSS timestamp'],
    ['20261124250000_create_things.sql', 'is not a valid YYYYMMDDHHMMSS timestamp'],
  ])('rejects the file name %s', (fileName, message) => {
    const error = parseError('-- migrate:up\nSELECT 1;', fileName);
    expect(error.message).toContain(fileName);
    expect(error.message).toContain(message);
    expect(error.file).toBe(fileName);
    expect(error.code).toBe('MIGRATION_INVALID');
  });

  it.each([
    ['no up section', 'CREATE TABLE a ();\n', 'no "-- migrate:up" section'],
    ['only a down section', '-- migrate:down\nDROP TABLE a;\n', 'no "-- migrate:up" section'],
    ['an empty up section', '-- migrate:up\n-- todo\n-- migrate:down\nSELECT 1;', 'holds no statement'],
    ['two up sections', '-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;', 'more than one "-- migrate:up" section (lines 1, 3)'],
    ['two down sections', '-- migrate:up\nSELECT 1;\n-- migrate:down\n-- migrate:down\n', 'more than one "-- migrate:down"'],
    ['down before up', '-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;', 'comes before'],
    ['an unknown option', '-- migrate:up transaction:maybe\nSELECT 1;', 'unknown option "transaction:maybe"'],
    ['an unknown section', '-- migrate:up\nSELECT 1;\n-- migrate:sideways\n', 'unknown section "-- migrate:sideways"'],
    ['SQL before the up section', 'SELECT 0;\n-- migrate:up\nSELECT 1;', 'statement at line 1 is outside'],
    [
      'an unterminated string',
      "-- migrate:up\nSELECT 1;\nSELECT 'oops;\n-- migrate:down\n",
      'cannot parse the up section: unterminated quoted string (line 3)',
    ],
    [
      'an unterminated dollar quote in down',
      '-- migrate:up\nSELECT 1;\n-- migrate:down\nDO $$ BEGIN',
      'cannot parse the down section: unterminated dollar-quoted string $$ (line 4)',
    ],
    ['a psql meta-command', '-- migrate:up\n\\set x 1\n', 'psql meta-commands'],
    ['a COMMIT in a transactional section', '-- migrate:up\nSELECT 1;\nCOMMIT;\n', 'line 3: "COMMIT" controls the transaction'],
    ['a BEGIN in a transactional section', '-- migrate:up\nBEGIN;\nSELECT 1;\n', 'line 2: "BEGIN" controls the transaction'],
    ['a ROLLBACK in the down section', '-- migrate:up\nSELECT 1;\n-- migrate:down\nrollback;', '"ROLLBACK" controls the transaction'],
  ])('rejects a file with %s, naming the file', (_label, content, message) => {
    const error = parseError(content);
    expect(error.message).toContain(NAME);
    expect(error.message).toContain(message);
    expect(error.file).toBe(NAME);
  });

  it('allows transaction control in a transaction:false section, and savepoints anywhere', () => {
    expect(parseMigration(NAME, '-- migrate:up transaction:false\nBEGIN;\nSELECT 1;\nCOMMIT;').up.statements).toHaveLength(3);
    expect(parseMigration(NAME, '-- migrate:up\nSAVEPOINT s;\nSELECT 1;\nROLLBACK TO s;').up.statements).toHaveLength(3);
  });

  it('does not take markers inside a line for section markers', () => {
    const m = parseMigration(NAME, "-- migrate:up\nSELECT '-- migrate:down';\n");
    expect(m.up.statements).toEqual([{ sql: "SELECT '-- migrate:down'", line: 2 }]);
    expect(m.down).toBeNull();
  });
});

describe('loadMigrations', () => {
  const root = mkdtempSync(join(tmpdir(), 'dl-migrate-files-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const dirWith = (files: Record<string, string>): string => {
    const dir = join(root, String(n++));
    mkdirSync(dir);
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return dir;
  };
  const ok = '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n';

  it('loads .sql files sorted by version and ignores other files and folders', () => {
    const dir = dirWith({ '20260102000000_b.sql': ok, '20260101000000_a.sql': ok, 'README.md': 'x', '.gitkeep': '' });
    mkdirSync(join(dir, 'down.sql'));
    expect(loadMigrations(dir).map((m) => m.name)).toEqual(['20260101000000_a', '20260102000000_b']);
  });

  it('rejects two files with the same version, naming both', () => {
    const dir = dirWith({ '20260101000000_a.sql': ok, '20260101000000_b.sql': ok });
    expect(() => loadMigrations(dir)).toThrow(/20260101000000_b\.sql: version 20260101000000 is also used by 20260101000000_a\.sql/);
  });

  it('parses every file before returning, so one bad file fails the whole load', () => {
    const dir = dirWith({ '20260101000000_a.sql': ok, '20260102000000_b.sql': 'SELECT 1;', '20260103000000_c.sql': ok });
    expect(() => loadMigrations(dir)).toThrow(/20260102000000_b\.sql: no "-- migrate:up" section/);
  });

  it('rejects a .sql file with a bad name', () => {
    const dir = dirWith({ '20260101000000_a.sql': ok, 'seed.SQL': ok });
    expect(() => loadMigrations(dir)).toThrow(/seed\.SQL: the file name must look like/);
  });

  it('reports a missing directory clearly', () => {
    expect(() => loadMigrations(join(root, 'nope'))).toThrow(/cannot read the migrations directory .*nope \(ENOENT\)/);
  });
});
