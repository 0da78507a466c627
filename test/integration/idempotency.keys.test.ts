/**
 * Safe retries (migration 20261201090000): createIdea, createEvaluation and completeAgentRun take
 * an idempotency key; a retry with the same key returns the first outcome (one row, however many
 * retries, concurrent ones included), the same key with another request is a ConflictError on
 * `idempotencyKey`, and without a key nothing changes. The fault between commit and
 * acknowledgement itself is in test/faults/.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/errors.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea, createTestUser, ideaDescription } from '../support/factories.js';

const t = useTestDatabase();

const count = async (table: 'businessIdeas' | 'evaluations', column: 'userId' | 'businessIdeaId', value: string) =>
  Number(
    (
      await t.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .where(column, '=', value)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('createIdea with an idempotency key', () => {
  it('returns the first idea on a retry, concurrent retries included, and writes one row', async () => {
    const user = await createTestUser(t.db);
    const input = { title: 'Retried idea', description: ideaDescription(), idempotencyKey: 'req-1' };
    const first = await businessIdeas.createIdea(t.db, user.id, input);
    const retries = await Promise.all([1, 2, 3, 4].map(() => businessIdeas.createIdea(t.db, user.id, input)));
    expect(retries).toEqual([first, first, first, first]);
    expect(await count('businessIdeas', 'userId', user.id)).toBe(1);
    // Through the user path too (row-level security lets the user read it back).
    expect(await t.database.withUser(user.id, (trx) => businessIdeas.createIdea(trx, user.id, input))).toEqual(first);
  });

  it('refuses the same key for another idea, keeps keys per user, and creates as before without one', async () => {
    const [ada, bob] = [await createTestUser(t.db), await createTestUser(t.db)];
    const description = ideaDescription();
    await businessIdeas.createIdea(t.db, ada.id, { title: 'First title', description, idempotencyKey: 'shared' });
    const error = await businessIdeas
      .createIdea(t.db, ada.id, { title: 'Another title', description, idempotencyKey: 'shared' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ fields: ['idempotencyKey'] });
    expect((await businessIdeas.createIdea(t.db, bob.id, { title: 'First title', description, idempotencyKey: 'shared' })).userId).toBe(
      bob.id,
    );
    await businessIdeas.createIdea(t.db, ada.id, { title: 'No key', description });
    await businessIdeas.createIdea(t.db, ada.id, { title: 'No key', description });
    expect(await count('businessIdeas', 'userId', ada.id)).toBe(3);
  });

  it('says not found when the first idea was deleted since, or the user does not exist', async () => {
    const user = await createTestUser(t.db);
    const input = { title: 'Soon deleted', description: ideaDescription(), idempotencyKey: 'req-del' };
    const first = await businessIdeas.createIdea(t.db, user.id, input);
    await businessIdeas.softDeleteIdea(t.db, first.id);
    await expect(businessIdeas.createIdea(t.db, user.id, input)).rejects.toMatchObject({ entity: 'business idea', id: first.id });
    await expect(businessIdeas.createIdea(t.db, '00000000-0000-4000-8000-000000000000', input)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('createEvaluation with an idempotency key', () => {
  it('returns the first evaluation on a retry and refuses the key for another priority', async () => {
    const idea = await createSubmittedIdea(t.db);
    const first = await evaluations.createEvaluation(t.db, idea.id, { priority: 'high', idempotencyKey: 'queue-1' });
    const retries = await Promise.all(
      [1, 2, 3].map(() => evaluations.createEvaluation(t.db, idea.id, { priority: 'high', idempotencyKey: 'queue-1' })),
    );
    expect(retries).toEqual([first, first, first]);
    expect(await count('evaluations', 'businessIdeaId', idea.id)).toBe(1);
    await expect(evaluations.createEvaluation(t.db, idea.id, { priority: 'low', idempotencyKey: 'queue-1' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    // The idea's own rules still apply to a new key.
    await businessIdeas.archiveIdea(t.db, idea.id);
    await expect(evaluations.createEvaluation(t.db, idea.id, { idempotencyKey: 'queue-2' })).rejects.toMatchObject({
      name: 'InvalidTransitionError',
    });
  });
});

describe('completeAgentRun with an idempotency key', () => {
  it('returns the completed run on a retry and refuses the key with another result', async () => {
    const idea = await createSubmittedIdea(t.db);
    const evaluation = await evaluations.createEvaluation(t.db, idea.id);
    const [run] = await agentResults.createAgentRuns(t.db, evaluation.id, ['market-research']);
    await agentResults.startAgentRun(t.db, run!.id);
    const result = {
      outputData: { version: 1 as const, summary: 'A niche', findings: [] },
      insights: null,
      score: 71.5,
      idempotencyKey: 'done-1',
    };
    const first = await agentResults.completeAgentRun(t.db, run!.id, result);
    expect(first).toMatchObject({ status: 'completed', score: 71.5 });
    expect(await agentResults.completeAgentRun(t.db, run!.id, result)).toEqual(first);
    await expect(agentResults.completeAgentRun(t.db, run!.id, { ...result, score: 12 })).rejects.toBeInstanceOf(ConflictError);
    // Without the key (or with another), completing a completed run is the transition error it always was.
    await expect(agentResults.completeAgentRun(t.db, run!.id, { ...result, idempotencyKey: undefined })).rejects.toMatchObject({
      name: 'InvalidTransitionError',
    });
    await expect(agentResults.completeAgentRun(t.db, run!.id, { ...result, idempotencyKey: 'other' })).rejects.toMatchObject({
      name: 'InvalidTransitionError',
    });
  });
});
