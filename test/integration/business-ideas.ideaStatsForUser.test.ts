/** ideaStatsForUser: counts per status (zero-filled) and mean description length, computed in SQL. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import * as ideas from '../../src/repositories/business-ideas.js';
import { useTestDatabase } from '../support/database.js';
import { createTestIdea, createTestUser } from '../support/factories.js';

const t = useTestDatabase();

const ZERO = { draft: 0, submitted: 0, evaluating: 0, completed: 0, archived: 0 };

describe('ideaStatsForUser', () => {
  it("counts the user's live ideas per status and averages their description length", async () => {
    const [user, other] = [await createTestUser(t.db), await createTestUser(t.db)];
    // Lengths in code points: 60, 61, 75 and 100 (the emoji is one code point, two UTF-16 units).
    const text = (n: number): string => 'x'.repeat(n - 1) + '🩺';
    await createTestIdea(t.db, user.id, { description: text(60) });
    await createTestIdea(t.db, user.id, { description: text(61) });
    await createTestIdea(t.db, user.id, { description: text(75), status: 'submitted' });
    await createTestIdea(t.db, user.id, { description: text(100), status: 'completed' });
    // Neither a soft-deleted idea nor another user's counts.
    await createTestIdea(t.db, user.id, { description: text(5000), status: 'completed', deletedAt: new Date() });
    await createTestIdea(t.db, other.id, { description: text(4000), status: 'archived' });

    expect(await ideas.ideaStatsForUser(t.db, user.id)).toEqual({
      counts: { ...ZERO, draft: 2, submitted: 1, completed: 1 },
      total: 4,
      averageDescriptionLength: 74, // (60 + 61 + 75 + 100) / 4
    });
    expect(await ideas.ideaStatsForUser(t.db, other.id)).toEqual({
      counts: { ...ZERO, archived: 1 },
      total: 1,
      averageDescriptionLength: 4000,
    });
  });

  it('rounds the mean to two decimals', async () => {
    const user = await createTestUser(t.db);
    for (const n of [50, 50, 51]) await createTestIdea(t.db, user.id, { description: 'y'.repeat(n) });
    expect((await ideas.ideaStatsForUser(t.db, user.id)).averageDescriptionLength).toBe(50.33);
  });

  it('a user without ideas (or an unknown user) has every status at zero and no mean', async () => {
    const user = await createTestUser(t.db);
    const expected = { counts: ZERO, total: 0, averageDescriptionLength: null };
    expect(await ideas.ideaStatsForUser(t.db, user.id)).toEqual(expected);
    expect(await ideas.ideaStatsForUser(t.db, '00000000-0000-4000-8000-000000000042')).toEqual(expected);
  });

  it('sends one query, and none for a malformed id', async () => {
    const user = await createTestUser(t.db);
    const before = t.database.stats().queries;
    await ideas.ideaStatsForUser(t.db, user.id);
    expect(t.database.stats().queries).toBe(before + 1);
    await expect(ideas.ideaStatsForUser(t.db, 'me')).rejects.toBeInstanceOf(ValidationError);
    expect(t.database.stats().queries).toBe(before + 1);
  });
});
