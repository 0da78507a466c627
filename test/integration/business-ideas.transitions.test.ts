/** Business idea status transitions: the workflow, its refusals, and concurrent transitions (exactly one wins). */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { IdeaStatus } from '../../src/schema/generated.js';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../../src/errors.js';
import * as ideas from '../../src/repositories/business-ideas.js';
import { useTestDatabase } from '../support/database.js';
import { createTestIdea, createTestUser } from '../support/factories.js';

const t = useTestDatabase({ pool: { max: 6 } });

const MOVES = {
  submitIdea: ideas.submitIdea,
  startIdeaEvaluation: ideas.startIdeaEvaluation,
  completeIdea: ideas.completeIdea,
  archiveIdea: ideas.archiveIdea,
} as const;
type Move = keyof typeof MOVES;

/** Which status each move accepts, and where it leads. */
const WORKFLOW: Record<Move, { from: IdeaStatus[]; to: IdeaStatus }> = {
  submitIdea: { from: ['draft'], to: 'submitted' },
  startIdeaEvaluation: { from: ['submitted'], to: 'evaluating' },
  completeIdea: { from: ['evaluating'], to: 'completed' },
  archiveIdea: { from: ['draft', 'submitted', 'evaluating', 'completed'], to: 'archived' },
};
const STATUSES: IdeaStatus[] = ['draft', 'submitted', 'evaluating', 'completed', 'archived'];

const statusOf = async (id: string): Promise<IdeaStatus> =>
  (await t.db.selectFrom('businessIdeas').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

describe('the workflow', () => {
  it('draft -> submitted -> evaluating -> completed -> archived', async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id);
    expect((await ideas.submitIdea(t.db, idea.id)).status).toBe('submitted');
    expect((await ideas.startIdeaEvaluation(t.db, idea.id)).status).toBe('evaluating');
    expect((await ideas.completeIdea(t.db, idea.id)).status).toBe('completed');
    const archived = await ideas.archiveIdea(t.db, idea.id);
    expect(archived).toMatchObject({ id: idea.id, status: 'archived', title: idea.title });
  });

  // Every (move, current status) pair: allowed pairs move, every other pair is refused and changes nothing.
  const cases = (Object.keys(MOVES) as Move[]).flatMap((move) => STATUSES.map((status) => [move, status] as const));
  it.each(cases)('%s from %s', async (move, status) => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id, { status });
    const { from, to } = WORKFLOW[move];
    if (from.includes(status)) {
      expect((await MOVES[move](t.db, idea.id)).status).toBe(to);
      expect(await statusOf(idea.id)).toBe(to);
    } else {
      const error = await MOVES[move](t.db, idea.id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidTransitionError);
      expect(error).toMatchObject({ entity: 'business idea', id: idea.id, from: status, to });
      expect(await statusOf(idea.id)).toBe(status);
    }
  });

  it('an unknown or soft-deleted idea is a NotFoundError; a malformed id a ValidationError before the database', async () => {
    const user = await createTestUser(t.db);
    const deleted = await createTestIdea(t.db, user.id, { deletedAt: new Date() });
    await expect(ideas.submitIdea(t.db, deleted.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(ideas.archiveIdea(t.db, '00000000-0000-4000-8000-000000000077')).rejects.toBeInstanceOf(NotFoundError);
    const queries = t.database.stats().queries;
    await expect(ideas.completeIdea(t.db, 'not-an-id')).rejects.toBeInstanceOf(ValidationError);
    expect(t.database.stats().queries).toBe(queries);
  });
});

describe('setIdeaStatus', () => {
  it('with `to` among `from` is idempotent (what a re-claimed evaluation needs)', async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id, { status: 'evaluating' });
    const same = await ideas.setIdeaStatus(t.db, idea.id, 'evaluating', { from: ['submitted', 'evaluating'] });
    expect(same).toMatchObject({ status: 'evaluating', updatedAt: idea.updatedAt });
    const submitted = await createTestIdea(t.db, user.id, { status: 'submitted' });
    expect((await ideas.setIdeaStatus(t.db, submitted.id, 'evaluating', { from: ['submitted', 'evaluating'] })).status).toBe('evaluating');
  });

  it('refuses moves the workflow does not have, and unknown statuses, before the database', async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id, { status: 'completed' });
    const queries = t.database.stats().queries;
    const backwards = await ideas.setIdeaStatus(t.db, idea.id, 'draft', { from: ['completed'] }).catch((e: unknown) => e);
    expect(backwards).toBeInstanceOf(ValidationError);
    expect((backwards as ValidationError).issues[0]).toMatchObject({ path: 'from' });
    await expect(ideas.setIdeaStatus(t.db, idea.id, 'done' as IdeaStatus)).rejects.toBeInstanceOf(ValidationError);
    await expect(ideas.setIdeaStatus(t.db, idea.id, 'archived', { from: [] })).rejects.toBeInstanceOf(ValidationError);
    expect(t.database.stats().queries).toBe(queries);
    // Nothing leads back to draft.
    await expect(ideas.setIdeaStatus(t.db, idea.id, 'draft')).rejects.toBeInstanceOf(InvalidTransitionError);
    expect(await statusOf(idea.id)).toBe('completed');
  });

  it('composes inside a caller transaction: a rollback undoes the transition', async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id, { status: 'submitted' });
    await expect(
      t.database.transaction(t.db, async (trx) => {
        await ideas.startIdeaEvaluation(trx, idea.id);
        expect(await statusOf(idea.id)).toBe('submitted'); // not visible outside yet
        throw new Error('worker crashed');
      }),
    ).rejects.toThrow('worker crashed');
    expect(await statusOf(idea.id)).toBe('submitted');
  });
});

describe('concurrent transitions', () => {
  it('a transition waiting on another one re-checks the status: the second submit loses', async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id);
    let second: Promise<unknown> | undefined;
    await t.database.transaction(t.db, async (trx) => {
      await ideas.submitIdea(trx, idea.id); // holds the row lock until commit
      second = ideas.submitIdea(t.db, idea.id).catch((e: unknown) => e);
      await waitForLockWait();
    });
    const error = await second;
    expect(error).toBeInstanceOf(InvalidTransitionError);
    expect(error).toMatchObject({ from: 'submitted', to: 'submitted' });
  });

  it('when the first transition rolls back, the waiting one wins', async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id);
    let second: Promise<unknown> | undefined;
    await expect(
      t.database.transaction(t.db, async (trx) => {
        await ideas.submitIdea(trx, idea.id);
        second = ideas.archiveIdea(t.db, idea.id);
        await waitForLockWait();
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await second).toMatchObject({ status: 'archived' });
  });

  it('of two racing transitions from draft, exactly one wins, every time', async () => {
    const user = await createTestUser(t.db);
    const drafts = await Promise.all(Array.from({ length: 12 }, () => createTestIdea(t.db, user.id)));
    for (const idea of drafts) {
      // Two sessions send draft -> submitted at once; the conditional UPDATE lets one through.
      const results = await Promise.allSettled([ideas.submitIdea(t.db, idea.id), ideas.submitIdea(t.db, idea.id)]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(InvalidTransitionError);
      expect(await statusOf(idea.id)).toBe('submitted');
    }
  });
});

/** Waits until some session of this database is blocked on a lock. */
async function waitForLockWait(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`.execute(t.db);
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no session started waiting for a lock');
}
