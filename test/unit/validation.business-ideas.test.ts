/** The business ideas input schemas at their boundaries, without a database: they mirror the CHECKs. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import * as ideas from '../../src/repositories/business-ideas.js';
import type { Executor } from '../../src/repositories/executor.js';
import { encodeCursor } from '../../src/validation/cursor.js';
import { createIdeaSchema, listIdeasSchema, updateIdeaContentSchema } from '../../src/validation/business-ideas.js';
import { parseInput } from '../../src/validation/common.js';
import { captureSql } from '../support/sql-capture.js';

const DESCRIPTION = 'Independent physiotherapy clinics lose hours every week to phone scheduling and no-shows.';
const valid = { title: 'Clinic scheduler', description: DESCRIPTION };
const USER = '5d7b8f0e-2c4a-4e6b-8a1d-3f9c0b2e4d6a';

function issues(input: unknown, schema: Parameters<typeof parseInput>[0] = createIdeaSchema): string[] {
  try {
    parseInput(schema, input, 'business idea');
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
}
const paths = (input: unknown, schema?: Parameters<typeof parseInput>[0]): string[] =>
  issues(input, schema).map((line) => line.split(':')[0]!);

describe('title (3..200, minimum without surrounding spaces)', () => {
  it.each([
    ['abc', true],
    ['  abc  ', true],
    ['ab', false],
    ['  ab  ', false],
    ['a b', true], // inner spaces count
    ['\tab', true], // btrim strips spaces only, as PostgreSQL's does
    ['x'.repeat(200), true],
    ['x'.repeat(201), false],
    [' '.repeat(198) + 'abc', false], // the maximum counts the spaces
    ['🚀'.repeat(200), true], // 200 code points
    ['🚀'.repeat(201), false],
    ['ab\u0000c', false],
  ])('%j -> valid: %s', (title, ok) => {
    expect(paths({ ...valid, title })).toEqual(ok ? [] : ['title']);
  });

  it('explains itself', () => {
    expect(issues({ ...valid, title: ' a ' })).toEqual(['title: must be at least 3 characters, not counting leading and trailing spaces']);
    expect(issues({ ...valid, title: 'x'.repeat(201) })).toEqual(['title: must be at most 200 characters']);
  });
});

describe('description (50..5000, minimum without surrounding spaces)', () => {
  it.each([
    [50, 0, true],
    [49, 0, false],
    [49, 10, false], // padding does not reach the minimum
    [5000, 0, true],
    [5001, 0, false],
    [4990, 11, false], // nor escape the maximum
  ])('%i characters with %i spaces around -> valid: %s', (length, padding, ok) => {
    const description = ' '.repeat(Math.ceil(padding / 2)) + 'd'.repeat(length) + ' '.repeat(Math.floor(padding / 2));
    expect(paths({ ...valid, description })).toEqual(ok ? [] : ['description']);
  });
});

describe('create and update input', () => {
  it('lists every failing field, rejects unknown fields and wrong types', () => {
    expect(paths({ title: 'x', description: 'y' }).sort()).toEqual(['description', 'title']);
    expect(paths({ ...valid, status: 'completed' })).toEqual(['(root)']);
    expect(paths({ ...valid, userId: USER })).toEqual(['(root)']);
    expect(paths({ title: 5, description: null }).sort()).toEqual(['description', 'title']);
    expect(parseInput(createIdeaSchema, valid, 'idea')).toEqual(valid); // stored verbatim, no trimming
  });

  it('update needs at least one field', () => {
    expect(paths({}, updateIdeaContentSchema)).toEqual(['(root)']);
    expect(paths({ description: DESCRIPTION }, updateIdeaContentSchema)).toEqual([]);
    expect(paths({ title: 'no', description: 'no' }, updateIdeaContentSchema).sort()).toEqual(['description', 'title']);
  });
});

describe('list options', () => {
  it('defaults and normal forms', () => {
    expect(parseInput(listIdeasSchema, {}, 'idea')).toEqual({ limit: 20 });
    const parsed = parseInput(listIdeasSchema, { status: 'draft', createdFrom: '2026-01-01T00:00:00+01:00', search: '  clinic  ' }, 'idea');
    expect(parsed).toEqual({ status: ['draft'], createdFrom: new Date('2025-12-31T23:00:00Z'), search: 'clinic', limit: 20 });
  });

  it('rejects bad values, each under its own path', () => {
    expect(paths({ status: 'done' }, listIdeasSchema)).toEqual(['status']);
    expect(paths({ status: [] }, listIdeasSchema)).toEqual(['status']);
    expect(paths({ status: 7 }, listIdeasSchema)).toEqual(['status']);
    expect(paths({ createdFrom: '2026-01-01' }, listIdeasSchema)).toEqual(['createdFrom']); // no time zone: ambiguous
    // Outside PostgreSQL's timestamptz range, invalid, or not a calendar date: named, never a 22008 from the server.
    expect(paths({ createdFrom: new Date(-8.64e15) }, listIdeasSchema)).toEqual(['createdFrom']);
    expect(paths({ createdTo: new Date(Number.NaN) }, listIdeasSchema)).toEqual(['createdTo']);
    expect(paths({ createdFrom: '2026-02-30T00:00:00Z' }, listIdeasSchema)).toEqual(['createdFrom']);
    expect(paths({ createdFrom: new Date(Date.UTC(-4713, 10, 24)), createdTo: new Date(8.64e15) }, listIdeasSchema)).toEqual([]);
    expect(paths({ createdTo: new Date(Number.NaN) }, listIdeasSchema)).toEqual(['createdTo']);
    expect(paths({ createdFrom: '2026-02-01T00:00:00Z', createdTo: '2026-01-01T00:00:00Z' }, listIdeasSchema)).toEqual(['createdTo']);
    expect(paths({ createdFrom: '2026-01-01T00:00:00Z', createdTo: '2026-01-01T00:00:00Z' }, listIdeasSchema)).toEqual([]);
    expect(paths({ search: '' }, listIdeasSchema)).toEqual(['search']);
    expect(paths({ search: 'x'.repeat(201) }, listIdeasSchema)).toEqual(['search']);
    expect(paths({ search: 'a\u0000' }, listIdeasSchema)).toEqual(['search']);
    expect(paths({ cursor: encodeCursor({ createdAt: '2026-01-01T00:00:00.000000Z', id: USER }) }, listIdeasSchema)).toEqual([]);
    expect(paths({ cursor: 'e30' }, listIdeasSchema)).toEqual(['cursor']);
    expect(paths({ sort: 'title' }, listIdeasSchema)).toEqual(['(root)']);
  });
});

describe('repository functions validate before sending anything', () => {
  it('no SQL is compiled for invalid input', async () => {
    const { sqlOf } = captureSql();
    const ID = '0b6e2a3c-6f1d-4c2e-9a53-2f8f1d0c7e11';
    const calls: ((db: Executor<'owner'>) => Promise<unknown>)[] = [
      (db) => ideas.createIdea(db, USER, { ...valid, title: '' }),
      (db) => ideas.createIdea(db, 'user-1', valid),
      (db) => ideas.getIdea(db, ''),
      (db) => ideas.listIdeasByUser(db, USER, { limit: -1 }),
      (db) => ideas.updateIdeaContent(db, ID, { description: 'short' }),
      (db) => ideas.setIdeaStatus(db, ID, 'draft', { from: ['submitted'] }),
      (db) => ideas.submitIdea(db, 'x'),
      (db) => ideas.startIdeaEvaluation(db, 'x'),
      (db) => ideas.completeIdea(db, 'x'),
      (db) => ideas.archiveIdea(db, 'x'),
      (db) => ideas.softDeleteIdea(db, 'x'),
      (db) => ideas.ideaStatsForUser(db, 'x'),
    ];
    for (const call of calls) {
      expect(await sqlOf(call)).toBe('');
      await expect(call(captureSql().db)).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
