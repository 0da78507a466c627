/** listIdeasByUser: filters, full-text search (and its index), keyset pages under inserts. */
import type { CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import * as ideas from '../../src/repositories/business-ideas.js';
import type { IdeaStatus } from '../../src/schema/generated.js';
import type { Executor } from '../../src/repositories/executor.js';
import { useTestDatabase } from '../support/database.js';
import { createTestIdea, createTestUser, ideaDescription } from '../support/factories.js';
import { captureSql } from '../support/sql-capture.js';

const t = useTestDatabase();

const ids = (page: { items: { id: string }[] }): string[] => page.items.map((i) => i.id);

/** A user's live ideas in the documented order, straight from SQL. */
const expectedOrder = async (userId: string): Promise<string[]> =>
  (
    await t.db
      .selectFrom('businessIdeas')
      .select('id')
      .where('userId', '=', userId)
      .where('deletedAt', 'is', null)
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc')
      .execute()
  ).map((r) => r.id);

describe('filters', () => {
  it("lists only the user's live ideas, newest first", async () => {
    const [user, other] = [await createTestUser(t.db), await createTestUser(t.db)];
    const mine = [await createTestIdea(t.db, user.id), await createTestIdea(t.db, user.id), await createTestIdea(t.db, user.id)];
    await createTestIdea(t.db, other.id);
    await createTestIdea(t.db, user.id, { deletedAt: new Date() });
    const page = await ideas.listIdeasByUser(t.db, user.id);
    expect(ids(page)).toEqual(mine.map((i) => i.id).reverse());
    expect(page.nextCursor).toBeNull();
    expect(Object.keys(page.items[0]!).sort()).toEqual(['createdAt', 'description', 'id', 'status', 'title', 'updatedAt', 'userId']);
    expect((await ideas.listIdeasByUser(t.db, '00000000-0000-4000-8000-000000000099')).items).toEqual([]);
  });

  it('by one status or several', async () => {
    const user = await createTestUser(t.db);
    const byStatus = {
      draft: await createTestIdea(t.db, user.id),
      submitted: await createTestIdea(t.db, user.id, { status: 'submitted' }),
      completed: await createTestIdea(t.db, user.id, { status: 'completed' }),
    };
    expect(ids(await ideas.listIdeasByUser(t.db, user.id, { status: 'submitted' }))).toEqual([byStatus.submitted.id]);
    expect(ids(await ideas.listIdeasByUser(t.db, user.id, { status: ['draft', 'completed'] }))).toEqual([
      byStatus.completed.id,
      byStatus.draft.id,
    ]);
    expect(ids(await ideas.listIdeasByUser(t.db, user.id, { status: 'archived' }))).toEqual([]);
  });

  it('by created range: from inclusive, to exclusive, Dates or ISO strings', async () => {
    const user = await createTestUser(t.db);
    const at = (day: number): Date => new Date(Date.UTC(2026, 0, day, 12));
    const [d1, d2, d3] = [
      await createTestIdea(t.db, user.id, { createdAt: at(1) }),
      await createTestIdea(t.db, user.id, { createdAt: at(2) }),
      await createTestIdea(t.db, user.id, { createdAt: at(3) }),
    ];
    expect(ids(await ideas.listIdeasByUser(t.db, user.id, { createdFrom: at(2) }))).toEqual([d3.id, d2.id]);
    expect(ids(await ideas.listIdeasByUser(t.db, user.id, { createdTo: at(2).toISOString() }))).toEqual([d1.id]);
    expect(ids(await ideas.listIdeasByUser(t.db, user.id, { createdFrom: '2026-01-02T12:00:00+00:00', createdTo: at(3) }))).toEqual([
      d2.id,
    ]);
    expect(ids(await ideas.listIdeasByUser(t.db, user.id, { createdFrom: at(2), createdTo: at(2) }))).toEqual([]);
  });

  it('rejects bad filters before the database, naming each', async () => {
    const user = await createTestUser(t.db);
    const queries = t.database.stats().queries;
    const error = await ideas
      .listIdeasByUser(t.db, user.id, {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: 'done' is not a status, on purpose
        status: ['draft', 'done' as IdeaStatus],
        createdFrom: '2026-02-01T00:00:00Z',
        createdTo: '2026-01-01T00:00:00Z',
        search: '   ',
        limit: 500,
        cursor: 'forged',
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path).sort()).toEqual(['createdTo', 'cursor', 'limit', 'search', 'status.1']);
    await expect(ideas.listIdeasByUser(t.db, user.id, { createdFrom: 'yesterday' })).rejects.toBeInstanceOf(ValidationError);
    await expect(ideas.listIdeasByUser(t.db, user.id, { createdFrom: new Date('nope') })).rejects.toBeInstanceOf(ValidationError);
    await expect(ideas.listIdeasByUser(t.db, user.id, { status: [] })).rejects.toBeInstanceOf(ValidationError);
    await expect(ideas.listIdeasByUser(t.db, 'someone', {})).rejects.toBeInstanceOf(ValidationError);
    expect(t.database.stats().queries).toBe(queries);
  });
});

describe('full-text search', () => {
  const CORPUS = {
    clinic: {
      title: 'Clinic appointment scheduler',
      description: 'Physiotherapy clinics book patients online and cut no-shows with text reminders and a waitlist.',
    },
    compost: {
      title: 'Office compost pickup',
      description: 'Weekly pickup of food scraps from offices, turned into compost for community gardens nearby.',
    },
    dental: {
      title: 'Dental clinic reviews',
      description: 'Patients rate dental clinics on waiting times, prices and the friendliness of the front desk.',
    },
  };

  async function seed(): Promise<{ userId: string; id: Record<keyof typeof CORPUS, string> }> {
    const user = await createTestUser(t.db);
    const id = {} as Record<keyof typeof CORPUS, string>;
    for (const [key, content] of Object.entries(CORPUS)) id[key as keyof typeof CORPUS] = (await createTestIdea(t.db, user.id, content)).id;
    return { userId: user.id, id };
  }
  const search = async (userId: string, query: string): Promise<string[]> =>
    ids(await ideas.listIdeasByUser(t.db, userId, { search: query }));

  it('matches stemmed words in title and description, with web-search syntax', async () => {
    const { userId, id } = await seed();
    expect((await search(userId, 'clinic')).sort()).toEqual([id.clinic, id.dental].sort());
    expect(await search(userId, 'scheduling')).toEqual([id.clinic]); // 'scheduling' and 'scheduler' share the stem 'schedul'
    expect(await search(userId, 'gardens compost')).toEqual([id.compost]);
    expect(await search(userId, '"food scraps"')).toEqual([id.compost]);
    expect(await search(userId, '"scraps food"')).toEqual([]);
    expect(await search(userId, 'clinics -dental')).toEqual([id.clinic]);
    expect((await search(userId, 'compost or dental')).sort()).toEqual([id.compost, id.dental].sort());
    expect(await search(userId, 'spaceship')).toEqual([]);
  });

  it('treats any input as words, never as SQL or tsquery syntax', async () => {
    const { userId, id } = await seed();
    for (const hostile of [
      "'; drop table business_ideas; --",
      'clinic & | ! :* ( )',
      '$$ clinic $$',
      'clinic\\',
      '"unterminated clinic',
      'ｃｌｉｎｉｃ 🩺',
      "O'Brien's clinic",
    ]) {
      const found = await search(userId, hostile);
      expect(found.every((x) => Object.values(id).includes(x))).toBe(true);
    }
    expect(await search(userId, 'the and of')).toEqual([]); // only stop words: matches nothing
    expect(await t.db.selectFrom('businessIdeas').select('id').where('userId', '=', userId).execute()).toHaveLength(3);
  });

  it('combines with status and pagination', async () => {
    const { userId, id } = await seed();
    await ideas.submitIdea(t.db, id.dental);
    expect(ids(await ideas.listIdeasByUser(t.db, userId, { search: 'clinic', status: 'submitted' }))).toEqual([id.dental]);
    const first = await ideas.listIdeasByUser(t.db, userId, { search: 'clinic', limit: 1 });
    const second = await ideas.listIdeasByUser(t.db, userId, { search: 'clinic', limit: 1, cursor: first.nextCursor! });
    expect([...ids(first), ...ids(second)]).toEqual([id.dental, id.clinic]);
    expect(second.nextCursor).toBeNull();
  });

  it('is served by business_ideas_search_idx (the query uses the indexed expression)', async () => {
    const sent = await compiled((db) => ideas.listIdeasByUser(db, '00000000-0000-4000-8000-000000000001', { search: 'clinic' }));
    // The table is tiny, so compare plans with the other indexes out of the way (in a rolled-back transaction).
    const client = await t.database.pool.connect();
    try {
      await client.query('begin');
      await client.query(
        'drop index business_ideas_user_id_created_at_idx, business_ideas_user_id_idx, business_ideas_status_created_at_idx',
      );
      await client.query('set local enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(`explain ${sent.sql}`, sent.parameters as unknown[]);
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('business_ideas_search_idx');
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

describe('keyset pagination', () => {
  it('walks rows with identical created_at exactly once, by id', async () => {
    const user = await createTestUser(t.db);
    await t.db
      .insertInto('businessIdeas')
      .values(Array.from({ length: 9 }, (_, i) => ({ userId: user.id, title: `Same-instant idea ${i}`, description: ideaDescription() })))
      .execute();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await ideas.listIdeasByUser(t.db, user.id, { limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...ids(page));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(await expectedOrder(user.id));
  });

  it('page 1, then newer rows are inserted, then page 2: no duplicates, no skips', async () => {
    const user = await createTestUser(t.db);
    for (let i = 0; i < 6; i++) await createTestIdea(t.db, user.id);
    const before = await expectedOrder(user.id);
    const page1 = await ideas.listIdeasByUser(t.db, user.id, { limit: 3 });
    const newer = [await createTestIdea(t.db, user.id), await createTestIdea(t.db, user.id)];
    const page2 = await ideas.listIdeasByUser(t.db, user.id, { limit: 3, cursor: page1.nextCursor! });
    expect([...ids(page1), ...ids(page2)]).toEqual(before);
    expect(page2.nextCursor).toBeNull();
    // The new rows are where a fresh first page starts.
    expect(ids(await ideas.listIdeasByUser(t.db, user.id, { limit: 2 }))).toEqual(newer.map((i) => i.id).reverse());
  });

  it('a soft delete between pages neither repeats nor skips the other rows', async () => {
    const user = await createTestUser(t.db);
    for (let i = 0; i < 6; i++) await createTestIdea(t.db, user.id);
    const before = await expectedOrder(user.id);
    const page1 = await ideas.listIdeasByUser(t.db, user.id, { limit: 3 });
    await ideas.softDeleteIdea(t.db, before[4]!);
    const page2 = await ideas.listIdeasByUser(t.db, user.id, { limit: 3, cursor: page1.nextCursor! });
    expect([...ids(page1), ...ids(page2)]).toEqual(before.filter((id) => id !== before[4]));
  });
});

/** The query (SQL and parameters) a repository call sends, compiled without a database. */
async function compiled(fn: (db: Executor<'owner'>) => Promise<unknown>): Promise<CompiledQuery> {
  const [query] = await captureSql().queriesOf(fn);
  if (!query) throw new Error('no query was compiled');
  return query;
}
