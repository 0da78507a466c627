/**
 * The audit triggers (migration 20261125090200_audit_log): every insert, real update and delete
 * on the four tables writes one audit row with the old and new row (never password_hash), in the
 * same transaction as the change.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { AuditLog, DB } from '../../src/schema/generated.js';
import { createTestIdea, createTestUser, fakePasswordHash } from '../support/factories.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();

type Entry = Selectable<AuditLog>;

async function history(tableName: string, rowId: string, db: Kysely<DB> = t.db): Promise<Entry[]> {
  return db.selectFrom('auditLog').selectAll().where('tableName', '=', tableName).where('rowId', '=', rowId).orderBy('id').execute();
}

async function auditCount(db: Kysely<DB> = t.db): Promise<number> {
  const row = await db
    .selectFrom('auditLog')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return row.n;
}

/** A user, an idea, an evaluation and one agent result, inserted directly. */
async function chain() {
  const user = await createTestUser(t.db);
  const idea = await createTestIdea(t.db, user.id);
  const evaluation = await t.db.insertInto('evaluations').values({ businessIdeaId: idea.id }).returningAll().executeTakeFirstOrThrow();
  const result = await t.db
    .insertInto('agentResults')
    .values({ evaluationId: evaluation.id, agentType: 'market-research', inputData: JSON.stringify({ market: 'EU' }) })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { user, idea, evaluation, result };
}

describe('audit triggers', () => {
  it('record an insert with the new row as JSON (snake_case keys, the database view)', async () => {
    const { idea, result } = await chain();
    const [entry, ...rest] = await history('business_ideas', idea.id);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ tableName: 'business_ideas', rowId: idea.id, operation: 'insert', actor: null, oldRow: null });
    expect(entry?.newRow).toEqual({
      id: idea.id,
      user_id: idea.userId,
      title: idea.title,
      description: idea.description,
      status: 'draft',
      created_at: expect.any(String),
      updated_at: expect.any(String),
      deleted_at: null,
      idempotency_key: null,
    });
    expect(new Date(entry!.newRow!.created_at as string)).toEqual(idea.createdAt);
    // The transaction's time, so it equals the updated_at that the change wrote.
    expect(entry?.changedAt).toEqual(idea.updatedAt);
    const [agentEntry] = await history('agent_results', result.id);
    expect(agentEntry?.newRow).toMatchObject({ agent_type: 'market-research', input_data: { market: 'EU' }, status: 'pending' });
  });

  it('record an update with the row before and after, on each of the four tables', async () => {
    const { user, idea, evaluation, result } = await chain();
    await t.db.updateTable('users').set({ name: 'Renamed Person' }).where('id', '=', user.id).execute();
    await t.db.updateTable('businessIdeas').set({ status: 'submitted' }).where('id', '=', idea.id).execute();
    await t.db.updateTable('evaluations').set({ priority: 'high' }).where('id', '=', evaluation.id).execute();
    await t.db.updateTable('agentResults').set({ score: 42.5 }).where('id', '=', result.id).execute();

    const cases: [string, string, string, unknown, unknown][] = [
      ['users', user.id, 'name', user.name, 'Renamed Person'],
      ['business_ideas', idea.id, 'status', 'draft', 'submitted'],
      ['evaluations', evaluation.id, 'priority', 'normal', 'high'],
      ['agent_results', result.id, 'score', null, 42.5],
    ];
    for (const [table, id, column, before, after] of cases) {
      const entries = await history(table, id);
      expect(
        entries.map((e) => e.operation),
        table,
      ).toEqual(['insert', 'update']);
      const update = entries[1]!;
      expect(update.oldRow?.[column], table).toEqual(before);
      expect(update.newRow?.[column], table).toEqual(after);
      expect(update.oldRow, table).toEqual(entries[0]!.newRow);
      expect(update.newRow?.updated_at, table).not.toEqual(update.oldRow?.updated_at);
    }
  });

  it('record a delete with the row before, including the rows a cascade removes', async () => {
    const { user, idea, evaluation, result } = await chain();
    const before = await auditCount();
    await t.db.deleteFrom('users').where('id', '=', user.id).execute();
    expect(await auditCount()).toBe(before + 4);
    for (const [table, id] of [
      ['users', user.id],
      ['business_ideas', idea.id],
      ['evaluations', evaluation.id],
      ['agent_results', result.id],
    ] as const) {
      const last = (await history(table, id)).at(-1);
      expect(last, table).toMatchObject({ operation: 'delete', newRow: null, oldRow: expect.objectContaining({ id }) });
    }
  });

  it('skip updates that change nothing', async () => {
    const user = await createTestUser(t.db);
    await t.db.updateTable('users').set({ name: user.name }).where('id', '=', user.id).execute();
    await t.db
      .updateTable('users')
      .set((eb) => ({ email: eb.ref('email') }))
      .where('id', '=', user.id)
      .execute();
    expect((await history('users', user.id)).map((e) => e.operation)).toEqual(['insert']);
  });

  it('one statement changing many rows writes one entry per row, all sharing the txid', async () => {
    const { evaluation } = await chain();
    await t.db
      .insertInto('agentResults')
      .values(['competitive-analysis', 'customer-research'].map((agentType) => ({ evaluationId: evaluation.id, agentType })))
      .execute();
    const entries = await t.db
      .selectFrom('auditLog')
      .selectAll()
      .where('tableName', '=', 'agent_results')
      .where(sql<boolean>`new_row ->> 'evaluation_id' = ${evaluation.id}`)
      .where('operation', '=', 'insert')
      .orderBy('id')
      .execute();
    expect(entries.map((e) => e.newRow?.agent_type)).toEqual(['market-research', 'competitive-analysis', 'customer-research']);
    expect(entries[1]!.txid).toBe(entries[2]!.txid);
    expect(entries[0]!.txid).not.toBe(entries[1]!.txid);
  });

  it('never record password_hash: not on insert, not when it changes, not on delete', async () => {
    const hash = `scrypt$AUDIT-CANARY-${fakePasswordHash()}`;
    const newHash = `scrypt$AUDIT-CANARY-2-${fakePasswordHash()}`;
    const user = await createTestUser(t.db, { passwordHash: hash });
    await t.db.updateTable('users').set({ passwordHash: newHash }).where('id', '=', user.id).execute();
    await t.db.deleteFrom('users').where('id', '=', user.id).execute();

    const entries = await history('users', user.id);
    // A password change is still history (updated_at moves), just without the hash.
    expect(entries.map((e) => e.operation)).toEqual(['insert', 'update', 'delete']);
    for (const entry of entries) {
      for (const row of [entry.oldRow, entry.newRow]) if (row) expect(Object.keys(row)).not.toContain('password_hash');
    }
    const { rows } = await sql<{ n: number }>`select count(*) as n from audit_log
      where audit_log::text like '%AUDIT-CANARY%' or audit_log::text like '%password_hash%'`.execute(t.db);
    expect(rows[0]?.n).toBe(0);
  });

  it('a rolled-back transaction leaves no audit rows', async () => {
    const user = await createTestUser(t.db);
    const before = await auditCount();
    await expect(
      t.database.transaction(t.db, async (trx) => {
        await trx.updateTable('users').set({ name: 'Never Happened' }).where('id', '=', user.id).execute();
        await createTestIdea(trx, user.id);
        expect(await auditCount(trx)).toBe(before + 2);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await auditCount()).toBe(before);
  });

  it('cannot be diverted into a temporary table called audit_log', async () => {
    const user = await createTestUser(t.db);
    await t.database.transaction(t.db, async (trx) => {
      await sql`create temporary table audit_log (like public.audit_log) on commit drop`.execute(trx);
      await trx.updateTable('users').set({ name: 'Sneaky Rename' }).where('id', '=', user.id).execute();
      const { rows } = await sql<{ n: number }>`select count(*) as n from pg_temp.audit_log`.execute(trx);
      expect(rows[0]?.n).toBe(0);
    });
    expect((await history('users', user.id)).map((e) => e.operation)).toEqual(['insert', 'update']);
  });

  it('the table refuses an entry whose rows do not match its operation', async () => {
    await expect(
      sql`insert into audit_log (table_name, row_id, operation, old_row, new_row)
          values ('users', gen_random_uuid(), 'insert', '{}', null)`.execute(t.db),
    ).rejects.toMatchObject({ name: 'ValidationError', issues: [{ path: 'audit_log_rows_match_operation_check' }] });
  });
});
