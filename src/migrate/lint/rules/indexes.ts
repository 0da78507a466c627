/** Rules about building, dropping and rebuilding indexes. */
import { as, flag, list, names, obj, relationName, str } from '../ast.js';
import type { AstNode, LintRule, LintStatement } from '../types.js';

/** `DefElem` names of a statement's option list (`REINDEX (CONCURRENTLY)`, `VACUUM (FULL)`). */
export function optionNames(node: AstNode, field: string): string[] {
  return list(node, field)
    .map((o) => str(as(o, 'DefElem'), 'defname'))
    .filter((s): s is string => s !== undefined);
}

/** The index names of a `DROP INDEX` (schema-qualified as written). */
export function droppedIndexes(statement: LintStatement): string[] {
  if (statement.kind !== 'DropStmt' || str(statement.node, 'removeType') !== 'OBJECT_INDEX') return [];
  return list(statement.node, 'objects').map((o) => names(list(as(o, 'List'), 'items')).join('.'));
}

export const indexRules: LintRule[] = [
  {
    id: 'require-concurrent-index-creation',
    family: 'indexes',
    summary: 'CREATE INDEX without CONCURRENTLY blocks every write to the table while the index builds.',
    severity: 'error',
    grading: 'size',
    check: ({ kind, node }) =>
      kind === 'IndexStmt' && !flag(node, 'concurrent')
        ? [
            {
              message: `CREATE INDEX on ${relationName(obj(node, 'relation'))} without CONCURRENTLY blocks writes to the table until the build ends`,
              hint: 'Use CREATE INDEX CONCURRENTLY IF NOT EXISTS in a "-- migrate:up transaction:false" file.',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
  {
    id: 'require-concurrent-index-deletion',
    family: 'indexes',
    summary: 'DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table, blocking reads and writes.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      flag(statement.node, 'concurrent')
        ? []
        : droppedIndexes(statement).map((index) => ({
            message: `DROP INDEX ${index} without CONCURRENTLY locks its table against reads and writes`,
            hint: 'Use DROP INDEX CONCURRENTLY IF EXISTS in a "-- migrate:up transaction:false" file.',
            relation: index,
          })),
  },
  {
    id: 'ban-concurrent-index-creation-in-transaction',
    family: 'indexes',
    summary: 'CREATE/DROP/REINDEX ... CONCURRENTLY cannot run inside a transaction; the file must be transaction:false.',
    severity: 'error',
    grading: 'none',
    check: ({ kind, node }, { inTransaction }) => {
      if (!inTransaction) return [];
      const concurrent =
        (kind === 'IndexStmt' && flag(node, 'concurrent')) ||
        (kind === 'DropStmt' && flag(node, 'concurrent')) ||
        (kind === 'ReindexStmt' && optionNames(node, 'params').includes('concurrently'));
      return concurrent
        ? [
            {
              message: 'CONCURRENTLY cannot run inside the transaction the runner wraps this file in (PostgreSQL refuses it: 25001)',
              hint: 'Move the statement to its own file and mark the section "-- migrate:up transaction:false".',
            },
          ]
        : [];
    },
  },
  {
    id: 'require-concurrent-reindex',
    family: 'indexes',
    summary: 'REINDEX without CONCURRENTLY blocks writes to the table (and reads through the index) while it rebuilds.',
    severity: 'error',
    grading: 'size',
    check: ({ kind, node }) =>
      kind === 'ReindexStmt' && !optionNames(node, 'params').includes('concurrently')
        ? [
            {
              message: 'REINDEX without CONCURRENTLY locks the table against writes while it rebuilds',
              hint: 'Use REINDEX (CONCURRENTLY) ... in a "-- migrate:up transaction:false" file.',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
  {
    id: 'index-too-many-columns',
    family: 'indexes',
    summary: 'A non-unique index on more than three columns is rarely worth its write and storage cost.',
    severity: 'warning',
    grading: 'none',
    check: ({ kind, node }) =>
      kind === 'IndexStmt' && !flag(node, 'unique') && list(node, 'indexParams').length > 3
        ? [
            {
              message: `a non-unique index on ${list(node, 'indexParams').length} columns`,
              hint: 'Index the three most selective columns, or INCLUDE the others for index-only scans.',
            },
          ]
        : [],
  },
  {
    id: 'unique-index-on-existing-data',
    family: 'indexes',
    summary: 'A unique index on a table that holds rows fails if the existing data has duplicates.',
    severity: 'warning',
    grading: 'size',
    check: ({ kind, node }) =>
      kind === 'IndexStmt' && flag(node, 'unique')
        ? [
            {
              message: `a unique index on ${relationName(obj(node, 'relation'))} fails (after a full scan) if existing rows are duplicates`,
              hint: 'Check for duplicates first (SELECT ... GROUP BY ... HAVING count(*) > 1) and clean them in an earlier migration.',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
];
