/** Rules about adding, validating and dropping constraints. */
import { alterCommands, as, columnConstraints, flag, kindOf, list, names, obj, relationName, str } from '../ast.js';
import type { AstNode, LintRule, LintStatement, RawFinding } from '../types.js';

/** `(table, command)` for every ALTER TABLE subcommand of `subtype` in the statement. */
function commands(statement: LintStatement, subtype: string): { table: string | undefined; cmd: AstNode }[] {
  if (statement.kind !== 'AlterTableStmt') return [];
  const table = relationName(obj(statement.node, 'relation'));
  return alterCommands(statement.node)
    .filter((cmd) => str(cmd, 'subtype') === subtype)
    .map((cmd) => ({ table, cmd }));
}

/** Constraints added by `ALTER TABLE ... ADD CONSTRAINT` and inline on `ADD COLUMN`, with the table. */
function addedConstraints(statement: LintStatement): { table: string | undefined; constraint: AstNode; inline: boolean }[] {
  const added = commands(statement, 'AT_AddConstraint').flatMap(({ table, cmd }) => {
    const constraint = as(cmd.def, 'Constraint');
    return constraint ? [{ table, constraint, inline: false }] : [];
  });
  const inline = commands(statement, 'AT_AddColumn').flatMap(({ table, cmd }) =>
    columnConstraints(as(cmd.def, 'ColumnDef')).map((constraint) => ({ table, constraint, inline: true })),
  );
  return [...added, ...inline];
}

const constraintLabel = (constraint: AstNode): string => {
  const name = str(constraint, 'conname');
  return name ? `constraint ${name}` : 'the constraint';
};

/** The column a `CHECK (col IS NOT NULL)` constraint tests, if that is all it tests. */
function notNullCheckColumn(constraint: AstNode): string | undefined {
  if (str(constraint, 'contype') !== 'CONSTR_CHECK') return undefined;
  const test = as(constraint.raw_expr, 'NullTest');
  if (!test || str(test, 'nulltesttype') !== 'IS_NOT_NULL') return undefined;
  return names(list(as(test.arg, 'ColumnRef'), 'fields')).at(-1);
}

/** Whether an earlier statement of the run added a validated `CHECK (column IS NOT NULL)` on the table. */
function hasValidatedNotNullCheck(earlier: readonly LintStatement[], table: string | undefined, column: string): boolean {
  const checks = new Map<string, boolean>();
  for (const statement of earlier) {
    for (const added of addedConstraints(statement)) {
      if (added.table !== table || notNullCheckColumn(added.constraint) !== column) continue;
      checks.set(str(added.constraint, 'conname') ?? '', !flag(added.constraint, 'skip_validation'));
    }
    for (const { table: t, cmd } of commands(statement, 'AT_ValidateConstraint')) {
      const name = str(cmd, 'name');
      if (t === table && name !== undefined && checks.has(name)) checks.set(name, true);
    }
  }
  return [...checks.values()].some(Boolean);
}

export const constraintRules: LintRule[] = [
  {
    id: 'constraint-missing-not-valid',
    family: 'constraints',
    summary: 'ADD CONSTRAINT ... CHECK without NOT VALID scans the whole table under an ACCESS EXCLUSIVE lock.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      addedConstraints(statement)
        .filter(
          ({ constraint, inline }) => !inline && str(constraint, 'contype') === 'CONSTR_CHECK' && !flag(constraint, 'skip_validation'),
        )
        .map(({ table, constraint }) => ({
          message: `${constraintLabel(constraint)} on ${table} is checked against every row while the table is locked`,
          hint: 'Add it NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later migration (a weaker lock).',
          relation: table,
        })),
  },
  {
    id: 'adding-foreign-key-constraint',
    family: 'constraints',
    summary: 'A foreign key added without NOT VALID is validated under locks on both tables.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      addedConstraints(statement)
        .filter(({ constraint }) => str(constraint, 'contype') === 'CONSTR_FOREIGN' && !flag(constraint, 'skip_validation'))
        .map(({ table, constraint, inline }) => ({
          message: `${inline ? 'a column REFERENCES' : constraintLabel(constraint)} on ${table} is validated while ${table} and ${relationName(obj(constraint, 'pktable'))} are locked against writes`,
          hint: inline
            ? 'Add the column without REFERENCES, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, and VALIDATE it in a later migration.'
            : 'Add it NOT VALID, then VALIDATE CONSTRAINT in a later migration.',
          relation: table,
        })),
  },
  {
    id: 'disallowed-unique-constraint',
    family: 'constraints',
    summary: 'ADD UNIQUE builds its index under an ACCESS EXCLUSIVE lock; build the index concurrently first.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      addedConstraints(statement)
        .filter(({ constraint }) => str(constraint, 'contype') === 'CONSTR_UNIQUE' && str(constraint, 'indexname') === undefined)
        .map(({ table, constraint }) => ({
          message: `${constraintLabel(constraint)} on ${table} builds a unique index while the table is locked against reads and writes`,
          hint: 'CREATE UNIQUE INDEX CONCURRENTLY first (transaction:false), then ADD CONSTRAINT ... UNIQUE USING INDEX.',
          relation: table,
        })),
  },
  {
    id: 'adding-primary-key-constraint',
    family: 'constraints',
    summary: 'ADD PRIMARY KEY builds its index (and may set NOT NULL) under an ACCESS EXCLUSIVE lock.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      addedConstraints(statement)
        .filter(({ constraint }) => str(constraint, 'contype') === 'CONSTR_PRIMARY' && str(constraint, 'indexname') === undefined)
        .map(({ table }) => ({
          message: `a primary key on ${table} builds its index while the table is locked against reads and writes`,
          hint: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX.',
          relation: table,
        })),
  },
  {
    id: 'adding-exclusion-constraint',
    family: 'constraints',
    summary: 'ADD EXCLUDE builds its index under an ACCESS EXCLUSIVE lock and has no concurrent form.',
    severity: 'error',
    grading: 'size',
    check: (statement) =>
      addedConstraints(statement)
        .filter(({ constraint }) => str(constraint, 'contype') === 'CONSTR_EXCLUSION')
        .map(({ table }) => ({
          message: `an exclusion constraint on ${table} builds its index while the table is locked against reads and writes`,
          hint: 'Enforce the rule another way (a trigger, or a unique index), or add it while the table is small.',
          relation: table,
        })),
  },
  {
    id: 'setting-not-null',
    family: 'constraints',
    summary: 'SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock unless a validated CHECK (col IS NOT NULL) exists.',
    severity: 'error',
    grading: 'size',
    check: (statement, { earlier }) =>
      commands(statement, 'AT_SetNotNull')
        .filter(({ table, cmd }) => !hasValidatedNotNullCheck(earlier, table, str(cmd, 'name') ?? ''))
        .map(({ table, cmd }) => ({
          message: `SET NOT NULL on ${table}.${str(cmd, 'name')} checks every row while the table is locked`,
          hint: `ADD CONSTRAINT ... CHECK (${str(cmd, 'name')} IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (instant) and drop the check.`,
          relation: table,
        })),
  },
  {
    id: 'validate-constraint-in-same-transaction',
    family: 'constraints',
    summary: 'VALIDATE CONSTRAINT in the transaction that added it NOT VALID keeps the ADD lock through the scan.',
    severity: 'warning',
    grading: 'size',
    check: (statement, { previous, inTransaction }) => {
      if (!inTransaction) return [];
      const addedHere = new Set(
        previous
          .flatMap((p) => addedConstraints(p).filter(({ constraint }) => flag(constraint, 'skip_validation')))
          .map(({ table, constraint }) => `${table}.${str(constraint, 'conname')}`),
      );
      return commands(statement, 'AT_ValidateConstraint')
        .filter(({ table, cmd }) => addedHere.has(`${table}.${str(cmd, 'name')}`))
        .map(({ table, cmd }): RawFinding => ({
          message: `constraint ${str(cmd, 'name')} is validated in the transaction that added it, which still holds the ACCESS EXCLUSIVE lock of the ADD`,
          hint: 'Validate it in a later migration file.',
          relation: table,
        }));
    },
  },
  {
    id: 'ban-drop-not-null',
    family: 'constraints',
    summary: 'DROP NOT NULL lets NULLs in that deployed code may not expect.',
    severity: 'warning',
    grading: 'new-table',
    check: (statement) =>
      commands(statement, 'AT_DropNotNull').map(({ table, cmd }) => ({
        message: `DROP NOT NULL on ${table}.${str(cmd, 'name')}: code that reads the column may not handle NULL`,
        hint: 'Deploy code that handles NULL first; accept the finding with a reason once it is.',
        relation: table,
      })),
  },
  {
    id: 'ban-alter-domain-with-add-constraint',
    family: 'constraints',
    summary: 'ALTER DOMAIN ... ADD CONSTRAINT checks every column of the domain under locks.',
    severity: 'error',
    grading: 'none',
    check: ({ kind, node }) =>
      kind === 'AlterDomainStmt' && str(node, 'subtype') === 'C' && !flag(as(node.def, 'Constraint'), 'skip_validation')
        ? [
            {
              message: `ALTER DOMAIN ${names(list(node, 'typeName')).join('.')} ADD CONSTRAINT scans every table that uses the domain`,
              hint: 'Add it NOT VALID and VALIDATE CONSTRAINT in a later migration, or check the columns with table constraints.',
            },
          ]
        : [],
  },
  {
    id: 'ban-create-domain-with-constraint',
    family: 'constraints',
    summary: 'A domain with a CHECK constraint cannot later change the check without scanning every user of it.',
    severity: 'warning',
    grading: 'none',
    check: ({ kind, node }) =>
      kind === 'CreateDomainStmt' &&
      list(node, 'constraints').some((c) => kindOf(c) === 'Constraint' && str(as(c, 'Constraint'), 'contype') === 'CONSTR_CHECK')
        ? [
            {
              message: `domain ${names(list(node, 'domainname')).join('.')} carries a CHECK constraint`,
              hint: 'Put the check on the table columns (ADD CONSTRAINT ... NOT VALID can change it later without a long lock).',
            },
          ]
        : [],
  },
];
