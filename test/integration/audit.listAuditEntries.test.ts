/**
 * listAuditEntries: one row's history, oldest first, paged by audit id, validated before any query.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { listAuditEntries } from '../../src/repositories/audit-log.js';
import { createTestIdea, createTestUser } from '../support/factories.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();

describe('listAuditEntries', () => {
  it("returns one row's changes in the order they were made, with actor and rows", async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id);
    await createTestIdea(t.db, user.id); // another row of the same table: not in this history
    await t.database.transaction(
      t.db,
      (trx) => trx.updateTable('businessIdeas').set({ status: 'submitted' }).where('id', '=', idea.id).execute(),
      {
        actorId: 'reviewer-1',
      },
    );
    await t.db.deleteFrom('businessIdeas').where('id', '=', idea.id).execute();

    const { items: entries, nextCursor } = await listAuditEntries(t.db, { tableName: 'business_ideas', rowId: idea.id });
    expect(nextCursor).toBeNull();
    expect(entries.map((e) => [e.operation, e.actor, e.oldRow?.status ?? null, e.newRow?.status ?? null])).toEqual([
      ['insert', null, null, 'draft'],
      ['update', 'reviewer-1', 'draft', 'submitted'],
      ['delete', null, 'submitted', null],
    ]);
    expect(entries.every((e) => e.rowId === idea.id && e.tableName === 'business_ideas')).toBe(true);
    // The insert and the delete carry the whole row, the update only the columns it changed.
    expect(Object.keys(entries[0]!.newRow!)).toContain('title');
    expect(Object.keys(entries[1]!.oldRow!).sort()).toEqual(['status', 'updated_at']);
    expect(Object.keys(entries[1]!.newRow!).sort()).toEqual(['status', 'updated_at']);
    expect(Object.keys(entries[2]!.oldRow!).sort()).toEqual(Object.keys(entries[0]!.newRow!).sort());
    // Folding the history gives the row as it was deleted.
    const folded = entries.slice(1, 2).reduce((row, e) => ({ ...row, ...e.newRow }), entries[0]!.newRow!);
    expect(folded).toEqual(entries[2]!.oldRow);
    expect(entries[0]?.changedAt).toBeInstanceOf(Date);
    expect(typeof entries[0]?.id).toBe('number');
  });

  it('pages with limit and cursor', async () => {
    const user = await createTestUser(t.db);
    for (const name of ['Name One', 'Name Two', 'Name Three', 'Name Four']) {
      await t.db.updateTable('users').set({ name }).where('id', '=', user.id).execute();
    }
    const first = await listAuditEntries(t.db, { tableName: 'users', rowId: user.id, limit: 2 });
    const second = await listAuditEntries(t.db, { tableName: 'users', rowId: user.id, limit: 2, cursor: first.nextCursor! });
    const third = await listAuditEntries(t.db, { tableName: 'users', rowId: user.id, limit: 2, cursor: second.nextCursor! });
    expect([...first.items, ...second.items, ...third.items].map((e) => e.newRow?.name)).toEqual([
      user.name,
      'Name One',
      'Name Two',
      'Name Three',
      'Name Four',
    ]);
    expect(third.items).toHaveLength(1);
    expect(third.nextCursor).toBeNull();
  });

  it('returns an empty list for a row with no history', async () => {
    expect(await listAuditEntries(t.db, { tableName: 'evaluations', rowId: randomUUID() })).toEqual({ items: [], nextCursor: null });
  });

  it('rejects every invalid field at once, before any query', async () => {
    const before = t.database.stats().queries;
    const error = await listAuditEntries(t.db, {
      tableName: 'audit_log' as 'users',
      rowId: "1' or '1'='1",
      cursor: 'not-a-cursor',
      limit: 1001,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path).sort()).toEqual(['cursor', 'limit', 'rowId', 'tableName']);
    expect((error as ValidationError).message).not.toContain("or '1'='1");
    await expect(listAuditEntries(t.db, { tableName: 'users', rowId: randomUUID(), extra: 1 } as never)).rejects.toThrow(ValidationError);
    expect(t.database.stats().queries).toBe(before);
  });
});
