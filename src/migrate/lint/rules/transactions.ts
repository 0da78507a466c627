/** Rules about what a migration does inside (or outside) the transaction the runner wraps it in. */
import { alterCommands, as, flag, obj, relationName, str, walk } from '../ast.js';
import type { AstNode, LintRule, LintStatement } from '../types.js';

/** Whether a WHERE clause bounds the rows touched: a sub-select with LIMIT, or a BETWEEN range. */
function isBatchBounded(where: AstNode | undefined): boolean {
  if (!where) return false;
  let bounded = false;
  walk(where, (kind, node) => {
    if (kind === 'SelectStmt' && node.limitCount !== undefined) bounded = true;
    if (kind === 'A_Expr' && str(node, 'kind') === 'AEXPR_BETWEEN') bounded = true;
  });
  return bounded;
}

/** Whether a statement of a transaction:false section can be run again after it took effect. */
function notRerunnable(statement: LintStatement): string | undefined {
  const { kind, node } = statement;
  if (kind === 'IndexStmt' && !flag(node, 'if_not_exists')) return 'CREATE INDEX without IF NOT EXISTS';
  if (kind === 'DropStmt' && !flag(node, 'missing_ok')) return 'DROP without IF EXISTS';
  if (kind === 'CreateStmt' && !flag(node, 'if_not_exists')) return 'CREATE TABLE without IF NOT EXISTS';
  if (kind === 'AlterTableStmt') {
    for (const cmd of alterCommands(node)) {
      const subtype = str(cmd, 'subtype');
      if (subtype === 'AT_AddColumn' && !flag(cmd, 'missing_ok')) return 'ADD COLUMN without IF NOT EXISTS';
      if (subtype === 'AT_DropColumn' && !flag(cmd, 'missing_ok')) return 'DROP COLUMN without IF EXISTS';
    }
  }
  return undefined;
}

export const transactionRules: LintRule[] = [
  {
    id: 'backfill-without-batch-bound',
    family: 'transactions',
    summary: 'An UPDATE or DELETE without a batch bound in the migration transaction locks every row it touches until the DDL commits.',
    severity: 'error',
    grading: 'size',
    check: ({ kind, node }, { inTransaction }) =>
      inTransaction && (kind === 'UpdateStmt' || kind === 'DeleteStmt') && !isBatchBounded(obj(node, 'whereClause'))
        ? [
            {
              message: `${kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE'} of ${relationName(obj(node, 'relation'))} with no batch bound holds its row locks (and the file's DDL locks) until the migration commits`,
              hint: 'Backfill outside the DDL transaction in batches (WHERE id IN (SELECT id ... LIMIT n)), e.g. a transaction:false file or a script.',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
  {
    id: 'prefer-robust-stmts',
    family: 'transactions',
    summary:
      'In a transaction:false file each statement commits alone: write it so that running the file again after a failure works (IF [NOT] EXISTS).',
    severity: 'warning',
    grading: 'none',
    check: (statement, { inTransaction }) => {
      if (inTransaction) return [];
      const problem = notRerunnable(statement);
      return problem
        ? [
            {
              message: `${problem} in a transaction:false section fails when the file is run again after an interruption`,
              hint: 'Add IF NOT EXISTS / IF EXISTS so the statement can run twice.',
              relation: relationName(obj(statement.node, 'relation') ?? as(statement.node, 'RangeVar')),
            },
          ]
        : [];
    },
  },
];
