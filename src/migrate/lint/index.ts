/**
 * The migration lint: dangerous DDL in pending migrations, found with PostgreSQL's own parser,
 * graded by the live size of the tables it touches, accepted only in the file itself.
 */
export { formatFinding, formatReport } from './format.js';
export {
  DEFAULT_THRESHOLDS,
  formatBytes,
  lintMigrations,
  UNUSED_IGNORE_RULE,
  type LintOptions,
  type LintReport,
  type SizeLookup,
  type SizeThresholds,
} from './lint.js';
export { LINT_RULES, lintRule } from './registry.js';
export { tableSizeLookup } from './sizes.js';
export type { LintFinding, LintRule, Severity, TableSize } from './types.js';
