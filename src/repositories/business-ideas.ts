/**
 * Business ideas: a user's ideas, their content (editable while draft), their workflow status
 * (`IDEA_TRANSITIONS`: draft -> submitted -> evaluating -> completed, and archived from any of
 * those), full-text search, and per-user statistics. A soft-deleted idea is hidden from every
 * read and change here.
 *
 * Every status change is ONE conditional UPDATE (`WHERE status IN (allowed)`), so of two
 * concurrent transitions exactly one wins; the loser gets an `InvalidTransitionError`.
 */
import { sql, type Selectable } from 'kysely';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../errors.js';
import { keyReused } from './idempotency.js';
import type { BusinessIdeas, IdeaStatus } from '../schema/generated.js';
import {
  createIdeaSchema,
  IDEA_STATUSES,
  ideaPredecessors,
  listIdeasSchema,
  setIdeaStatusSchema,
  updateIdeaContentSchema,
  type CreateIdeaInput,
  type ListIdeasInput,
  type UpdateIdeaContentInput,
} from '../validation/business-ideas.js';
import { parseId, parseInput, withKeys } from '../validation/common.js';
import { traced } from '../telemetry.js';
import { compiled, compiledShapes } from './compiled.js';
import { tables, type Executor } from './executor.js';
import { newestFirst, toPage, type Page } from './page.js';
import { transitioned } from './transition.js';

export type { CreateIdeaInput, ListIdeasInput, UpdateIdeaContentInput } from '../validation/business-ideas.js';

/** A business idea as reads return it (soft-deleted ideas are never returned). */
export type BusinessIdea = Pick<
  Selectable<BusinessIdeas>,
  'id' | 'userId' | 'title' | 'description' | 'status' | 'createdAt' | 'updatedAt'
>;

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

const insertIdea = compiledShapes(
  (db, shape: { keyed: boolean }, owner: string, title: string, description: string, idempotencyKey: string | undefined) =>
    db
      .insertInto('businessIdeas')
      .columns(shape.keyed ? ['userId', 'title', 'description', 'idempotencyKey'] : ['userId', 'title', 'description'])
      .expression((eb) =>
        eb
          .selectFrom('users')
          .select(['users.id', sql<string>`${title}::text`.as('title'), sql<string>`${description}::text`.as('description')])
          .$if(shape.keyed, (qb) => qb.select(sql<string>`${idempotencyKey}::text`.as('idempotencyKey')))
          .where('users.id', '=', owner)
          .where('users.deletedAt', 'is', null),
      )
      .$if(shape.keyed, (qb) =>
        qb.onConflict((oc) => oc.columns(['userId', 'idempotencyKey']).where('idempotencyKey', 'is not', null).doNothing()),
      )
      .returning(IDEA_COLUMNS),
);

const ideaByKey = compiled((db, owner: string, idempotencyKey: string) =>
  db
    .selectFrom('businessIdeas')
    .select([...IDEA_COLUMNS, 'businessIdeas.deletedAt'])
    .where('businessIdeas.userId', '=', owner)
    .where('businessIdeas.idempotencyKey', '=', idempotencyKey),
);

/**
 * Creates a draft idea for a live user, in one statement (INSERT ... SELECT from the user row),
 * so an unknown or soft-deleted user is a `NotFoundError` for `user` and nothing is written.
 * (A user hard-deleted concurrently surfaces as the foreign key's `InvalidReferenceError`.)
 *
 * With an `idempotencyKey` (unique per user), a retry after a lost connection returns the idea
 * the first attempt created instead of creating a second one; the same key with another title or
 * description is a `ConflictError` on `idempotencyKey`.
 *
 * @example
 * ```ts
 * const idea = await database.withUser(user.id, (trx) =>
 *   createIdea(trx, user.id, { title: 'Clinic scheduler', description: 'Independent physiotherapy clinics lose ...' }),
 * );
 * idea.status; // 'draft'
 * ```
 */
export const createIdea = traced(
  'businessIdeas.createIdea',
  async (executor: Executor<'user' | 'owner'>, userId: string, input: CreateIdeaInput): Promise<BusinessIdea> => {
    const db = tables(executor);
    const owner = parseId(userId, 'userId', ENTITY);
    const { title, description, idempotencyKey } = parseInput(createIdeaSchema, input, ENTITY);
    const keyed = idempotencyKey !== undefined;
    const idea = await insertIdea.first(db, { keyed }, owner, title, description, idempotencyKey);
    if (idea) return idea;
    if (keyed) {
      // Nothing inserted: the key's first request already did (or the user is gone).
      const first = await ideaByKey.first(db, owner, idempotencyKey);
      if (first) {
        const { deletedAt, ...created } = first;
        if (created.title !== title || created.description !== description) {
          throw keyReused('business_ideas', 'business_ideas_user_id_idempotency_key_key');
        }
        if (deletedAt) throw new NotFoundError(ENTITY, created.id);
        return created;
      }
    }
    throw new NotFoundError('user', owner);
  },
);

const ideaById = compiled((db, id: string) =>
  db.selectFrom('businessIdeas').select(IDEA_COLUMNS).where('businessIdeas.id', '=', id).where('businessIdeas.deletedAt', 'is', null),
);

/**
 * An idea by id; a missing or soft-deleted one is a `NotFoundError`.
 *
 * @example
 * ```ts
 * const idea = await database.withUser(userId, (trx) => getIdea(trx, ideaId));
 * ```
 */
export const getIdea = traced('businessIdeas.getIdea', async (executor: Executor, id: string): Promise<BusinessIdea> => {
  const db = tables(executor);
  const key = parseId(id, 'id', ENTITY);
  const idea = await ideaById.first(db, key);
  if (!idea) throw new NotFoundError(ENTITY, key);
  return idea;
});

const ideasOfUser = compiledShapes(
  (
    db,
    shape: { status: boolean; createdFrom: boolean; createdTo: boolean; search: boolean; cursor: boolean },
    owner: string,
    status: readonly IdeaStatus[] | undefined,
    createdFrom: Date | undefined,
    createdTo: Date | undefined,
    search: string | undefined,
    cursorCreatedAt: string | undefined,
    cursorId: string | undefined,
    take: number,
  ) =>
    newestFirst(
      db
        .selectFrom('businessIdeas')
        .select(IDEA_COLUMNS)
        .where('businessIdeas.userId', '=', owner)
        .where('businessIdeas.deletedAt', 'is', null)
        // One array parameter, so that one statement serves every set of statuses.
        .$if(shape.status, (qb) => qb.where('businessIdeas.status', '=', sql<IdeaStatus>`any(${status}::idea_status[])`))
        .$if(shape.createdFrom, (qb) => qb.where('businessIdeas.createdAt', '>=', createdFrom!))
        .$if(shape.createdTo, (qb) => qb.where('businessIdeas.createdAt', '<', createdTo!))
        // The same expression as business_ideas_search_idx, so the GIN index can serve it.
        .$if(shape.search, (qb) =>
          qb.where(
            sql<boolean>`business_idea_search_vector(${sql.ref('businessIdeas.title')}, ${sql.ref('businessIdeas.description')}) @@ websearch_to_tsquery('english', ${search!})`,
          ),
        ),
      'businessIdeas',
      shape.cursor ? { createdAt: cursorCreatedAt!, id: cursorId! } : undefined,
      take,
    ),
);

/**
 * A user's ideas, newest first (created_at DESC, id DESC), one keyset page at a time, optionally
 * filtered by status (one or several), a created range (`createdFrom` inclusive, `createdTo`
 * exclusive) and a full-text `search` over title and description (English stemming; web-search
 * syntax: `"exact phrase"`, `or`, `-exclude`; any input is safe, none is SQL or tsquery syntax).
 * An unknown user simply has no ideas.
 *
 * @example
 * ```ts
 * const filter = { status: ['submitted', 'evaluating'], search: 'clinic scheduling', limit: 10 } as const;
 * const page = await database.withUser(userId, (trx) => listIdeasByUser(trx, userId, filter));
 * const next = page.nextCursor && (await database.withUser(userId, (trx) => listIdeasByUser(trx, userId, { ...filter, cursor: page.nextCursor! })));
 * ```
 */
export const listIdeasByUser = traced(
  'businessIdeas.listIdeasByUser',
  async (executor: Executor, userId: string, options?: ListIdeasInput | null): Promise<Page<BusinessIdea>> => {
    const db = tables(executor);
    const owner = parseId(userId, 'userId', ENTITY);
    const { status, createdFrom, createdTo, search, limit, cursor } = parseInput(listIdeasSchema, options ?? {}, ENTITY);
    const shape = {
      status: status !== undefined,
      createdFrom: createdFrom !== undefined,
      createdTo: createdTo !== undefined,
      search: search !== undefined,
      cursor: cursor !== undefined,
    };
    const rows = await ideasOfUser.all(db, shape, owner, status, createdFrom, createdTo, search, cursor?.createdAt, cursor?.id, limit + 1);
    return toPage(rows, limit);
  },
);

const updateContent = compiledShapes(
  (db, shape: { title: boolean; description: boolean }, key: string, title: string | undefined, description: string | undefined) =>
    db
      .updateTable('businessIdeas')
      .set({ ...(shape.title ? { title: title! } : {}), ...(shape.description ? { description: description! } : {}) })
      .where('businessIdeas.id', '=', key)
      .where('businessIdeas.deletedAt', 'is', null)
      .where('businessIdeas.status', '=', 'draft')
      .returning(IDEA_COLUMNS),
);

/**
 * Edits the title and/or description, only while the idea is a draft: one conditional UPDATE,
 * so an edit racing a submit either lands before it or fails. A non-draft idea is an
 * `InvalidTransitionError`; a missing or soft-deleted one a `NotFoundError`.
 *
 * @example
 * ```ts
 * const idea = await database.withUser(userId, (trx) => updateIdeaContent(trx, ideaId, { title: 'Clinic scheduler for physiotherapists' }));
 * ```
 */
export const updateIdeaContent = traced(
  'businessIdeas.updateIdeaContent',
  async (executor: Executor<'user' | 'owner'>, id: string, input: UpdateIdeaContentInput): Promise<BusinessIdea> => {
    const db = tables(executor);
    const key = parseId(id, 'id', ENTITY);
    const changes = parseInput(updateIdeaContentSchema, input, ENTITY);
    const idea = await updateContent.first(
      db,
      { title: changes.title !== undefined, description: changes.description !== undefined },
      key,
      changes.title,
      changes.description,
    );
    return transitioned(db, idea, { table: 'businessIdeas', id: key, from: ['draft'], reason: 'content can be edited only while draft' });
  },
);

const moveIdea = compiled((db, key: string, to: IdeaStatus, from: readonly IdeaStatus[]) =>
  db
    .updateTable('businessIdeas')
    .set({ status: to })
    .where('businessIdeas.id', '=', key)
    .where('businessIdeas.deletedAt', 'is', null)
    // One array parameter, so that one statement serves every set of statuses.
    .where('businessIdeas.status', '=', sql<IdeaStatus>`any(${from}::idea_status[])`)
    .returning(IDEA_COLUMNS),
);

/**
 * Moves an idea to `to` if, and only if, it is in one of `from` (default: every status the
 * workflow allows to reach `to`), as one conditional UPDATE. `from` may include `to` itself to
 * make the call idempotent (e.g. re-claiming an evaluation of an idea already `evaluating`); any
 * other status outside the workflow is a `ValidationError`. The idea in another status is an
 * `InvalidTransitionError` naming it; a missing or soft-deleted idea is a `NotFoundError`.
 *
 * @example
 * ```ts
 * await setIdeaStatus(database.owner, ideaId, 'evaluating', { from: ['submitted', 'evaluating'] });
 * ```
 */
export const setIdeaStatus = traced(
  'businessIdeas.setIdeaStatus',
  async (executor: Executor, id: string, to: IdeaStatus, options?: SetIdeaStatusOptions | null): Promise<BusinessIdea> => {
    const db = tables(executor);
    const key = parseId(id, 'id', ENTITY);
    const parsed = parseInput(setIdeaStatusSchema, withKeys(options, { to }), ENTITY);
    const allowed = ideaPredecessors(parsed.to);
    const from = parsed.from ?? allowed;
    const outside = from.filter((status) => status !== parsed.to && !allowed.includes(status));
    if (outside.length > 0) {
      throw new ValidationError(
        [
          {
            path: 'from',
            message: `the workflow does not allow ${outside.join(', ')} -> ${parsed.to} (allowed from: ${allowed.join(', ') || 'nothing'})`,
          },
        ],
        { subject: ENTITY },
      );
    }
    if (from.length === 0) {
      throw new InvalidTransitionError({ entity: ENTITY, id: key, to: parsed.to, reason: 'no status may move there' });
    }
    const idea = await moveIdea.first(db, key, parsed.to, from);
    return transitioned(db, idea, { table: 'businessIdeas', id: key, to: parsed.to, from });
  },
);

/**
 * draft -> submitted: the owner hands the idea in for evaluation; its content is frozen from now.
 *
 * @example
 * ```ts
 * const idea = await database.withUser(userId, (trx) => submitIdea(trx, ideaId)); // idea.status === 'submitted'
 * ```
 */
export const submitIdea = traced('businessIdeas.submitIdea', async (executor: Executor, id: string): Promise<BusinessIdea> => {
  return setIdeaStatus(executor, id, 'submitted', { from: ['draft'] });
});

/**
 * submitted -> evaluating.
 *
 * @example
 * ```ts
 * await startIdeaEvaluation(database.worker, ideaId);
 * ```
 */
export const startIdeaEvaluation = traced(
  'businessIdeas.startIdeaEvaluation',
  async (executor: Executor, id: string): Promise<BusinessIdea> => {
    return setIdeaStatus(executor, id, 'evaluating', { from: ['submitted'] });
  },
);

/**
 * evaluating -> completed.
 *
 * @example
 * ```ts
 * await completeIdea(database.worker, ideaId);
 * ```
 */
export const completeIdea = traced('businessIdeas.completeIdea', async (executor: Executor, id: string): Promise<BusinessIdea> => {
  return setIdeaStatus(executor, id, 'completed', { from: ['evaluating'] });
});

/**
 * Any status except archived -> archived. Archiving an archived idea is an `InvalidTransitionError`.
 *
 * @example
 * ```ts
 * await database.withUser(userId, (trx) => archiveIdea(trx, ideaId));
 * ```
 */
export const archiveIdea = traced('businessIdeas.archiveIdea', async (executor: Executor, id: string): Promise<BusinessIdea> => {
  return setIdeaStatus(executor, id, 'archived');
});

const softDelete = compiled((db, key: string) =>
  db
    .updateTable('businessIdeas')
    .set({ deletedAt: sql<Date>`now()` })
    .where('businessIdeas.id', '=', key)
    .where('businessIdeas.deletedAt', 'is', null)
    .returning('businessIdeas.id'),
);

/**
 * Soft-deletes an idea: from then on it is hidden from every get, list, change and statistic
 * here. A missing or already deleted idea is a `NotFoundError`.
 *
 * @example
 * ```ts
 * await database.withUser(userId, (trx) => softDeleteIdea(trx, ideaId));
 * ```
 */
export const softDeleteIdea = traced(
  'businessIdeas.softDeleteIdea',
  async (executor: Executor<'user' | 'owner'>, id: string): Promise<void> => {
    const db = tables(executor);
    const key = parseId(id, 'id', ENTITY);
    const deleted = await softDelete.first(db, key);
    if (!deleted) throw new NotFoundError(ENTITY, key);
  },
);

const statsOfUser = compiled((db, owner: string) =>
  db
    .selectFrom(sql<{ status: IdeaStatus | null }>`unnest(enum_range(null::idea_status))`.as<'s'>(sql`s(status)`))
    .leftJoin('businessIdeas as bi', (join) =>
      join.onRef('bi.status', '=', 's.status').on('bi.userId', '=', owner).on('bi.deletedAt', 'is', null),
    )
    .select((eb) => [
      's.status',
      eb.fn.count<number>('bi.id').as('count'),
      sql<number | null>`round(avg(char_length(${sql.ref('bi.description')})), 2)`.as('averageDescriptionLength'),
    ])
    .groupBy(sql`rollup (${sql.ref('s.status')})`),
);

/**
 * Counts of a user's live ideas per status (every status present, zero-filled), the total and
 * the mean description length, in one SQL query (GROUP BY ROLLUP over the idea_status enum).
 * An unknown user has all zeros.
 *
 * @example
 * ```ts
 * const stats = await database.withUser(userId, (trx) => ideaStatsForUser(trx, userId));
 * stats.counts.draft; // 2
 * ```
 */
export const ideaStatsForUser = traced('businessIdeas.ideaStatsForUser', async (executor: Executor, userId: string): Promise<IdeaStats> => {
  const db = tables(executor);
  const owner = parseId(userId, 'userId', ENTITY);
  const rows = await statsOfUser.all(db, owner);
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
});
