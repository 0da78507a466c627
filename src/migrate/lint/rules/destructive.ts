/** Rules about statements that remove or rename data an application version still uses. */
import { as, list, names, obj, relationName, str } from '../ast.js';
import type { LintRule, LintStatement } from '../types.js';

/** The object names of a DROP of `removeType`, as written. */
function dropped(statement: LintStatement, removeType: string): string[] {
  if (statement.kind !== 'DropStmt' || str(statement.node, 'removeType') !== removeType) return [];
  return list(statement.node, 'objects').map((o) => {
    const items = as(o, 'List');
    return items ? names(list(items, 'items')).join('.') : (str(as(o, 'String'), 'sval') ?? '?');
  });
}

const truncated = (statement: LintStatement): string[] =>
  statement.kind === 'TruncateStmt'
    ? list(statement.node, 'relations')
        .map((r) => relationName(as(r, 'RangeVar')))
        .filter((r): r is string => r !== undefined)
    : [];

export const destructiveRules: LintRule[] = [
  {
    id: 'ban-drop-table',
    family: 'destructive',
    summary: 'DROP TABLE deletes the data and breaks the application version still running.',
    severity: 'error',
    grading: 'new-table',
    check: (statement) =>
      dropped(statement, 'OBJECT_TABLE').map((table) => ({
        message: `dropping table ${table} deletes its rows and breaks deployed code that uses it`,
        hint: 'Stop using the table in a release first; rename it aside and drop it in a later migration once nothing reads it.',
        relation: table,
      })),
  },
  {
    id: 'renaming-table',
    family: 'destructive',
    summary: 'ALTER TABLE ... RENAME TO breaks the application version still running, which uses the old name.',
    severity: 'error',
    grading: 'new-table',
    check: ({ kind, node }) =>
      kind === 'RenameStmt' && str(node, 'renameType') === 'OBJECT_TABLE'
        ? [
            {
              message: `renaming table ${relationName(obj(node, 'relation'))} to ${str(node, 'newname')} breaks deployed code that uses the old name`,
              hint: 'Create the new table (or a view under the new name), move readers and writers over, then drop the old one.',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
  {
    id: 'ban-drop-schema',
    family: 'destructive',
    summary: 'DROP SCHEMA deletes every object in it.',
    severity: 'error',
    grading: 'none',
    check: (statement) =>
      dropped(statement, 'OBJECT_SCHEMA').map((schema) => ({
        message: `dropping schema ${schema} deletes everything in it`,
        hint: 'Drop the objects one by one in migrations that say why, or accept the finding with a reason.',
      })),
  },
  {
    id: 'ban-drop-database',
    family: 'destructive',
    summary: 'DROP DATABASE has no place in a migration.',
    severity: 'error',
    grading: 'none',
    check: ({ kind, node }) =>
      kind === 'DropdbStmt'
        ? [{ message: `DROP DATABASE ${str(node, 'dbname')} in a migration`, hint: 'Drop databases by hand, outside the migrations.' }]
        : [],
  },
  {
    id: 'ban-truncate-cascade',
    family: 'destructive',
    summary: 'TRUNCATE ... CASCADE also empties every table that references it, however far.',
    severity: 'error',
    grading: 'none',
    check: (statement) =>
      statement.kind === 'TruncateStmt' && str(statement.node, 'behavior') === 'DROP_CASCADE'
        ? [
            {
              message: `TRUNCATE ${truncated(statement).join(', ')} CASCADE also empties every table with a foreign key to it`,
              hint: 'Name every table to empty explicitly, without CASCADE.',
            },
          ]
        : [],
  },
  {
    id: 'truncate-table',
    family: 'destructive',
    summary: 'TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock.',
    severity: 'warning',
    grading: 'size',
    check: (statement) =>
      truncated(statement).map((table) => ({
        message: `TRUNCATE ${table} deletes every row`,
        hint: 'Delete the rows deliberately (in batches) or accept the finding with a reason.',
        relation: table,
      })),
  },
];
