/** Business ideas: create, get, edit while draft, soft delete, on a real database. */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { InvalidReferenceError, InvalidTransitionError, NotFoundError, ValidationError } from '../../src/errors.js';
import * as ideas from '../../src/repositories/business-ideas.js';
import { useTestDatabase } from '../support/database.js';
import { createIdeaSchema } from '../../src/validation/business-ideas.js';
import { createTestIdea, createTestUser, ideaDescription } from '../support/factories.js';

const t = useTestDatabase();

const IDEA_KEYS = ['createdAt', 'description', 'id', 'status', 'title', 'updatedAt', 'userId'];
const DESCRIPTION = 'Independent physiotherapy clinics lose hours every week to phone scheduling, double bookings and no-shows.';

const ideaCount = async (): Promise<number> =>
  (
    await t.db
      .selectFrom('businessIdeas')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
  ).n;

/** Runs `fn`, expecting a ValidationError before any query, with nothing written. */
async function rejectedBeforeDatabase(fn: () => Promise<unknown>): Promise<ValidationError> {
  const before = await ideaCount();
  const queries = t.database.stats().queries;
  const error = await fn().then(
    () => expect.unreachable('expected a ValidationError'),
    (e: unknown) => e,
  );
  expect(t.database.stats().queries).toBe(queries);
  expect(await ideaCount()).toBe(before);
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('createIdea', () => {
  it('creates a draft for a live user, storing the text verbatim', async () => {
    const user = await createTestUser(t.db);
    const title = '  Clinic scheduler — für Physios 🩺 ';
    const idea = await ideas.createIdea(t.db, user.id, { title, description: DESCRIPTION });
    expect(Object.keys(idea).sort()).toEqual(IDEA_KEYS);
    expect(idea).toMatchObject({ userId: user.id, title, description: DESCRIPTION, status: 'draft' });
    expect(await ideas.getIdea(t.db, idea.id)).toEqual(idea);
  });

  it('an unknown or soft-deleted user is a NotFoundError for the user, and nothing is written', async () => {
    const closed = await createTestUser(t.db, { deletedAt: new Date() });
    const before = await ideaCount();
    for (const userId of ['00000000-0000-4000-8000-0000000000ff', closed.id]) {
      await expect(ideas.createIdea(t.db, userId, { title: 'Clinic scheduler', description: DESCRIPTION })).rejects.toMatchObject({
        constructor: NotFoundError,
        entity: 'user',
        id: userId,
      });
    }
    expect(await ideaCount()).toBe(before);
  });

  it('a user hard-deleted while the insert runs surfaces as the foreign key violation (InvalidReferenceError)', async () => {
    const user = await createTestUser(t.db);
    // Hold the user's deletion open; the insert sees the user, then its FK check waits on the
    // deleting transaction and fails once it commits.
    const client = await t.database.pool.connect();
    try {
      await client.query('begin');
      await client.query('delete from users where id = $1', [user.id]);
      const creating = ideas.createIdea(t.db, user.id, { title: 'Clinic scheduler', description: DESCRIPTION }).catch((e: unknown) => e);
      await waitForLockWait();
      await client.query('commit');
      const error = await creating;
      expect(error).toBeInstanceOf(InvalidReferenceError);
      expect(error).toMatchObject({ table: 'business_ideas', fields: ['userId'], constraint: 'business_ideas_user_id_fkey' });
    } finally {
      client.release();
    }
  });

  it('rejects invalid input before the database, listing every field', async () => {
    const user = await createTestUser(t.db);
    const error = await rejectedBeforeDatabase(() => ideas.createIdea(t.db, user.id, { title: '  ab  ', description: ' '.repeat(60) }));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['description', 'title']);
    const unknown = await rejectedBeforeDatabase(() =>
      ideas.createIdea(t.db, user.id, { title: 'Fine title', description: DESCRIPTION, status: 'completed' } as ideas.CreateIdeaInput),
    );
    expect(unknown.issues[0]?.path).toBe('(root)');
    expect(
      (await rejectedBeforeDatabase(() => ideas.createIdea(t.db, 'nope', { title: 'Fine title', description: DESCRIPTION }))).issues[0]
        ?.path,
    ).toBe('userId');
  });
});

describe('getIdea', () => {
  it('a missing or soft-deleted idea is a NotFoundError; a malformed id a ValidationError before the database', async () => {
    const user = await createTestUser(t.db);
    const deleted = await createTestIdea(t.db, user.id, { deletedAt: new Date() });
    await expect(ideas.getIdea(t.db, deleted.id)).rejects.toMatchObject({
      constructor: NotFoundError,
      entity: 'business idea',
      id: deleted.id,
    });
    await expect(ideas.getIdea(t.db, '00000000-0000-4000-8000-0000000000ee')).rejects.toBeInstanceOf(NotFoundError);
    expect((await rejectedBeforeDatabase(() => ideas.getIdea(t.db, 'x'))).issues).toEqual([{ path: 'id', message: 'must be a UUID' }]);
  });
});

describe('updateIdeaContent', () => {
  it('edits a draft and moves updatedAt', async () => {
    const user = await createTestUser(t.db);
    const draft = await createTestIdea(t.db, user.id);
    const edited = await ideas.updateIdeaContent(t.db, draft.id, { title: 'Clinic scheduler for physiotherapists' });
    expect(edited).toMatchObject({
      id: draft.id,
      title: 'Clinic scheduler for physiotherapists',
      description: draft.description,
      status: 'draft',
    });
    expect(edited.updatedAt.getTime()).toBeGreaterThan(draft.updatedAt.getTime());
    const both = await ideas.updateIdeaContent(t.db, draft.id, { title: 'Another title', description: ideaDescription() });
    expect(both.title).toBe('Another title');
  });

  it('refuses every status but draft with an InvalidTransitionError, changing nothing', async () => {
    const user = await createTestUser(t.db);
    for (const status of ['submitted', 'evaluating', 'completed', 'archived'] as const) {
      const idea = await createTestIdea(t.db, user.id, { status });
      const error = await ideas.updateIdeaContent(t.db, idea.id, { title: 'Too late' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidTransitionError);
      expect(error).toMatchObject({ id: idea.id, from: status });
      expect((await ideas.getIdea(t.db, idea.id)).title).toBe(idea.title);
    }
  });

  it('a soft-deleted idea is a NotFoundError; invalid changes are rejected before the database', async () => {
    const user = await createTestUser(t.db);
    const deleted = await createTestIdea(t.db, user.id, { deletedAt: new Date() });
    await expect(ideas.updateIdeaContent(t.db, deleted.id, { title: 'Ghost edit' })).rejects.toBeInstanceOf(NotFoundError);
    const draft = await createTestIdea(t.db, user.id);
    expect((await rejectedBeforeDatabase(() => ideas.updateIdeaContent(t.db, draft.id, {}))).issues[0]?.message).toBe(
      'must change at least one of title, description',
    );
    const error = await rejectedBeforeDatabase(() =>
      ideas.updateIdeaContent(t.db, draft.id, { title: 'x'.repeat(201), description: 'short' }),
    );
    expect(error.issues.map((i) => i.path).sort()).toEqual(['description', 'title']);
  });
});

describe('softDeleteIdea', () => {
  it('hides the idea from get, list, statistics, edits and transitions; a second delete is a NotFoundError', async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id, { title: 'Unique zebra-striped kayak rental', status: 'submitted' });
    await ideas.softDeleteIdea(t.db, idea.id);

    await expect(ideas.getIdea(t.db, idea.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await ideas.listIdeasByUser(t.db, user.id)).items).toEqual([]);
    expect((await ideas.listIdeasByUser(t.db, user.id, { search: 'zebra kayak' })).items).toEqual([]);
    expect((await ideas.ideaStatsForUser(t.db, user.id)).total).toBe(0);
    await expect(ideas.updateIdeaContent(t.db, idea.id, { title: 'Ghost' })).rejects.toBeInstanceOf(NotFoundError);
    for (const move of [ideas.startIdeaEvaluation, ideas.archiveIdea]) {
      await expect(move(t.db, idea.id)).rejects.toBeInstanceOf(NotFoundError);
    }
    await expect(ideas.softDeleteIdea(t.db, idea.id)).rejects.toBeInstanceOf(NotFoundError);
    // Still there for audit and hard delete.
    const row = await t.db.selectFrom('businessIdeas').select(['status', 'deletedAt']).where('id', '=', idea.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('submitted');
    expect(row.deletedAt).toBeInstanceOf(Date);
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

describe('the schemas mirror the CHECK constraints', () => {
  // The database is the second line: at each boundary, validation and the CHECK must agree.
  const titles = [
    'abc',
    '  ab  ',
    'ab',
    '\tab',
    'x'.repeat(200),
    'x'.repeat(201),
    '🚀'.repeat(200),
    '🚀'.repeat(201),
    ' '.repeat(198) + 'abc',
  ];
  const descriptions = [50, 49, 5000, 5001].flatMap((n) => ['d'.repeat(n), `  ${'d'.repeat(n)}  `, '🧪'.repeat(n)]);

  it.each([...titles.map((v) => ['title', v] as const), ...descriptions.map((v) => ['description', v] as const)])(
    '%s %#',
    async (field, value) => {
      const user = await createTestUser(t.db);
      const valid = createIdeaSchema.shape[field].safeParse(value).success;
      const accepted = await t.db
        .insertInto('businessIdeas')
        .values({ userId: user.id, title: 'A fine title', description: DESCRIPTION, [field]: value })
        .execute()
        .then(
          () => true,
          (error: unknown) => {
            expect(error).toBeInstanceOf(ValidationError);
            return false;
          },
        );
      expect(valid).toBe(accepted);
    },
  );
});
