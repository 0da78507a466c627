/**
 * Reading and parsing migration files (dbmate format). Every file is parsed before anything runs,
 * so a malformed file stops the run with nothing applied.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationError } from '../errors.js';
import { splitSql, SqlSplitError, type SqlStatement } from './sql-splitter.js';
import { planSection, RERUNNABLE_MARK } from './statements.js';

/** `YYYYMMDDHHMMSS_snake_name.sql` */
export const FILE_NAME_PATTERN = /^(\d{14})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$/;

/** One direction of a migration. */
export interface MigrationSection {
  statements: SqlStatement[];
  /**
   * False for `-- migrate:up transaction:false`: statements run one by one, each committed on its
   * own, and the run can resume after an interruption (see statements.ts).
   */
  transaction: boolean;
  /** `transaction:false` only: lines of the statements marked `-- migrate:rerunnable` (absent when none). */
  rerunnable?: number[];
}

/** A parsed migration file. */
export interface MigrationFile {
  /** The file name without `.sql`, e.g. `20261124120000_create_users`; the ledger key. */
  name: string;
  /** The 14-digit timestamp. */
  version: string;
  /** The file name, e.g. `20261124120000_create_users.sql`. */
  fileName: string;
  path: string;
  /** sha256 (hex) of the file with CRLF normalised to LF and `-- migrate:lint-ignore` lines left out. */
  checksum: string;
  /** The file's `-- migrate:lint-ignore <rule> <reason>` lines (see lint/). */
  lintIgnores: LintIgnore[];
  up: MigrationSection;
  /** Null when the down section is missing or holds no statement: the migration is irreversible. */
  down: MigrationSection | null;
}

/** A `-- migrate:lint-ignore <rule> <reason>` line: accepts one lint finding, with the reason recorded. */
export interface LintIgnore {
  rule: string;
  reason: string;
  /** Its line in the file. */
  line: number;
  /** `file`: written before `-- migrate:up`, it covers the whole file; `statement`: the next statement only. */
  scope: 'file' | 'statement';
}

/** The prefix of a lint suppression line. */
export const LINT_IGNORE_MARK = '-- migrate:lint-ignore';

/** Whole `-- migrate:lint-ignore ...` lines, with their newline (after CRLF normalisation). */
const LINT_IGNORE_LINES = /^--[ \t]*migrate:lint-ignore\b[^\n]*(\n|$)/gm;

/**
 * sha256 of a migration file's content, insensitive to CRLF versus LF line endings and to
 * `-- migrate:lint-ignore` lines: accepting a lint finding in a file that databases already
 * applied does not make it "changed" (the checksum of a file without such lines is unchanged).
 *
 * @example
 * ```ts
 * checksumOf('-- migrate:up\nSELECT 1;\n') === checksumOf('-- migrate:lint-ignore x why\n-- migrate:up\nSELECT 1;\n'); // true
 * ```
 */
export function checksumOf(content: string): string {
  return createHash('sha256').update(content.replace(/\r\n/g, '\n').replace(LINT_IGNORE_LINES, '')).digest('hex');
}

/** Whether a 14-digit timestamp is a real calendar date and time. */
function isValidTimestamp(version: string): boolean {
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((at, k) => Number(version.slice(at, at + (k === 0 ? 4 : 2))));
  const date = new Date(Date.UTC(y!, mo! - 1, d, h, mi, s));
  return (
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo! - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s
  );
}

const MARKER = /^--\s*migrate:([\w-]+)(.*)$/;

/**
 * Parses one migration file's content. Throws a `MigrationError` naming the file on any problem.
 *
 * @example
 * ```ts
 * const m = parseMigration('20261124120000_create_users.sql', '-- migrate:up\nCREATE TABLE t ();\n-- migrate:down\nDROP TABLE t;\n');
 * m.up.statements[0]; // { sql: 'CREATE TABLE t ()', line: 2 }
 * ```
 */
export function parseMigration(fileName: string, content: string, path = fileName): MigrationFile {
  const fail = (message: string, cause?: unknown): never => {
    throw new MigrationError(`${fileName}: ${message}`, { file: fileName, code: 'MIGRATION_INVALID', cause });
  };
  const match = FILE_NAME_PATTERN.exec(fileName);
  if (!match) {
    fail('the file name must look like YYYYMMDDHHMMSS_snake_case_name.sql (e.g. 20261124120000_create_users.sql)');
  }
  const version = match![1]!;
  if (!isValidTimestamp(version)) fail(`"${version}" is not a valid YYYYMMDDHHMMSS timestamp`);

  const text = content.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const lines = text.split('\n');
  interface Marker {
    kind: 'up' | 'down';
    line: number;
    transaction: boolean;
  }
  const markers: Marker[] = [];
  // `-- migrate:rerunnable` lines: each marks the statement after it.
  const marks: number[] = [];
  const ignores: { rule: string; reason: string; line: number }[] = [];
  lines.forEach((raw, index) => {
    const m = MARKER.exec(raw.trimEnd());
    if (!m) return;
    const kind = m[1];
    if (kind === 'rerunnable') {
      if ((m[2] ?? '').trim() !== '') fail(`line ${index + 1}: "${RERUNNABLE_MARK}" takes no options (got "${(m[2] ?? '').trim()}")`);
      marks.push(index + 1);
      return;
    }
    if (kind === 'lint-ignore') {
      const [, rule, reason] = /^\s*(\S*)\s*(.*)$/.exec(m[2] ?? '') ?? [];
      if (!rule || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(rule) || !reason?.trim()) {
        fail(
          `line ${index + 1}: write "${LINT_IGNORE_MARK} <rule-id> <reason>" (a rule id such as require-concurrent-index-creation, then why the finding is acceptable)`,
        );
      }
      ignores.push({ rule: rule!, reason: reason!.trim(), line: index + 1 });
      return;
    }
    if (kind !== 'up' && kind !== 'down')
      fail(
        `line ${index + 1}: unknown section "-- migrate:${kind}" (expected migrate:up or migrate:down, or ${RERUNNABLE_MARK} before a statement)`,
      );
    let transaction = true;
    for (const option of (m[2] ?? '').trim().split(/\s+/).filter(Boolean)) {
      if (option === 'transaction:false') transaction = false;
      else if (option === 'transaction:true') transaction = true;
      else fail(`line ${index + 1}: unknown option "${option}" (only transaction:false / transaction:true are accepted)`);
    }
    markers.push({ kind: kind as 'up' | 'down', line: index + 1, transaction });
  });

  const ups = markers.filter((m) => m.kind === 'up');
  const downs = markers.filter((m) => m.kind === 'down');
  if (ups.length === 0) fail('no "-- migrate:up" section');
  if (ups.length > 1) fail(`more than one "-- migrate:up" section (lines ${ups.map((m) => m.line).join(', ')})`);
  if (downs.length > 1) fail(`more than one "-- migrate:down" section (lines ${downs.map((m) => m.line).join(', ')})`);
  const up = ups[0]!;
  const down = downs[0];
  if (down && down.line < up.line) fail(`"-- migrate:down" (line ${down.line}) comes before "-- migrate:up" (line ${up.line})`);

  const section = (marker: Marker, endLine: number): MigrationSection => {
    // Lines marker.line+1 .. endLine-1 (1-based), reported with their line numbers in the file.
    const body = lines.slice(marker.line, endLine - 1).join('\n');
    try {
      return { statements: splitSql(body, marker.line + 1), transaction: marker.transaction };
    } catch (error) {
      if (error instanceof SqlSplitError) return fail(`cannot parse the ${marker.kind} section: ${error.message}`, error);
      throw error;
    }
  };

  // Anything before "-- migrate:up" would belong to neither direction.
  try {
    const preamble = splitSql(lines.slice(0, up.line - 1).join('\n'));
    if (preamble.length > 0) {
      fail(`statement at line ${preamble[0]!.line} is outside the "-- migrate:up" and "-- migrate:down" sections`);
    }
  } catch (error) {
    if (error instanceof SqlSplitError) fail(`cannot parse the lines before "-- migrate:up": ${error.message}`, error);
    throw error;
  }

  const upSection = section(up, down ? down.line : lines.length + 1);
  const lintIgnores = ignores.map((ignore): LintIgnore => {
    if (down && ignore.line > down.line)
      fail(`line ${ignore.line}: "${LINT_IGNORE_MARK}" in the down section: the lint reads only the up section`);
    return { ...ignore, scope: ignore.line < up.line ? 'file' : 'statement' };
  });
  if (upSection.statements.length === 0) fail('the "-- migrate:up" section holds no statement');
  const downSection = down ? section(down, lines.length + 1) : null;

  // Each mark belongs to the next statement of its section.
  for (const line of marks) {
    const [marker, s] = down && line > down.line ? [down, downSection] : [up, upSection];
    if (line < up.line) fail(`line ${line}: "${RERUNNABLE_MARK}" comes before "-- migrate:up"`);
    const next = s?.statements.find((st) => st.line > line);
    if (!s || !next) fail(`line ${line}: "${RERUNNABLE_MARK}" is not followed by a statement in its section`);
    if (s!.transaction) {
      fail(
        `line ${line}: "${RERUNNABLE_MARK}" applies only to a "transaction:false" section; ` +
          `in "-- migrate:${marker.kind}" (line ${marker.line}) every statement runs in the file's transaction`,
      );
    }
    (s!.rerunnable ??= []).push(next!.line);
  }

  for (const [marker, s] of [
    [up, upSection],
    [down, downSection],
  ] as const) {
    if (!s || !marker || s.transaction) continue;
    const { problems } = planSection(s.statements, new Set(s.rerunnable));
    if (problems.length > 0) {
      fail(
        `the "-- migrate:${marker.kind} transaction:false" section (line ${marker.line}) could not be resumed safely if a run were interrupted; nothing was run:\n` +
          problems.map((p) => `  - line ${p.line}: ${p.message}`).join('\n') +
          `\n  (A statement that is safe to run twice may be marked with a "${RERUNNABLE_MARK}" line before it.)`,
      );
    }
  }

  for (const s of [upSection, downSection]) {
    if (!s?.transaction) continue;
    for (const statement of s.statements) {
      const control = transactionControl(statement.sql);
      if (control) {
        fail(
          `line ${statement.line}: "${control}" controls the transaction, but the runner already wraps each file in one ` +
            `(so its SQL and its ledger row commit together). Remove it, or mark the section "transaction:false".`,
        );
      }
    }
  }

  return {
    name: fileName.slice(0, -'.sql'.length),
    version,
    fileName,
    path,
    checksum: checksumOf(content),
    lintIgnores,
    up: upSection,
    down: downSection && downSection.statements.length > 0 ? downSection : null,
  };
}

/** The leading keyword(s) when a statement begins, commits or aborts a transaction. */
function transactionControl(sql: string): string | undefined {
  const words = sql
    .replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, '')
    .split(/[\s;(]+/, 3)
    .map((w) => w.toLowerCase());
  const [first, second] = words;
  if (first === 'begin' || first === 'commit' || first === 'end' || first === 'abort') return first.toUpperCase();
  if (first === 'start' && second === 'transaction') return 'START TRANSACTION';
  if (first === 'rollback' && second !== 'to') return 'ROLLBACK';
  if (first === 'prepare' && second === 'transaction') return 'PREPARE TRANSACTION';
  return undefined;
}

/**
 * Reads and parses every `*.sql` file in `dir`, sorted by version. Files with other extensions
 * (README.md, .gitkeep) and directories are ignored. Throws a `MigrationError` naming the first
 * bad file; two files with the same timestamp are an error too.
 *
 * @example
 * ```ts
 * const migrations = loadMigrations(defaultMigrationsDir());
 * ```
 */
export function loadMigrations(dir: string): MigrationFile[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new MigrationError(`cannot read the migrations directory ${dir} (${code})`, { cause: error, code: 'MIGRATION_INVALID' });
  }
  const files = entries.filter((name) => name.toLowerCase().endsWith('.sql') && statSync(join(dir, name)).isFile()).sort();
  const migrations = files.map((fileName) => {
    const path = join(dir, fileName);
    return parseMigration(fileName, readFileSync(path, 'utf8'), path);
  });
  const seen = new Map<string, string>();
  for (const m of migrations) {
    const other = seen.get(m.version);
    if (other) {
      throw new MigrationError(`${m.fileName}: version ${m.version} is also used by ${other}; each file needs its own timestamp`, {
        file: m.fileName,
        code: 'MIGRATION_INVALID',
      });
    }
    seen.set(m.version, m.fileName);
  }
  return migrations.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}
