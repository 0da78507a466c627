/** Rules about the types a migration gives columns and enums. */
import { alterCommands, as, columnConstraints, list, names, obj, relationName, str, typeModifiers, typeName } from '../ast.js';
import type { AstNode, LintRule, LintStatement, RawFinding } from '../types.js';

/** Every column definition a statement writes (CREATE TABLE, ADD COLUMN, ALTER COLUMN TYPE), with its table. */
function definedColumns(
  statement: LintStatement,
): { table: string | undefined; column: string; type: AstNode | undefined; def: AstNode }[] {
  const table = relationName(obj(statement.node, 'relation'));
  if (statement.kind === 'CreateStmt') {
    return list(statement.node, 'tableElts')
      .map((e) => as(e, 'ColumnDef'))
      .filter((d): d is AstNode => d !== undefined)
      .map((def) => ({ table, column: str(def, 'colname') ?? '?', type: obj(def, 'typeName'), def }));
  }
  if (statement.kind !== 'AlterTableStmt') return [];
  return alterCommands(statement.node).flatMap((cmd) => {
    const def = as(cmd.def, 'ColumnDef');
    const subtype = str(cmd, 'subtype');
    if (!def || (subtype !== 'AT_AddColumn' && subtype !== 'AT_AlterColumnType')) return [];
    return [{ table, column: str(def, 'colname') ?? str(cmd, 'name') ?? '?', type: obj(def, 'typeName'), def }];
  });
}

/** A rule that flags columns whose type `matches`. */
function typeRule(
  id: string,
  summary: string,
  severity: 'error' | 'warning',
  matches: (type: string, modifiers: number[], def: AstNode) => boolean,
  describe: (column: string, type: string) => Omit<RawFinding, 'relation'>,
): LintRule {
  return {
    id,
    family: 'data-types',
    summary,
    severity,
    grading: 'none',
    check: (statement) =>
      definedColumns(statement)
        .filter(({ type, def }) => matches(typeName(type) ?? '', typeModifiers(type), def))
        .map(({ table, column, type }) => ({ ...describe(`${table}.${column}`, typeName(type) ?? ''), relation: table })),
  };
}

const isKey = (def: AstNode): boolean =>
  columnConstraints(def).some((c) => ['CONSTR_PRIMARY', 'CONSTR_IDENTITY'].includes(str(c, 'contype') ?? ''));

export const dataTypeRules: LintRule[] = [
  typeRule(
    'prefer-jsonb',
    'json stores text and re-parses it on every read, has no equality or GIN indexing: use jsonb.',
    'error',
    (type) => type === 'json',
    (column) => ({ message: `${column} is json`, hint: 'Use jsonb (the project types JSONB payloads through codegen overrides).' }),
  ),
  typeRule(
    'prefer-text-field',
    'varchar(n) gains nothing over text and changing n later may rewrite or lock: use text with a CHECK.',
    'warning',
    (type, modifiers) => type === 'varchar' && modifiers.length > 0,
    (column) => ({
      message: `${column} is varchar(n)`,
      hint: 'Use text with CHECK (char_length(col) <= n): the limit changes with NOT VALID, without a rewrite.',
    }),
  ),
  typeRule(
    'ban-char-field',
    'char(n) pads with blanks and compares surprisingly: use text.',
    'warning',
    (type) => type === 'bpchar',
    (column) => ({ message: `${column} is char(n)`, hint: 'Use text (with a CHECK on its length if it matters).' }),
  ),
  typeRule(
    'prefer-timestamptz',
    'timestamp/time without time zone loses the instant: the project stores timestamptz.',
    'warning',
    (type) => type === 'timestamp' || type === 'time',
    (column, type) => ({ message: `${column} is ${type} without time zone`, hint: 'Use timestamptz (read as a Date by the pool).' }),
  ),
  typeRule(
    'prefer-bigint-over-int',
    'An int or smallint key or identity column runs out (2^31) on a busy table; changing it later rewrites the table.',
    'warning',
    (type, _m, def) => ['serial', 'serial4', 'smallserial', 'serial2'].includes(type) || (['int4', 'int2'].includes(type) && isKey(def)),
    (column, type) => ({ message: `${column} is a ${type} key`, hint: 'Use bigint GENERATED ALWAYS AS IDENTITY (or uuid).' }),
  ),
  typeRule(
    'prefer-identity',
    'serial creates an owned sequence with loose permissions and odd dump behaviour: use GENERATED AS IDENTITY.',
    'warning',
    (type) => ['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2'].includes(type),
    (column) => ({ message: `${column} is serial`, hint: 'Use bigint GENERATED ALWAYS AS IDENTITY.' }),
  ),
  {
    id: 'ban-enum-value-rename',
    family: 'data-types',
    summary: 'ALTER TYPE ... RENAME VALUE breaks the application version still running, which writes the old value.',
    severity: 'error',
    grading: 'new-table',
    check: ({ kind, node }) =>
      kind === 'AlterEnumStmt' && str(node, 'oldVal') !== undefined
        ? [
            {
              message: `renaming value '${str(node, 'oldVal')}' of enum ${names(list(node, 'typeName')).join('.')} breaks deployed code that still writes it`,
              hint: 'Add the new value, move the code and the rows to it, and stop using the old one (enum values cannot be dropped).',
              relation: names(list(node, 'typeName')).join('.'),
            },
          ]
        : [],
  },
  {
    id: 'enum-value-reorder',
    family: 'data-types',
    summary: 'ADD VALUE ... BEFORE/AFTER changes the sort order of an enum that ORDER BY and comparisons rely on.',
    severity: 'warning',
    grading: 'new-table',
    check: ({ kind, node }) =>
      kind === 'AlterEnumStmt' && str(node, 'oldVal') === undefined && str(node, 'newValNeighbor') !== undefined
        ? [
            {
              message: `value '${str(node, 'newVal')}' is placed ${node.newValIsAfter ? 'after' : 'before'} '${str(node, 'newValNeighbor')}' in enum ${names(list(node, 'typeName')).join('.')}, changing the order queries sort by`,
              hint: 'Append the value (ADD VALUE without BEFORE/AFTER) unless the new order is intended; then accept it with that reason.',
              relation: names(list(node, 'typeName')).join('.'),
            },
          ]
        : [],
  },
];
