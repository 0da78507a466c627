/**
 * Every lint rule, in the order the docs list them. A rule's id is what
 * `-- migrate:lint-ignore <id> <reason>` names; ids never change once released.
 */
import { columnRules } from './rules/columns.js';
import { constraintRules } from './rules/constraints.js';
import { dataTypeRules } from './rules/data-types.js';
import { destructiveRules } from './rules/destructive.js';
import { indexRules } from './rules/indexes.js';
import { maintenanceRules } from './rules/maintenance.js';
import { namingRules } from './rules/naming.js';
import { transactionRules } from './rules/transactions.js';
import type { LintRule } from './types.js';

/** All rules, grouped by family. */
export const LINT_RULES: readonly LintRule[] = [
  ...indexRules,
  ...constraintRules,
  ...columnRules,
  ...dataTypeRules,
  ...destructiveRules,
  ...maintenanceRules,
  ...transactionRules,
  ...namingRules,
];

const byId = new Map(LINT_RULES.map((rule) => [rule.id, rule]));

/**
 * The rule with this id, or undefined.
 *
 * @example
 * ```ts
 * lintRule('require-concurrent-index-creation')?.severity; // 'error'
 * ```
 */
export function lintRule(id: string): LintRule | undefined {
  return byId.get(id);
}
