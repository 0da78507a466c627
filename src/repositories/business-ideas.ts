/**
 * Business ideas: a user's ideas, their content (editable while draft), their workflow status
 * (draft -> submitted -> evaluating -> completed, and archived from any of those), full-text
 * search, and per-user statistics. A soft-deleted idea is hidden from every read and change here.
 *
 * Every status change is ONE conditional UPDATE (`WHERE status IN (allowed)`), so of two
 * concurrent transitions exactly one wins; the loser gets an `InvalidTransitionError`.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { BusinessIdeas, DB, IdeaStatus } from '../schema/generated.js';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../errors.js';
import {
  createIdeaSchema,
  IDEA_STATUSES,
  ideaIdSchema,
  listIdeasSchema,
  setIdeaStatusSchema,
  updateIdeaContentSchema,
  userIdSchema,
  type CreateIdeaInput,
  type ListIdeasInput,
  type UpdateIdeaContentInput,
} from '../validation/business-ideas.js';
import { parseInput } from '../validation/common.js';
import { afterCursor, cursorKeySelection, toPage, type Page } from './pagination.js';

export type { CreateIdeaInput, ListIdeasInput, UpdateIdeaContentInput } from '../validation/business-ideas.js';

/** A business idea as reads return it (soft-deleted ideas are never returned). */
export type BusinessIdea = Pick<Selectable<BusinessIdeas>, 'id' | 'userId' | 'title' | 'description' | 'status' | 'createdAt' | 'updatedAt'>;

/** Per-user statistics over live (not soft-deleted) ideas. */
export interface IdeaStats {
  /** Ideas per status; every status is present, zero when the user has none in it. */
  counts: Record<IdeaStatus, number>;
  /** All live ideas. */
  total: number;
  /** Mean description length in characters, two decimals; null when the user has no ideas. */
  averageDescriptionLength: number | null;
}

/** Options for `setIdeaStatus`. */
export interface SetIdeaStatusOptions {
  /** The statuses the idea may be in for the change to apply. Default: every status the workflow allows to reach `to`. */
  from?: readonly IdeaStatus[];
}

const IDEA_COLUMNS = [
  'businessIdeas.id',
  'businessIdeas.userId',
  'businessIdeas.title',
  'businessIdeas.description',
  'businessIdeas.status',
  'businessIdeas.createdAt',
  'businessIdeas.updatedAt',
] as const;
const ENTITY = 'business idea';

/** The workflow: which statuses may move to which. Archived is final. */
const TRANSITIONS: Record<IdeaStatus, readonly IdeaStatus[]> = {
  draft: ['submitted', 'archived'],
  submitted: ['evaluating', 'archived'],
  evaluating: ['completed', 'archived'],
  completed: ['archived'],
  archived: [],
};
const predecessors = (to: IdeaStatus): IdeaStatus[] => IDEA_STATUSES.filter((from) => TRANSITIONS[from].includes(to));

const ideaId = (id: string): string => parseInput(ideaIdSchema, { id }, ENTITY).id;

/**
 * Creates a draft idea for a live user, in one statement (INSERT ... SELECT from the user row),
 * so an unknown or soft-deleted user is a `NotFoundError` for `user` and nothing is written.
 * (A user hard-deleted concurrently surfaces as the foreign key's `InvalidReferenceError`.)
 *
 * @example
 * ```ts
 * const idea = await createIdea(db, user.id, { title: 'Clinic scheduler', description: 'Independent physiotherapy clinics lose ...' });
 * idea.status; // 'draft'
 * ```
 */
export async function createIdea(db: Kysely<DB>, userId: string, input: CreateIdeaInput): Promise<BusinessIdea> {
  const owner = parseInput(userIdSchema, { userId }, ENTITY).userId;
  const { title, description } = parseInput(createIdeaSchema, input, ENTITY);
  const idea = await db
    .insertInto('businessIdeas')
    .columns(['userId', 'title', 'description'])
    .expression((eb) =>
      eb
        .selectFrom('users')
        .select(['users.id', sql<string>`${title}::text`.as('title'), sql<string>`${description}::text`.as('description')])
        .where('users.id', '=', owner)
        .where('users.deletedAt', 'is', null),
    )
    .returning(IDEA_COLUMNS)
    .executeTakeFirst();
  if (!idea) throw new NotFoundError('user', owner);
  return idea;
}

/**
 * An idea by id; a missing or soft-deleted one is a `NotFoundError`.
 *
 * @example
 * ```ts
 * const idea = await getIdea(db, ideaId);
 * ```
 */
export async function getIdea(db: Kysely<DB>, id: string): Promise<BusinessIdea> {
  const key = ideaId(id);
  const idea = await db
    .selectFrom('businessIdeas')
    .select(IDEA_COLUMNS)
    .where('businessIdeas.id', '=', key)
    .where('businessIdeas.deletedAt', 'is', null)
    .executeTakeFirst();
  if (!idea) throw new NotFoundError(ENTITY, key);
  return idea;
}

/**
 * A user's ideas, newest first (created_at DESC, id DESC), one keyset page at a time, optionally
 * filtered by status (one or several), a created range (`createdFrom` inclusive, `createdTo`
 * exclusive) and a full-text `search` over title and description (English stemming; web-search
 * syntax: `"exact phrase"`, `or`, `-exclude`; any input is safe, none is SQL or tsquery syntax).
 * An unknown user simply has no ideas.
 *
 * @example
 * ```ts
 * const page = await listIdeasByUser(db, userId, { status: ['submitted', 'evaluating'], search: 'clinic scheduling', limit: 10 });
 * const next = page.nextCursor && (await listIdeasByUser(db, userId, { status: ['submitted', 'evaluating'], search: 'clinic scheduling', limit: 10, cursor: page.nextCursor }));
 * ```
 */
export async function listIdeasByUser(db: Kysely<DB>, userId: string, options: ListIdeasInput = {}): Promise<Page<BusinessIdea>> {
  const owner = parseInput(userIdSchema, { userId }, ENTITY).userId;
  const { status, createdFrom, createdTo, search, limit, cursor } = parseInput(listIdeasSchema, options, ENTITY);
  const rows = await db
    .selectFrom('businessIdeas')
    .select([...IDEA_COLUMNS, cursorKeySelection('businessIdeas.createdAt')])
    .where('businessIdeas.userId', '=', owner)
    .where('businessIdeas.deletedAt', 'is', null)
    .$if(status !== undefined, (qb) => qb.where('businessIdeas.status', 'in', status!))
    .$if(createdFrom !== undefined, (qb) => qb.where('businessIdeas.createdAt', '>=', createdFrom!))
    .$if(createdTo !== undefined, (qb) => qb.where('businessIdeas.createdAt', '<', createdTo!))
    // The same expression as business_ideas_search_idx, so the GIN index can serve it.
    .$if(search !== undefined, (qb) =>
      qb.where(
        sql<boolean>`business_idea_search_vector(${sql.ref('businessIdeas.title')}, ${sql.ref('businessIdeas.description')}) @@ websearch_to_tsquery('english', ${search!})`,
      ),
    )
    .$if(cursor !== undefined, (qb) => qb.where(afterCursor('businessIdeas.createdAt', 'businessIdeas.id', cursor!)))
    .orderBy('businessIdeas.createdAt', 'desc')
    .orderBy('businessIdeas.id', 'desc')
    .limit(limit + 1)
    .execute();
  return toPage(rows, limit);
}

/**
 * Edits the title and/or description, only while the idea is a draft: one conditional UPDATE,
 * so an edit racing a submit either lands before it or fails. A non-draft idea is an
 * `InvalidTransitionError`; a missing or soft-deleted one a `NotFoundError`.
 *
 * @example
 * ```ts
 * const idea = await updateIdeaContent(db, ideaId, { title: 'Clinic scheduler for physiotherapists' });
 * ```
 */
export async function updateIdeaContent(db: Kysely<DB>, id: string, input: UpdateIdeaContentInput): Promise<BusinessIdea> {
  const key = ideaId(id);
  const changes = parseInput(updateIdeaContentSchema, input, ENTITY);
  const idea = await db
    .updateTable('businessIdeas')
    .set(changes)
    .where('businessIdeas.id', '=', key)
    .where('businessIdeas.deletedAt', 'is', null)
    .where('businessIdeas.status', '=', 'draft')
    .returning(IDEA_COLUMNS)
    .executeTakeFirst();
  if (idea) return idea;
  const current = await currentStatus(db, key);
  throw new InvalidTransitionError({ entity: ENTITY, id: key, from: current, to: current, reason: 'content can be edited only while draft' });
}

/**
 * Moves an idea to `to` if, and only if, it is in one of `from` (default: every status the
 * workflow allows to reach `to`), as one conditional UPDATE. `from` may include `to` itself to
 * make the call idempotent (e.g. re-claiming an evaluation of an idea already `evaluating`); any
 * other status outside the workflow is a `ValidationError`. The idea in another status is an
 * `InvalidTransitionError` naming it; a missing or soft-deleted idea is a `NotFoundError`.
 * The evaluations repository calls this inside its claim/complete transactions.
 *
 * @example
 * ```ts
 * await setIdeaStatus(trx, ideaId, 'evaluating', { from: ['submitted', 'evaluating'] });
 * ```
 */
export async function setIdeaStatus(db: Kysely<DB>, id: string, to: IdeaStatus, options: SetIdeaStatusOptions = {}): Promise<BusinessIdea> {
  const key = ideaId(id);
  const parsed = parseInput(setIdeaStatusSchema, { to, ...(options.from ? { from: [...options.from] } : {}) }, ENTITY);
  const allowed = predecessors(parsed.to);
  const from = parsed.from ?? allowed;
  const outside = from.filter((status) => status !== parsed.to && !allowed.includes(status));
  if (outside.length > 0) {
    throw new ValidationError(
      [{ path: 'from', message: `the workflow does not allow ${outside.join(', ')} -> ${parsed.to} (allowed from: ${allowed.join(', ') || 'nothing'})` }],
      { subject: ENTITY },
    );
  }
  if (from.length === 0) {
    throw new InvalidTransitionError({ entity: ENTITY, id: key, to: parsed.to, reason: 'no status may move there' });
  }
  const idea = await db
    .updateTable('businessIdeas')
    .set({ status: parsed.to })
    .where('businessIdeas.id', '=', key)
    .where('businessIdeas.deletedAt', 'is', null)
    .where('businessIdeas.status', 'in', from)
    .returning(IDEA_COLUMNS)
    .executeTakeFirst();
  if (idea) return idea;
  const current = await currentStatus(db, key);
  throw new InvalidTransitionError({ entity: ENTITY, id: key, from: current, to: parsed.to, reason: `allowed only from ${from.join(', ')}` });
}

/**
 * draft -> submitted: the owner hands the idea in for evaluation; its content is frozen from now.
 *
 * @example
 * ```ts
 * const idea = await submitIdea(db, ideaId); // idea.status === 'submitted'
 * ```
 */
export async function submitIdea(db: Kysely<DB>, id: string): Promise<BusinessIdea> {
  return setIdeaStatus(db, id, 'submitted', { from: ['draft'] });
}

/**
 * submitted -> evaluating.
 *
 * @example
 * ```ts
 * await startIdeaEvaluation(db, ideaId);
 * ```
 */
export async function startIdeaEvaluation(db: Kysely<DB>, id: string): Promise<BusinessIdea> {
  return setIdeaStatus(db, id, 'evaluating', { from: ['submitted'] });
}

/**
 * evaluating -> completed.
 *
 * @example
 * ```ts
 * await completeIdea(db, ideaId);
 * ```
 */
export async function completeIdea(db: Kysely<DB>, id: string): Promise<BusinessIdea> {
  return setIdeaStatus(db, id, 'completed', { from: ['evaluating'] });
}

/**
 * Any status except archived -> archived. Archiving an archived idea is an `InvalidTransitionError`.
 *
 * @example
 * ```ts
 * await archiveIdea(db, ideaId);
 * ```
 */
export async function archiveIdea(db: Kysely<DB>, id: string): Promise<BusinessIdea> {
  return setIdeaStatus(db, id, 'archived');
}

/**
 * Soft-deletes an idea: from then on it is hidden from every get, list, change and statistic
 * here. A missing or already deleted idea is a `NotFoundError`.
 *
 * @example
 * ```ts
 * await softDeleteIdea(db, ideaId);
 * ```
 */
export async function softDeleteIdea(db: Kysely<DB>, id: string): Promise<void> {
  const key = ideaId(id);
  const deleted = await db
    .updateTable('businessIdeas')
    .set({ deletedAt: sql<Date>`now()` })
    .where('businessIdeas.id', '=', key)
    .where('businessIdeas.deletedAt', 'is', null)
    .returning('businessIdeas.id')
    .executeTakeFirst();
  if (!deleted) throw new NotFoundError(ENTITY, key);
}

/**
 * Counts of a user's live ideas per status (every status present, zero-filled), the total and
 * the mean description length, in one SQL query (GROUP BY ROLLUP over the idea_status enum).
 * An unknown user has all zeros.
 *
 * @example
 * ```ts
 * const stats = await ideaStatsForUser(db, userId);
 * stats.counts.draft; // 2
 * ```
 */
export async function ideaStatsForUser(db: Kysely<DB>, userId: string): Promise<IdeaStats> {
  const owner = parseInput(userIdSchema, { userId }, ENTITY).userId;
  const rows = await db
    .selectFrom(sql<{ status: IdeaStatus | null }>`unnest(enum_range(null::idea_status))`.as<'s'>(sql`s(status)`))
    .leftJoin('businessIdeas as bi', (join) =>
      join.onRef('bi.status', '=', 's.status').on('bi.userId', '=', owner).on('bi.deletedAt', 'is', null),
    )
    .select((eb) => [
      's.status',
      eb.fn.count<number>('bi.id').as('count'),
      sql<number | null>`round(avg(char_length(${sql.ref('bi.description')})), 2)`.as('averageDescriptionLength'),
    ])
    .groupBy(sql`rollup (${sql.ref('s.status')})`)
    .execute();
  const counts = Object.fromEntries(IDEA_STATUSES.map((status) => [status, 0])) as Record<IdeaStatus, number>;
  let total = 0;
  let averageDescriptionLength: number | null = null;
  for (const row of rows) {
    // ROLLUP's grand-total row has no status.
    if (row.status === null) {
      total = row.count;
      averageDescriptionLength = row.averageDescriptionLength;
    } else {
      counts[row.status] = row.count;
    }
  }
  return { counts, total, averageDescriptionLength };
}

/** The status of a live idea, or a `NotFoundError`: what a conditional UPDATE that matched nothing reports. */
async function currentStatus(db: Kysely<DB>, id: string): Promise<IdeaStatus> {
  const row = await db
    .selectFrom('businessIdeas')
    .select('businessIdeas.status')
    .where('businessIdeas.id', '=', id)
    .where('businessIdeas.deletedAt', 'is', null)
    .executeTakeFirst();
  if (!row) throw new NotFoundError(ENTITY, id);
  return row.status;
}
