/**
 * The lint itself: parses each file's up section with PostgreSQL's parser, runs every rule on
 * every statement, grades the findings by the size of the table they touch, and applies the
 * file's `-- migrate:lint-ignore` lines.
 */
import { MigrationError } from '../../errors.js';
import type { MigrationFile } from '../files.js';
import { list, names, obj, relationName, str } from './ast.js';
import { LintParseError, loadParser, parseStatements } from './parse.js';
import { LINT_RULES, lintRule } from './registry.js';
import type { LintFinding, LintRule, LintStatement, RawFinding, Severity, TableSize } from './types.js';

/** Looks up the live size of relations (tables, or indexes: their table), null for one that does not exist. */
export type SizeLookup = (relations: readonly string[]) => Promise<Map<string, TableSize | null>>;

/** Above either limit a table is large: size-graded findings keep their full severity. */
export interface SizeThresholds {
  rows: number;
  bytes: number;
}

/** Defaults: an index build or a full scan over 10,000 rows or 16 MiB is long enough to notice. */
export const DEFAULT_THRESHOLDS: SizeThresholds = { rows: 10_000, bytes: 16 * 1024 * 1024 };

export interface LintOptions {
  /**
   * `run`: the files are applied in this order by one run, so a table created by an earlier
   * file is new (empty) for the later ones (what `up` checks). `each` (default): every file on
   * its own, so only tables created earlier in the same file are new (what CI checks).
   */
  mode?: 'run' | 'each';
  /** Live sizes; without it every table not created in the run is assumed large. */
  sizes?: SizeLookup;
  thresholds?: SizeThresholds;
  /**
   * A statement PostgreSQL's parser rejects: `throw` (default) a `MigrationError` naming the file
   * and line; `skip` it with a warning, leaving the server to report it when it runs (what `up`
   * does, so a parser one major newer or older than the server never blocks a valid file).
   */
  onParseError?: 'throw' | 'skip';
}

export interface LintReport {
  /** Every finding, by file then line; `ignored` ones were accepted by a lint-ignore line. */
  findings: LintFinding[];
  /** Findings not ignored, by severity. */
  errors: number;
  warnings: number;
  notes: number;
  ignored: number;
  /** The files linted, in order. */
  files: string[];
}

/** The pseudo-rule of a `-- migrate:lint-ignore` line that matched no finding. */
export const UNUSED_IGNORE_RULE = 'unused-lint-ignore';
/** The pseudo-rule of a statement the parser rejected, with `onParseError: 'skip'`. */
export const UNPARSED_RULE = 'unparsed-statement';

interface Pending {
  rule: LintRule;
  raw: RawFinding;
  file: string;
  line: number;
  /** The file that created the relation earlier in the run, when one did. */
  createdBy?: string;
}

/**
 * Lints the up sections of `files`. Throws a `MigrationError` (code `MIGRATION_INVALID`) naming
 * the file and line when a statement does not parse or a lint-ignore line names no rule.
 *
 * @example
 * ```ts
 * const report = await lintMigrations(loadMigrations('migrations'));
 * for (const f of report.findings) console.log(`${f.file}:${f.line} ${f.rule} ${f.message}`);
 * ```
 */
export async function lintMigrations(files: readonly MigrationFile[], options: LintOptions = {}): Promise<LintReport> {
  await loadParser();
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const pending: Pending[] = [];
  const unparsed: LintFinding[] = [];
  let created = new Map<string, string>();
  let earlier: LintStatement[] = [];

  for (const file of files) {
    if (options.mode !== 'run') {
      created = new Map();
      earlier = [];
    }
    const statements: LintStatement[] = [];
    for (const split of file.up.statements) {
      try {
        statements.push(...parseStatements([split]));
      } catch (error) {
        if (!(error instanceof LintParseError)) throw error;
        if (options.onParseError !== 'skip') {
          throw new MigrationError(`${file.fileName}: PostgreSQL's parser rejects the statement at ${error.message}`, {
            file: file.fileName,
            code: 'MIGRATION_INVALID',
            cause: error,
          });
        }
        unparsed.push({
          rule: UNPARSED_RULE,
          severity: 'warning',
          file: file.fileName,
          line: error.line,
          message: `not linted: PostgreSQL's parser rejects it (${error.message.replace(/^line \d+: /, '')})`,
          hint: 'Fix the statement; the server will refuse it too.',
        });
      }
    }
    const previous: LintStatement[] = [];
    for (const statement of statements) {
      const context = {
        inTransaction: file.up.transaction,
        previous,
        earlier: [...earlier],
        createdInRun: (relation: string) => created.has(key(relation)),
      };
      for (const rule of LINT_RULES) {
        for (const raw of rule.check(statement, context)) {
          const createdBy = raw.relation === undefined ? undefined : created.get(key(raw.relation));
          pending.push({ rule, raw, file: file.fileName, line: statement.line, createdBy });
        }
      }
      for (const relation of creations(statement, created)) created.set(key(relation), file.fileName);
      previous.push(statement);
      earlier.push(statement);
    }
  }

  const sizes = await lookUpSizes(pending, options.sizes);
  const findings = pending.map((p) => grade(p, sizes, options.sizes !== undefined, thresholds));
  findings.push(...applyIgnores(files, findings), ...unparsed);
  findings.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  const live = findings.filter((f) => f.ignored === undefined);
  return {
    findings,
    errors: live.filter((f) => f.severity === 'error').length,
    warnings: live.filter((f) => f.severity === 'warning').length,
    notes: live.filter((f) => f.severity === 'note').length,
    ignored: findings.length - live.length,
    files: files.map((f) => f.fileName),
  };
}

/** Relations are compared without the `public.` schema most migrations leave implicit. */
const key = (relation: string): string => relation.replace(/^public\./, '');

/** The relations (tables, indexes, types, views) a statement creates, so later findings on them are notes. */
function creations(statement: LintStatement, created: ReadonlyMap<string, string>): string[] {
  const { kind, node } = statement;
  switch (kind) {
    case 'CreateStmt':
      return [relationName(obj(node, 'relation'))].filter((r): r is string => r !== undefined);
    case 'CreateTableAsStmt':
      return [relationName(obj(obj(node, 'into'), 'rel'))].filter((r): r is string => r !== undefined);
    case 'ViewStmt':
      return [relationName(obj(node, 'view'))].filter((r): r is string => r !== undefined);
    case 'IndexStmt': {
      const name = str(node, 'idxname');
      const schema = str(obj(node, 'relation'), 'schemaname');
      return name ? [schema ? `${schema}.${name}` : name] : [];
    }
    case 'CreateEnumStmt':
      return [names(list(node, 'typeName')).join('.')];
    case 'RenameStmt': {
      const old = relationName(obj(node, 'relation'));
      const renamed = str(node, 'newname');
      return str(node, 'renameType') === 'OBJECT_TABLE' && old && renamed && created.has(key(old)) ? [renamed] : [];
    }
    default:
      return [];
  }
}

async function lookUpSizes(pending: readonly Pending[], sizes: SizeLookup | undefined): Promise<Map<string, TableSize | null>> {
  if (!sizes) return new Map();
  const relations = [
    ...new Set(
      pending
        .filter((p) => p.rule.grading === 'size' && p.createdBy === undefined && p.raw.relation !== undefined)
        .map((p) => p.raw.relation!),
    ),
  ];
  return relations.length === 0 ? new Map() : sizes(relations);
}

function grade(p: Pending, sizes: ReadonlyMap<string, TableSize | null>, live: boolean, thresholds: SizeThresholds): LintFinding {
  const base = { rule: p.rule.id, file: p.file, line: p.line, message: p.raw.message, hint: p.raw.hint, relation: p.raw.relation };
  const at = (severity: Severity, why?: string): LintFinding => ({ ...base, severity, ...(why ? { grade: why } : {}) });
  if (p.rule.grading === 'none') return at(p.rule.severity);
  if (p.createdBy !== undefined) {
    return at('note', p.createdBy === p.file ? 'created earlier in this file' : `created by ${p.createdBy} earlier in this run`);
  }
  if (p.rule.grading === 'new-table') return at(p.rule.severity);
  if (p.raw.relation === undefined) return at(p.rule.severity, 'table unknown: assumed large');
  if (!live) return at(p.rule.severity, 'no database to compare against: assumed large');
  const size = sizes.get(p.raw.relation);
  if (!size) return at(p.rule.severity, 'not in the database: assumed large');
  const described = `${size.table}: ${size.rows === null ? 'never analyzed' : `about ${Math.round(size.rows).toLocaleString('en-US')} rows`}, ${formatBytes(size.bytes)}`;
  const large = (size.rows ?? 0) > thresholds.rows || size.bytes > thresholds.bytes;
  return large
    ? at(
        p.rule.severity,
        `${described}, above the threshold (${thresholds.rows.toLocaleString('en-US')} rows or ${formatBytes(thresholds.bytes)})`,
      )
    : at('note', `${described}, below the threshold`);
}

/** Marks findings accepted by lint-ignore lines; returns a warning for each line that matched none. */
function applyIgnores(files: readonly MigrationFile[], findings: LintFinding[]): LintFinding[] {
  const unused: LintFinding[] = [];
  for (const file of files) {
    for (const ignore of file.lintIgnores) {
      if (!lintRule(ignore.rule)) {
        throw new MigrationError(
          `${file.fileName}: line ${ignore.line}: "-- migrate:lint-ignore ${ignore.rule}" names no lint rule (npm run migrate -- lint --rules lists them)`,
          { file: file.fileName, code: 'MIGRATION_INVALID' },
        );
      }
      const target = ignore.scope === 'statement' ? file.up.statements.find((s) => s.line > ignore.line)?.line : undefined;
      const matched = findings.filter(
        (f) => f.file === file.fileName && f.rule === ignore.rule && (ignore.scope === 'file' || f.line === target),
      );
      for (const f of matched) f.ignored = ignore.reason;
      if (matched.length === 0) {
        unused.push({
          rule: UNUSED_IGNORE_RULE,
          severity: 'warning',
          file: file.fileName,
          line: ignore.line,
          message: `"-- migrate:lint-ignore ${ignore.rule}" matches no finding ${ignore.scope === 'file' ? 'in this file' : 'of the next statement'}`,
          hint: 'Remove the line, or move it just before the statement it is about.',
        });
      }
    }
  }
  return unused;
}

/**
 * Bytes as a short human figure.
 *
 * @example
 * ```ts
 * formatBytes(16 * 1024 * 1024); // '16 MiB'
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toFixed(value < 10 ? 1 : 0))} ${units[unit]}`;
}
