/**
 * Small readers over libpg-query's JSON AST, so rules say what they look for and not how the
 * tree is shaped.
 */
import type { AstNode } from './types.js';

/** The fields of a wrapped node (`{ ColumnDef: {...} }` -> `{...}`) when it is of `kind`. */
export function as(value: unknown, kind: string): AstNode | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const inner = (value as AstNode)[kind];
  return typeof inner === 'object' && inner !== null ? (inner as AstNode) : undefined;
}

/** The kind of a wrapped node (`{ ColumnDef: {...} }` -> `ColumnDef`). */
export function kindOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const keys = Object.keys(value);
  return keys.length === 1 ? keys[0] : undefined;
}

/** A field that holds a list, or []. */
export function list(node: AstNode | undefined, field: string): unknown[] {
  const value = node?.[field];
  return Array.isArray(value) ? value : [];
}

/** A string field, or undefined. */
export function str(node: AstNode | undefined, field: string): string | undefined {
  const value = node?.[field];
  return typeof value === 'string' ? value : undefined;
}

/** A boolean field (absent means false in libpg-query's output). */
export function flag(node: AstNode | undefined, field: string): boolean {
  return node?.[field] === true;
}

/** An object field, or undefined. */
export function obj(node: AstNode | undefined, field: string): AstNode | undefined {
  const value = node?.[field];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as AstNode) : undefined;
}

/** The `String` values of a list of names (`[{String:{sval:'public'}}, {String:{sval:'t'}}]` -> `['public','t']`). */
export function names(items: readonly unknown[]): string[] {
  return items.map((item) => str(as(item, 'String'), 'sval')).filter((s): s is string => s !== undefined);
}

/** A RangeVar as written: `schema.name` or `name`. */
export function relationName(rangeVar: AstNode | undefined): string | undefined {
  const name = str(rangeVar, 'relname');
  if (name === undefined) return undefined;
  const schema = str(rangeVar, 'schemaname');
  return schema ? `${schema}.${name}` : name;
}

/** A type's last name, lowercased (`pg_catalog.int4` -> `int4`, `json` -> `json`). */
export function typeName(typeNameNode: AstNode | undefined): string | undefined {
  return names(list(typeNameNode, 'names')).at(-1)?.toLowerCase();
}

/** The type modifiers as numbers (`varchar(20)` -> `[20]`). */
export function typeModifiers(typeNameNode: AstNode | undefined): number[] {
  return list(typeNameNode, 'typmods')
    .map((m) => {
      const constant = as(m, 'A_Const');
      const ival = obj(constant, 'ival');
      return typeof ival?.ival === 'number' ? ival.ival : undefined;
    })
    .filter((n): n is number => n !== undefined);
}

/** Calls `visit` on every wrapped node below `value`, depth first, with its kind. */
export function walk(value: unknown, visit: (kind: string, node: AstNode) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value as AstNode)) {
    if (/^[A-Z]/.test(key) && typeof child === 'object' && child !== null && !Array.isArray(child)) visit(key, child as AstNode);
    walk(child, visit);
  }
}

/** The function names called anywhere below `value`, lowercased, without schema. */
export function calledFunctions(value: unknown): string[] {
  const found: string[] = [];
  walk(value, (kind, node) => {
    if (kind === 'FuncCall') {
      const name = names(list(node, 'funcname')).at(-1);
      if (name) found.push(name.toLowerCase());
    }
    if (kind === 'SQLValueFunction' && typeof node.op === 'string') found.push(node.op.toLowerCase());
  });
  return found;
}

/** The ALTER TABLE subcommands of an `AlterTableStmt`. */
export function alterCommands(node: AstNode): AstNode[] {
  return list(node, 'cmds')
    .map((c) => as(c, 'AlterTableCmd'))
    .filter((c): c is AstNode => c !== undefined);
}

/** The constraints of a column definition. */
export function columnConstraints(columnDef: AstNode | undefined): AstNode[] {
  return list(columnDef, 'constraints')
    .map((c) => as(c, 'Constraint'))
    .filter((c): c is AstNode => c !== undefined);
}
