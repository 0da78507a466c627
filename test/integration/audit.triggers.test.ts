/**
 * The audit triggers (migrations 20261125090200_audit_log, 20261202090000_audit_changed_columns):
 * every insert, real update and delete on the four tables writes one audit row in the same
 * transaction as the change: an insert the new row, a delete the old row, an update the changed
 * columns' old and new values (never password_hash).
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

  it('record an update as the changed columns, their values before and after, on each of the four tables', async () => {
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
      // Exactly the column the statement changed and the updated_at the trigger moved, nothing else.
      const inserted = entries[0]!.newRow!;
      expect(update.oldRow, table).toEqual({ [column]: before, updated_at: inserted.updated_at });
      expect(update.newRow, table).toEqual({ [column]: after, updated_at: expect.any(String) });
      expect(update.newRow?.updated_at, table).not.toEqual(update.oldRow?.updated_at);
      expect(update).toMatchObject({ tableName: table, rowId: id, operation: 'update', actor: null });
    }
  });

  it("record an agent run's completion as what it wrote: the payloads once, not the unchanged input", async () => {
    const { result } = await chain();
    const outputData = { version: 1, summary: 'A growing niche', findings: [{ topic: 'market-size', statement: 'About $1.2B' }] };
    await t.db
      .updateTable('agentResults')
      .set({ status: 'running', startedAt: sql<Date>`now()` })
      .where('id', '=', result.id)
      .execute();
    await t.db
      .updateTable('agentResults')
      .set({ status: 'completed', outputData: JSON.stringify(outputData), score: 78.5, completedAt: sql<Date>`now()` })
      .where('id', '=', result.id)
      .execute();
    const [, started, completed] = await history('agent_results', result.id);
    expect(started?.oldRow).toEqual({ status: 'pending', started_at: null, updated_at: expect.any(String) });
    expect(started?.newRow).toEqual({ status: 'running', started_at: expect.any(String), updated_at: expect.any(String) });
    expect(completed?.oldRow).toEqual({
      status: 'running',
      output_data: null,
      score: null,
      completed_at: null,
      updated_at: started?.newRow?.updated_at,
    });
    expect(completed?.newRow).toEqual({
      status: 'completed',
      output_data: outputData,
      score: 78.5,
      completed_at: expect.any(String),
      updated_at: expect.any(String),
    });
    // A column set back to NULL is a change too, recorded with JSON null.
    await t.db.updateTable('agentResults').set({ score: null }).where('id', '=', result.id).execute();
    const cleared = (await history('agent_results', result.id)).at(-1);
    expect(cleared?.oldRow).toMatchObject({ score: 78.5 });
    expect(cleared?.newRow).toMatchObject({ score: null });
    expect(Object.keys(cleared!.newRow!).sort()).toEqual(['score', 'updated_at']);
  });

  it('record an update that changed only password_hash as an update with no columns', async () => {
    const user = await createTestUser(t.db);
    // In one transaction updated_at cannot move twice (it is the transaction's time), so the
    // second update changes password_hash alone: still history, without the hash.
    await t.database.transaction(
      t.db,
      async (trx) => {
        await trx.updateTable('users').set({ name: 'Renamed First' }).where('id', '=', user.id).execute();
        await trx.updateTable('users').set({ passwordHash: fakePasswordHash() }).where('id', '=', user.id).execute();
      },
      { actorId: 'security-bot' },
    );
    const [, renamed, rehashed] = await history('users', user.id);
    expect(renamed).toMatchObject({ operation: 'update', actor: 'security-bot', newRow: { name: 'Renamed First' } });
    expect(rehashed).toMatchObject({ operation: 'update', actor: 'security-bot', oldRow: {}, newRow: {} });
    expect(rehashed?.txid).toBe(renamed?.txid);
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
      // The whole row as it was, like an insert's image.
      expect(Object.keys(last!.oldRow!).sort(), table).toEqual(Object.keys((await history(table, id))[0]!.newRow!).sort());
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
