/**
 * The vocabulary of the migration lint: a rule, the statement it looks at, and what it finds.
 */

/** How bad a finding is: errors stop `up`, warnings are printed, notes only listed by `lint`. */
export type Severity = 'error' | 'warning' | 'note';

/**
 * How a rule's severity follows the table it touches:
 * - `size`: the hazard is a lock or a rewrite, as long as the table is big. A note on a table
 *   created earlier in the same run, or live and below the threshold; full severity otherwise.
 * - `new-table`: the hazard is an application still using the object (drops, renames). A note
 *   only on a table created earlier in the same run, which no deployed code can know yet.
 * - `none`: the same everywhere (a type choice, an identifier that will be truncated).
 */
export type Grading = 'size' | 'new-table' | 'none';

/** A node of libpg-query's AST: `{ KindName: { ...fields } }` or the fields themselves. */
export type AstNode = Record<string, unknown>;

/** One statement of a section, parsed. */
export interface LintStatement {
  /** The node kind (`IndexStmt`, `AlterTableStmt`, ...). */
  kind: string;
  /** The node's fields. */
  node: AstNode;
  /** 1-based line of its first token in the file. */
  line: number;
  /** The statement text as written. */
  sql: string;
}

/** What a rule reports; the linter adds the file, line, graded severity and any suppression. */
export interface RawFinding {
  message: string;
  /** The safe alternative. */
  hint: string;
  /** The table (or index, for DROP INDEX) the hazard is about, as written; graded by its size. */
  relation?: string;
}

/** What a rule sees besides the statement. */
export interface RuleContext {
  /** Whether the statement runs inside the file's transaction (`transaction:false` sections do not). */
  inTransaction: boolean;
  /** The statements of the same section before this one. */
  previous: readonly LintStatement[];
  /** Every statement of the run before this one (earlier files of the run, then `previous`). */
  earlier: readonly LintStatement[];
  /** Whether `relation` (a table or index name as written) was created earlier in this run. */
  createdInRun(relation: string): boolean;
}

/** One lint rule. */
export interface LintRule {
  /** Stable kebab-case id, used by `-- migrate:lint-ignore <id> <reason>`. */
  id: string;
  /** The module it lives in: indexes, constraints, columns, data-types, destructive, maintenance, transactions, naming. */
  family: string;
  /** One line for the docs and `lint --rules`. */
  summary: string;
  severity: 'error' | 'warning';
  grading: Grading;
  check(statement: LintStatement, context: RuleContext): RawFinding[];
}

/** The live size of a relation's table. */
export interface TableSize {
  /** The table it resolved to (an index resolves to its table). */
  table: string;
  /** `pg_class.reltuples`, or null when the table was never analyzed. */
  rows: number | null;
  /** `pg_total_relation_size` of the table. */
  bytes: number;
}

/** One finding of one rule in one file. */
export interface LintFinding {
  rule: string;
  severity: Severity;
  file: string;
  line: number;
  message: string;
  hint: string;
  relation?: string;
  /** Why the severity was lowered or kept: "created by ...", "1,234 rows, 2 MB", "size unknown: assumed large". */
  grade?: string;
  /** Set when a `-- migrate:lint-ignore` line accepts the finding: its reason. */
  ignored?: string;
}

export type { LintIgnore } from '../files.js';
