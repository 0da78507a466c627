import { describe, expect, it } from 'vitest';
import { splitSql, SqlSplitError } from '../../src/migrate/sql-splitter.js';

const sqls = (script: string): string[] => splitSql(script).map((s) => s.sql);

describe('splitSql', () => {
  it('splits on semicolons and drops empty statements and trailing whitespace', () => {
    expect(sqls('SELECT 1; SELECT 2;\n;;\n  SELECT 3  ')).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3']);
    expect(sqls('')).toEqual([]);
    expect(sqls('  \n\n;  ')).toEqual([]);
  });

  it("records the line of each statement's first token, skipping leading comments and blank lines", () => {
    const script = '\n\n-- a comment\nCREATE TABLE a (\n  x int\n);\n/* block\n comment */ SELECT 1;\n\n\nSELECT\n2;';
    expect(splitSql(script)).toEqual([
      { sql: 'CREATE TABLE a (\n  x int\n)', line: 4 },
      { sql: 'SELECT 1', line: 8 },
      { sql: 'SELECT\n2', line: 11 },
    ]);
  });

  it('offsets lines by firstLine', () => {
    expect(splitSql('SELECT 1;\nSELECT 2;', 10).map((s) => s.line)).toEqual([10, 11]);
  });

  it('keeps semicolons inside single-quoted strings, with doubled quotes', () => {
    expect(sqls("INSERT INTO t VALUES ('a;b', 'it''s; fine');SELECT 2")).toEqual([
      "INSERT INTO t VALUES ('a;b', 'it''s; fine')",
      'SELECT 2',
    ]);
  });

  it('treats a backslash as an ordinary character in standard strings', () => {
    // standard_conforming_strings is on: 'a\' is a complete string.
    expect(sqls("SELECT 'a\\'; SELECT 2")).toEqual(["SELECT 'a\\'", 'SELECT 2']);
  });

  it('honours backslash escapes in E strings, either case', () => {
    expect(sqls("SELECT E'it\\'s; \\\\'; SELECT e'\\';'; SELECT 3")).toEqual(["SELECT E'it\\'s; \\\\'", "SELECT e'\\';'", 'SELECT 3']);
  });

  it('does not mistake a word ending in e before a literal for an E string prefix', () => {
    // date'...' is a typed literal (standard string), not E'...'.
    expect(sqls("SELECT date'x\\'; SELECT 2")).toEqual(["SELECT date'x\\'", 'SELECT 2']);
  });

  it('keeps semicolons inside double-quoted identifiers, with doubled quotes', () => {
    expect(sqls('CREATE TABLE "a;""b" (x int); SELECT 2')).toEqual(['CREATE TABLE "a;""b" (x int)', 'SELECT 2']);
  });

  it('keeps semicolons, quotes and comment markers inside $$ and $tag$ bodies', () => {
    const fn = `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- not a comment terminator; 'nor a quote
  NEW.updated_at := now(); /* unclosed
  RETURN NEW;
END;
$$`;
    const tagged = `DO $body$ BEGIN PERFORM 'x$$;'; RAISE NOTICE $q$;$q$; END $body$`;
    expect(sqls(`${fn};\n${tagged};\nSELECT 3;`)).toEqual([fn, tagged, 'SELECT 3']);
  });

  it('does not treat $1 parameters or $ inside identifiers as dollar quotes', () => {
    expect(sqls('PREPARE p AS SELECT $1; SELECT a$b$c FROM t; SELECT 3')).toEqual([
      'PREPARE p AS SELECT $1',
      'SELECT a$b$c FROM t',
      'SELECT 3',
    ]);
  });

  it('ignores semicolons in -- comments and nested /* */ comments', () => {
    const script = 'SELECT 1 -- ; not here\n; /* outer; /* inner; */ still comment; */ SELECT 2;';
    expect(sqls(script)).toEqual(['SELECT 1 -- ; not here', 'SELECT 2']);
  });

  it('drops comment-only text between and after statements', () => {
    expect(sqls('-- header\n/* note */\nSELECT 1;\n-- trailing; comment\n/* end; */')).toEqual(['SELECT 1']);
  });

  it('keeps BEGIN ATOMIC function bodies (with CASE ... END inside) in one statement', () => {
    const fn = `CREATE OR REPLACE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN a IS NULL THEN 0 ELSE a END + b;
  SELECT 1;
END`;
    const proc = 'CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END';
    expect(sqls(`${fn};\n${proc};\nSELECT 2;`)).toEqual([fn, proc, 'SELECT 2']);
  });

  it('does not treat a transaction BEGIN or a DO block as BEGIN ATOMIC', () => {
    expect(sqls('BEGIN; SELECT 1; COMMIT;')).toEqual(['BEGIN', 'SELECT 1', 'COMMIT']);
    expect(sqls("CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql; SELECT 2;")).toEqual([
      "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql",
      'SELECT 2',
    ]);
  });

  it('keeps the line count right across multi-line strings, identifiers, dollar quotes and comments', () => {
    const script = "SELECT 'a\nb';\nSELECT \"x\ny\";\nDO $$\n\n$$;\n/*\n/*\n*/\n*/\nSELECT E'\\\n';\nSELECT 6;";
    expect(splitSql(script).map((s) => s.line)).toEqual([1, 3, 5, 12, 14]);
  });

  it('handles CRLF line endings', () => {
    expect(splitSql('SELECT 1;\r\n-- c\r\nSELECT\r\n 2;')).toEqual([
      { sql: 'SELECT 1', line: 1 },
      { sql: 'SELECT\r\n 2', line: 3 },
    ]);
  });

  it.each([
    ["SELECT 'abc", 'unterminated quoted string', 1],
    ["SELECT 1;\nSELECT E'abc\\'", 'unterminated quoted string', 2],
    ['SELECT "abc', 'unterminated quoted identifier', 1],
    ['SELECT 1;\n\nDO $x$ BEGIN END $y$', 'unterminated dollar-quoted string $x$', 3],
    ['SELECT 1; /* a /* b */', 'unterminated /* comment', 1],
    ['SELECT 1;\n\\connect other', 'psql meta-commands', 2],
  ])('rejects %j', (script, message, line) => {
    let error: unknown;
    try {
      splitSql(script);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SqlSplitError);
    expect((error as SqlSplitError).message).toContain(message);
    expect((error as SqlSplitError).line).toBe(line);
  });
});
