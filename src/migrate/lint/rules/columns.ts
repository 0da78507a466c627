/** Rules about adding, changing, dropping and renaming columns. */
import { alterCommands, as, calledFunctions, columnConstraints, obj, relationName, str, typeName } from '../ast.js';
import type { AstNode, LintRule, LintStatement } from '../types.js';

/** Columns added by ALTER TABLE ... ADD COLUMN, with their table. */
export function addedColumns(statement: LintStatement): { table: string | undefined; column: AstNode }[] {
  if (statement.kind !== 'AlterTableStmt') return [];
  const table = relationName(obj(statement.node, 'relation'));
  return alterCommands(statement.node)
    .filter((cmd) => str(cmd, 'subtype') === 'AT_AddColumn')
    .map((cmd) => as(cmd.def, 'ColumnDef'))
    .filter((column): column is AstNode => column !== undefined)
    .map((column) => ({ table, column }));
}

/** Built-in functions whose value changes per row (provolatile = 'v'): a default calling one rewrites the table. */
const VOLATILE = new Set([
  'random',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'uuidv4',
  'uuidv7',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'setseed',
  'random_normal',
  'gen_random_bytes',
]);

const SERIAL_TYPES = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

const constraintOf = (column: AstNode, contype: string): AstNode | undefined =>
  columnConstraints(column).find((c) => str(c, 'contype') === contype);

export const columnRules: LintRule[] = [
  {
    id: 'adding-field-with-volatile-default',
    family: 'columns',
    summary: 'ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp()) rewrites the table under lock.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      addedColumns(statement).flatMap(({ table, column }) => {
        const def = constraintOf(column, 'CONSTR_DEFAULT');
        const volatile = calledFunctions(def?.raw_expr).filter((f) => VOLATILE.has(f));
        return volatile.length === 0
          ? []
          : [
              {
                message: `column ${str(column, 'colname')} gets a DEFAULT calling ${volatile[0]}(), so every row of ${table} is rewritten while it is locked`,
                hint: 'Add the column without a default (or with a constant one), SET DEFAULT in the same migration, and backfill existing rows in batches.',
                relation: table,
              },
            ];
      }),
  },
  {
    id: 'adding-required-field',
    family: 'columns',
    summary: 'ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that holds rows.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      addedColumns(statement)
        .filter(
          ({ column }) =>
            constraintOf(column, 'CONSTR_NOTNULL') &&
            !constraintOf(column, 'CONSTR_DEFAULT') &&
            !constraintOf(column, 'CONSTR_IDENTITY') &&
            !constraintOf(column, 'CONSTR_GENERATED') &&
            !SERIAL_TYPES.has(typeName(obj(column, 'typeName')) ?? ''),
        )
        .map(({ table, column }) => ({
          message: `column ${str(column, 'colname')} is NOT NULL without a DEFAULT: adding it fails if ${table} holds any row`,
          hint: 'Add it with a constant DEFAULT, or nullable, backfilled, then made NOT NULL through a validated CHECK.',
          relation: table,
        })),
  },
  {
    id: 'adding-auto-increment-column',
    family: 'columns',
    summary: 'ADD COLUMN serial / GENERATED AS IDENTITY fills every row, rewriting the table under lock.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      addedColumns(statement)
        .filter(({ column }) => SERIAL_TYPES.has(typeName(obj(column, 'typeName')) ?? '') || constraintOf(column, 'CONSTR_IDENTITY'))
        .map(({ table, column }) => ({
          message: `column ${str(column, 'colname')} numbers every existing row of ${table}, rewriting it while it is locked`,
          hint: 'Add a nullable bigint column, attach a sequence as its DEFAULT, backfill in batches, then constrain it.',
          relation: table,
        })),
  },
  {
    id: 'adding-stored-generated-column',
    family: 'columns',
    summary: 'ADD COLUMN ... GENERATED ALWAYS AS (...) STORED computes every row, rewriting the table under lock.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      addedColumns(statement)
        .filter(
          ({ column }) =>
            str(constraintOf(column, 'CONSTR_GENERATED'), 'generated_kind') !== 'v' && constraintOf(column, 'CONSTR_GENERATED'),
        )
        .map(({ table, column }) => ({
          message: `stored generated column ${str(column, 'colname')} is computed for every row of ${table} while it is locked`,
          hint: 'Add a plain column, fill it with a trigger for new rows and a batched backfill for old ones (or use a view).',
          relation: table,
        })),
  },
  {
    id: 'changing-column-type',
    family: 'columns',
    summary:
      'ALTER COLUMN ... TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE lock (except a few binary-compatible widenings).',
    severity: 'error',
    grading: 'size',
    check: ({ kind, node }) =>
      kind !== 'AlterTableStmt'
        ? []
        : alterCommands(node)
            .filter((cmd) => str(cmd, 'subtype') === 'AT_AlterColumnType')
            .map((cmd) => ({
              message: `changing the type of ${relationName(obj(node, 'relation'))}.${str(cmd, 'name')} to ${typeName(obj(as(cmd.def, 'ColumnDef'), 'typeName'))} rewrites the table while it is locked`,
              hint: 'Add a new column, write both from the application, backfill in batches, then switch and drop the old one. (varchar to text, or a longer varchar, does not rewrite: accept it with a reason.)',
              relation: relationName(obj(node, 'relation')),
            })),
  },
  {
    id: 'ban-drop-column',
    family: 'columns',
    summary: 'DROP COLUMN breaks the application version still running, which selects or writes the column.',
    severity: 'error',
    grading: 'new-table',
    check: ({ kind, node }) =>
      kind !== 'AlterTableStmt'
        ? []
        : alterCommands(node)
            .filter((cmd) => str(cmd, 'subtype') === 'AT_DropColumn')
            .map((cmd) => ({
              message: `dropping ${relationName(obj(node, 'relation'))}.${str(cmd, 'name')} breaks any deployed code that still reads or writes it`,
              hint: 'Deploy code that no longer uses the column first, then drop it in a later release (and accept the finding with that reason).',
              relation: relationName(obj(node, 'relation')),
            })),
  },
  {
    id: 'renaming-column',
    family: 'columns',
    summary: 'RENAME COLUMN breaks the application version still running, which uses the old name.',
    severity: 'error',
    grading: 'new-table',
    check: ({ kind, node }) =>
      kind === 'RenameStmt' && str(node, 'renameType') === 'OBJECT_COLUMN'
        ? [
            {
              message: `renaming ${relationName(obj(node, 'relation'))}.${str(node, 'subname')} to ${str(node, 'newname')} breaks deployed code that uses the old name`,
              hint: 'Add the new column, write both, backfill, move readers, then drop the old one in a later release.',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
];
