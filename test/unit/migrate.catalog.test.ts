/** diffCatalogs and describeDifference (src/migrate/catalog.ts): what `migrate baseline` lists, without a database. */
import { describe, expect, it } from 'vitest';
import { describeDifference, diffCatalogs, type CatalogObject } from '../../src/migrate/catalog.js';

const table = (name: string): CatalogObject => ({ section: 'tables', kind: 'table', name, definition: `CREATE TABLE ${name} (...);` });
const column = (name: string, definition: string): CatalogObject => ({
  section: 'columns',
  kind: 'column',
  name,
  parent: name.split('.')[0]!,
  definition,
});
const index = (name: string, parent: string): CatalogObject => ({
  section: 'indexes',
  kind: 'index',
  name,
  parent,
  definition: `CREATE INDEX ${name} ON public.${parent} USING btree (id);`,
});

describe('diffCatalogs', () => {
  it('finds nothing between equal catalogs, and compares tables by presence only (their columns one by one)', () => {
    const expected = [table('users'), column('users.id', 'uuid NOT NULL')];
    expect(diffCatalogs(expected, expected)).toEqual([]);
    expect(
      diffCatalogs(expected, [{ ...table('users'), definition: 'CREATE TABLE users (other);' }, column('users.id', 'uuid NOT NULL')]),
    ).toEqual([]);
  });

  it('names a missing index, a column of another type, and extras', () => {
    const expected = [table('users'), column('users.name', 'text NOT NULL'), index('users_name_idx', 'users')];
    const actual = [table('users'), column('users.name', 'character varying(300) NOT NULL'), table('notes'), column('notes.id', 'integer')];
    expect(diffCatalogs(expected, actual)).toEqual([
      { change: 'different', kind: 'column', name: 'users.name', expected: 'text NOT NULL', actual: 'character varying(300) NOT NULL' },
      {
        change: 'missing',
        kind: 'index',
        name: 'users_name_idx',
        expected: 'CREATE INDEX users_name_idx ON public.users USING btree (id);',
      },
      // An extra table once, not its columns too.
      { change: 'extra', kind: 'table', name: 'notes', actual: 'CREATE TABLE notes (...);' },
    ]);
  });

  it('lists a missing table once, counting its own objects', () => {
    const expected = [
      table('audit_log'),
      column('audit_log.id', 'bigint'),
      column('audit_log.row_id', 'uuid'),
      index('audit_log_row_idx', 'audit_log'),
    ];
    const [only, ...rest] = diffCatalogs(expected, []);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ change: 'missing', kind: 'table', name: 'audit_log', dependents: 3 });
    expect(describeDifference(only!)).toBe('missing table audit_log (with the 3 columns, indexes and other objects on it)');
  });
});

describe('describeDifference', () => {
  it('puts a definition on one line, shortened past 200 characters', () => {
    const long = `CREATE FUNCTION f() RETURNS int\nLANGUAGE sql AS $$ SELECT ${'1 + '.repeat(80)}1 $$;`;
    const line = describeDifference({ change: 'missing', kind: 'function', name: 'f()', expected: long });
    expect(line).toMatch(/^missing function f\(\): CREATE FUNCTION f\(\) RETURNS int LANGUAGE sql AS/);
    expect(line).not.toContain('\n');
    expect(line.endsWith(' ...')).toBe(true);
    expect(describeDifference({ change: 'different', kind: 'column', name: 'a.id', expected: 'integer', actual: 'bigint' })).toBe(
      'different column a.id: expected integer, found bigint',
    );
  });
});
