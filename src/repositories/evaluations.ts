/**
 * Evaluations: one run of the agents over a business idea, and the work queue that hands runs to
 * workers.
 *
 * The queue: `claimNext` gives a worker the next run and a lease on it (`claimed_by`,
 * `lease_expires_at`). A worker that dies stops renewing; once the lease has expired, the next
 * `claimNext` hands the run to another worker. Expired leases are served before pending work:
 * they are runs that were already handed out once (so they are at least as old as what waits),
 * and serving them first means a crash cannot leave a run behind an endless stream of new work.
 * Pending work goes high priority first, then oldest first.
 *
 * The idea's status follows its evaluation in the same statement, along the ideas workflow
 * (`IDEA_TRANSITIONS` in src/validation/business-ideas.ts): a claim moves a submitted idea to
 * evaluating, a completion moves an evaluating idea to completed. These updates are conditional
 * and never fail the evaluation's own transition, so one odd idea cannot jam the queue: an idea
 * archived or soft-deleted while its run waited keeps its status, and a re-run of a completed idea
 * leaves it completed.
 */
import { sql, type Selectable } from 'kysely';
import { InvalidTransitionError, NotFoundError } from '../errors.js';
import type { EvaluationStatus, Evaluations, IdeaStatus } from '../schema/generated.js';
import { ideaPredecessors } from '../validation/business-ideas.js';
import { parseId, parseInput, withKeys } from '../validation/common.js';
import {
  claimNextSchema,
  completeEvaluationSchema,
  createEvaluationSchema,
  failEvaluationSchema,
  listEvaluationsByIdeaSchema,
  listEvaluationsByStatusSchema,
  releaseLeaseSchema,
  renewLeaseSchema,
  type ClaimNextInput,
  type CompleteEvaluationInput,
  type CreateEvaluationInput,
  type FailEvaluationInput,
  type ListEvaluationsInput,
  type ReleaseLeaseInput,
  type RenewLeaseInput,
} from '../validation/evaluations.js';
import type { AgentResult } from './agent-results.js';
import { traced } from '../telemetry.js';
import { compiled, compiledShapes } from './compiled.js';
import { tables, type Executor } from './executor.js';
import { newestFirst, toPage, type Page } from './page.js';
import { keyReused } from './idempotency.js';
import { transitioned } from './transition.js';

/** An evaluation row. */
export type Evaluation = Selectable<Evaluations>;
/** An evaluation with its agent results (ordered by agent type). */
export type EvaluationWithAgentResults = Evaluation & { agentResults: AgentResult[] };
export type {
  ClaimNextInput,
  CompleteEvaluationInput,
  CreateEvaluationInput,
  FailEvaluationInput,
  ListEvaluationsInput,
  ReleaseLeaseInput,
  RenewLeaseInput,
} from '../validation/evaluations.js';

/** Idea statuses from which an idea may be evaluated (a completed idea may be evaluated again). */
const EVALUABLE_IDEA_STATUSES = ['submitted', 'evaluating', 'completed'] as const;

// The statements, compiled once (compiled.ts) ---------------------------------------------------

const insertEvaluation = compiledShapes(
  (db, shape: { keyed: boolean }, businessIdeaId: string, priority: string, idempotencyKey: string | undefined) =>
    db
      .insertInto('evaluations')
      .columns(shape.keyed ? ['businessIdeaId', 'priority', 'idempotencyKey'] : ['businessIdeaId', 'priority'])
      .expression((eb) =>
        eb
          .selectFrom('businessIdeas')
          .select(['businessIdeas.id', sql<string>`cast(${priority} as evaluation_priority)`.as('priority')])
          .$if(shape.keyed, (qb) => qb.select(sql<string>`${idempotencyKey}::text`.as('idempotencyKey')))
          .where('businessIdeas.id', '=', businessIdeaId)
          .where('businessIdeas.deletedAt', 'is', null)
          .where('businessIdeas.status', 'in', EVALUABLE_IDEA_STATUSES),
      )
      .$if(shape.keyed, (qb) =>
        qb.onConflict((oc) => oc.columns(['businessIdeaId', 'idempotencyKey']).where('idempotencyKey', 'is not', null).doNothing()),
      )
      .returningAll(),
);

const evaluationByKey = compiled((db, businessIdeaId: string, idempotencyKey: string) =>
  db.selectFrom('evaluations').selectAll().where('businessIdeaId', '=', businessIdeaId).where('idempotencyKey', '=', idempotencyKey),
);

const ideaState = compiled((db, ideaId: string) => db.selectFrom('businessIdeas').select(['status', 'deletedAt']).where('id', '=', ideaId));

const evaluationById = compiled((db, id: string) => db.selectFrom('evaluations').selectAll().where('id', '=', id));

const agentResultsOf = compiled((db, evaluationId: string) =>
  db.selectFrom('agentResults').selectAll().where('evaluationId', '=', evaluationId).orderBy('agentType'),
);

const evaluationsOfIdea = compiledShapes(
  (
    db,
    shape: { cursor: boolean },
    businessIdeaId: string,
    cursorCreatedAt: string | undefined,
    cursorId: string | undefined,
    take: number,
  ) =>
    newestFirst(
      db.selectFrom('evaluations').selectAll().where('businessIdeaId', '=', businessIdeaId),
      'evaluations',
      shape.cursor ? { createdAt: cursorCreatedAt!, id: cursorId! } : undefined,
      take,
    ),
);

const evaluationsInStatus = compiledShapes(
  (
    db,
    shape: { cursor: boolean },
    status: EvaluationStatus,
    cursorCreatedAt: string | undefined,
    cursorId: string | undefined,
    take: number,
  ) =>
    newestFirst(
      db.selectFrom('evaluations').selectAll().where('status', '=', status),
      'evaluations',
      shape.cursor ? { createdAt: cursorCreatedAt!, id: cursorId! } : undefined,
      take,
    ),
);

// One statement: the claim, and the idea's step to evaluating in a data-modifying CTE (atomic
// without a transaction of its own, and one round trip).
const claim = compiled((db, workerId: string, leaseSeconds: number) =>
  db
    .with('claimed', (qc) =>
      qc
        .updateTable('evaluations')
        .set({
          status: 'analyzing',
          startedAt: sql<Date>`now()`,
          claimedBy: workerId,
          leaseExpiresAt: leaseUntil(leaseSeconds),
        })
        // COALESCE evaluates the pending lookup only when no expired lease was found.
        // FOR NO KEY UPDATE (the lock an UPDATE takes) rather than FOR UPDATE, so inserting agent
        // results for the run (a foreign key's KEY SHARE lock) is not blocked by a claim.
        // The statuses are literals, not parameters: the lookups' indexes are partial (WHERE status
        // = 'analyzing' / 'pending'), and a named statement's generic plan can use a partial index
        // only when the query itself proves the predicate, not a $n. The COALESCE sits in a scalar
        // subquery so that the outer match is `id = $n` (an InitPlan's value): under the worker
        // role's row-level security only leakproof conditions may use an index, and a bare
        // COALESCE counts as leaky, which made the claim a sequential scan of evaluations.
        .where('id', '=', (eb) => {
          const next = eb.fn.coalesce(
            eb
              .selectFrom('evaluations')
              .select('id')
              .where('status', '=', sql.lit('analyzing'))
              .where('leaseExpiresAt', '<', sql<Date>`statement_timestamp()`)
              .orderBy('leaseExpiresAt')
              .orderBy('id')
              .limit(1)
              .forNoKeyUpdate()
              .skipLocked(),
            eb
              .selectFrom('evaluations')
              .select('id')
              .where('status', '=', sql.lit('pending'))
              .orderBy('priority', 'desc')
              .orderBy('createdAt')
              .orderBy('id')
              .limit(1)
              .forNoKeyUpdate()
              .skipLocked(),
          );
          return sql<string>`(select ${next})`;
        })
        .returningAll(),
    )
    // The idea's step that follows (submitted -> evaluating), never for a soft-deleted idea.
    .with('idea', (qc) =>
      qc
        .updateTable('businessIdeas')
        .set({ status: 'evaluating' })
        .where('id', '=', (eb) => eb.selectFrom('claimed').select('claimed.businessIdeaId'))
        .where('status', '=', IDEA_STEP_FROM.evaluating)
        .where('deletedAt', 'is', null)
        .returning('businessIdeas.id'),
    )
    .selectFrom('claimed')
    .selectAll(),
);

const renew = compiled((db, id: string, workerId: string, leaseSeconds: number) =>
  db
    .updateTable('evaluations')
    .set({ leaseExpiresAt: leaseUntil(leaseSeconds) })
    .where('id', '=', id)
    .where('status', '=', 'analyzing')
    .where('claimedBy', '=', workerId)
    .returningAll(),
);

const release = compiled((db, id: string, workerId: string) =>
  db
    .updateTable('evaluations')
    .set({ status: 'pending', startedAt: null, claimedBy: null, leaseExpiresAt: null })
    .where('id', '=', id)
    .where('status', '=', 'analyzing')
    .where('claimedBy', '=', workerId)
    .returningAll(),
);

const complete = compiledShapes((db, shape: { holder: boolean }, id: string, results: string, workerId: string | undefined) =>
  db
    .with('completed', (qc) =>
      qc
        .updateTable('evaluations')
        .set({ status: 'completed', results, completedAt: sql<Date>`now()`, leaseExpiresAt: null, errorMessage: null })
        .where('id', '=', id)
        .where('status', '=', 'analyzing')
        .$if(shape.holder, (qb) => qb.where('claimedBy', '=', workerId!))
        .returningAll(),
    )
    // The idea's step that follows (evaluating -> completed), never for a soft-deleted idea.
    .with('idea', (qc) =>
      qc
        .updateTable('businessIdeas')
        .set({ status: 'completed' })
        .where('id', '=', (eb) => eb.selectFrom('completed').select('completed.businessIdeaId'))
        .where('status', '=', IDEA_STEP_FROM.completed)
        .where('deletedAt', 'is', null)
        .returning('businessIdeas.id'),
    )
    .selectFrom('completed')
    .selectAll(),
);

// Without a holder (an operator's call) a pending evaluation may fail too.
const fail = compiledShapes((db, shape: { holder: boolean }, id: string, errorMessage: string, workerId: string | undefined) =>
  db
    .updateTable('evaluations')
    .set({ status: 'failed', errorMessage, completedAt: sql<Date>`now()`, leaseExpiresAt: null })
    .where('id', '=', id)
    .where('status', 'in', shape.holder ? ['analyzing'] : ['pending', 'analyzing'])
    .$if(shape.holder, (qb) => qb.where('claimedBy', '=', workerId!))
    .returningAll(),
);

const requeue = compiled((db, id: string) =>
  db
    .updateTable('evaluations')
    .set({ status: 'pending', startedAt: null, completedAt: null, claimedBy: null, leaseExpiresAt: null })
    .where('id', '=', id)
    .where('status', '=', 'failed')
    .returningAll(),
);

/**
 * Queues an evaluation of an idea. The idea must exist, not be soft-deleted, and be submitted,
 * evaluating or completed (a draft has not been submitted; an archived idea is closed). With an
 * `idempotencyKey` (unique per idea), a retry after a lost connection returns the evaluation the
 * first attempt queued; the same key with another priority is a `ConflictError`.
 *
 * @throws NotFoundError when the idea does not exist or is soft-deleted.
 * @throws InvalidTransitionError when the idea is a draft or archived.
 * @example
 * ```ts
 * const evaluation = await database.withUser(userId, (trx) => createEvaluation(trx, idea.id, { priority: 'high' }));
 * ```
 */
export const createEvaluation = traced(
  'evaluations.createEvaluation',
  async (executor: Executor<'user' | 'owner'>, businessIdeaId: string, input?: CreateEvaluationInput | null): Promise<Evaluation> => {
    const db = tables(executor);
    const { priority, idempotencyKey } = parseInput(createEvaluationSchema, withKeys(input, { businessIdeaId }), 'evaluation');
    const keyed = idempotencyKey !== undefined;
    // One statement: the idea's checks and the insert cannot be separated by another change.
    const created = await insertEvaluation.first(db, { keyed }, businessIdeaId, priority, idempotencyKey);
    if (created) return created;
    if (keyed) {
      // Nothing inserted: the key's first request may already have queued it.
      const first = await evaluationByKey.first(db, businessIdeaId, idempotencyKey);
      if (first?.priority === priority) return first;
      if (first) throw keyReused('evaluations', 'evaluations_business_idea_id_idempotency_key_key');
    }
    const idea = await ideaState.first(db, businessIdeaId);
    if (!idea || idea.deletedAt !== null) throw new NotFoundError('business idea', businessIdeaId);
    throw new InvalidTransitionError({
      entity: 'business idea',
      id: businessIdeaId,
      from: idea.status,
      to: 'evaluating',
      reason: 'only submitted, evaluating or completed ideas can be evaluated',
    });
  },
);

/**
 * Reads an evaluation with its agent results (two queries; the results ordered by agent type).
 *
 * @throws NotFoundError when there is no such evaluation.
 * @example
 * ```ts
 * const { status, results, agentResults } = await database.withUser(userId, (trx) => getEvaluation(trx, evaluationId));
 * ```
 */
export const getEvaluation = traced(
  'evaluations.getEvaluation',
  async (executor: Executor, id: string): Promise<EvaluationWithAgentResults> => {
    const db = tables(executor);
    parseId(id, 'id', 'evaluation');
    const evaluation = await evaluationById.first(db, id);
    if (!evaluation) throw new NotFoundError('evaluation', id);
    const agentResults = await agentResultsOf.all(db, id);
    return { ...evaluation, agentResults };
  },
);

/**
 * Lists an idea's evaluations, newest first, a page at a time (keyset pagination: pass the
 * previous page's `nextCursor`).
 *
 * @example
 * ```ts
 * const first = await database.withUser(userId, (trx) => listEvaluationsByIdea(trx, ideaId, { limit: 10 }));
 * const second = first.nextCursor && (await database.withUser(userId, (trx) => listEvaluationsByIdea(trx, ideaId, { cursor: first.nextCursor! })));
 * ```
 */
export const listEvaluationsByIdea = traced(
  'evaluations.listEvaluationsByIdea',
  async (executor: Executor, businessIdeaId: string, input?: ListEvaluationsInput | null): Promise<Page<Evaluation>> => {
    const db = tables(executor);
    const { limit, cursor } = parseInput(listEvaluationsByIdeaSchema, withKeys(input, { businessIdeaId }), 'evaluation list');
    const rows = await evaluationsOfIdea.all(
      db,
      { cursor: cursor !== undefined },
      businessIdeaId,
      cursor?.createdAt,
      cursor?.id,
      limit + 1,
    );
    return toPage(rows, limit);
  },
);

/**
 * Lists evaluations in one status, newest first, a page at a time.
 *
 * @example
 * ```ts
 * const { items, nextCursor } = await listEvaluationsByStatus(database.owner, 'failed', { limit: 50 });
 * ```
 */
export const listEvaluationsByStatus = traced(
  'evaluations.listEvaluationsByStatus',
  async (executor: Executor, status: EvaluationStatus, input?: ListEvaluationsInput | null): Promise<Page<Evaluation>> => {
    const db = tables(executor);
    const parsed = parseInput(listEvaluationsByStatusSchema, withKeys(input, { status }), 'evaluation list');
    const { limit, cursor } = parsed;
    const rows = await evaluationsInStatus.all(
      db,
      { cursor: cursor !== undefined },
      parsed.status,
      cursor?.createdAt,
      cursor?.id,
      limit + 1,
    );
    return toPage(rows, limit);
  },
);

/**
 * Hands the next evaluation to `workerId`, or returns null when there is none. The next one is
 * the run whose lease expired longest ago, else the oldest pending run of the highest priority.
 * It becomes analyzing with `startedAt` now, `claimedBy` the worker and a lease of
 * `leaseSeconds` (default 300); its idea, if submitted, becomes evaluating, in the same statement
 * (a data-modifying CTE: atomic without a transaction, one round trip).
 *
 * Concurrent callers never get the same run: the candidate is locked with `SKIP LOCKED`, so each
 * caller takes the first run nobody else is taking, without waiting.
 *
 * @example
 * ```ts
 * const evaluation = await claimNext(database.worker, `worker-${process.pid}`, { leaseSeconds: 120 });
 * if (evaluation) await runAgents(evaluation); // renewLease() while working, then completeEvaluation()
 * ```
 */
export const claimNext = traced(
  'evaluations.claimNext',
  async (executor: Executor, workerId: string, input?: ClaimNextInput | null): Promise<Evaluation | null> => {
    const db = tables(executor);
    const parsed = parseInput(claimNextSchema, withKeys(input, { workerId }), 'evaluation claim');
    return (await claim.first(db, parsed.workerId, parsed.leaseSeconds)) ?? null;
  },
  (...[, workerId]) => workerAttribute(workerId),
);

/**
 * Extends the lease of a run `workerId` holds to `leaseSeconds` (default 300) from now. A lease
 * that expired but was not claimed again is still the worker's to renew.
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws InvalidTransitionError when the run is not analyzing or another worker holds it.
 * @example
 * ```ts
 * setInterval(() => renewLease(database.worker, evaluation.id, { workerId, leaseSeconds: 120 }), 60_000);
 * ```
 */
export const renewLease = traced(
  'evaluations.renewLease',
  async (executor: Executor, id: string, input: RenewLeaseInput): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(renewLeaseSchema, withKeys(input, { id }), 'evaluation lease');
    const renewed = await renew.first(db, id, parsed.workerId, parsed.leaseSeconds);
    return transitioned(db, renewed, { table: 'evaluations', id, to: 'analyzing', from: ['analyzing'], holder: parsed.workerId });
  },
  (...[, , input]) => workerAttribute(input?.workerId),
);

/**
 * Gives a run back to the queue: analyzing -> pending, without a holder or a start time. Only the
 * worker holding it may. The idea keeps its status (the run is still wanted).
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws InvalidTransitionError when the run is not analyzing or another worker holds it.
 * @example
 * ```ts
 * process.on('SIGTERM', () => releaseLease(database.worker, evaluation.id, { workerId }));
 * ```
 */
export const releaseLease = traced(
  'evaluations.releaseLease',
  async (executor: Executor, id: string, input: ReleaseLeaseInput): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(releaseLeaseSchema, withKeys(input, { id }), 'evaluation lease');
    const released = await release.first(db, id, parsed.workerId);
    return transitioned(db, released, { table: 'evaluations', id, to: 'pending', from: ['analyzing'], holder: parsed.workerId });
  },
  (...[, , input]) => workerAttribute(input?.workerId),
);

/**
 * Completes an analyzing run with the aggregated `results` (analyzing -> completed, `completedAt`
 * now, lease cleared) and moves its idea from evaluating to completed, in one statement. With
 * `workerId`, only the worker holding the run may complete it.
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws InvalidTransitionError when the run is not analyzing, or `workerId` does not hold it.
 * @example
 * ```ts
 * await completeEvaluation(database.worker, evaluation.id, { workerId, results: { version: 1, overallScore: 72.5, ... } });
 * ```
 */
export const completeEvaluation = traced(
  'evaluations.completeEvaluation',
  async (executor: Executor, id: string, input: CompleteEvaluationInput): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(completeEvaluationSchema, withKeys(input, { id }), 'evaluation');
    const completed = await complete.first(
      db,
      { holder: parsed.workerId !== undefined },
      id,
      JSON.stringify(parsed.results),
      parsed.workerId,
    );
    return transitioned(db, completed, { table: 'evaluations', id, to: 'completed', from: ['analyzing'], holder: parsed.workerId });
  },
  (...[, , input]) => workerAttribute(input?.workerId),
);

/**
 * Fails a pending or analyzing run with `errorMessage` (-> failed, `completedAt` now, lease
 * cleared). With `workerId`, only the worker holding the (analyzing) run may. The idea keeps its
 * status: `retryEvaluation` queues the run again.
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws InvalidTransitionError when the run already ended, or `workerId` does not hold it.
 * @example
 * ```ts
 * await failEvaluation(database.worker, evaluation.id, { workerId, errorMessage: 'market-research agent timed out' });
 * ```
 */
export const failEvaluation = traced(
  'evaluations.failEvaluation',
  async (executor: Executor, id: string, input: FailEvaluationInput): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(failEvaluationSchema, withKeys(input, { id }), 'evaluation');
    const from: EvaluationStatus[] = parsed.workerId === undefined ? ['pending', 'analyzing'] : ['analyzing'];
    const failed = await fail.first(db, { holder: parsed.workerId !== undefined }, id, parsed.errorMessage, parsed.workerId);
    return transitioned(db, failed, { table: 'evaluations', id, to: 'failed', from, holder: parsed.workerId });
  },
  (...[, , input]) => workerAttribute(input?.workerId),
);

/**
 * Queues a failed run again (failed -> pending). The last error message is kept until the run
 * completes or fails again.
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws InvalidTransitionError when the run is not failed.
 * @example
 * ```ts
 * for (const evaluation of (await listEvaluationsByStatus(database.owner, 'failed')).items) await retryEvaluation(database.owner, evaluation.id);
 * ```
 */
export const retryEvaluation = traced('evaluations.retryEvaluation', async (executor: Executor, id: string): Promise<Evaluation> => {
  const db = tables(executor);
  parseId(id, 'id', 'evaluation');
  const queued = await requeue.first(db, id);
  return transitioned(db, queued, { table: 'evaluations', id, to: 'pending', from: ['failed'] });
});

// How long until the next run becomes claimable without a new enqueue: today, the soonest lease to
// run out. Counted by the server (its clock decides expiry), in whole milliseconds (negative when overdue).
const nextClaimable = compiled((db) =>
  db
    .selectFrom('evaluations')
    .select(sql<number | null>`ceil(extract(epoch from (min(lease_expires_at) - statement_timestamp())) * 1000)::int8`.as('inMs'))
    .where('status', '=', sql.lit('analyzing')),
);

/**
 * How many milliseconds from now (by the server's clock) until a run that is not claimable now
 * becomes claimable by itself: the soonest lease to run out, 0 when one already has, null when no
 * run is in flight. A worker with nothing to do sleeps that long (or until a NOTIFY), so a dead
 * worker's run is picked up as soon as its lease ends rather than at the next poll.
 *
 * @example
 * ```ts
 * const inMs = await nextClaimableIn(database.worker);
 * if (inMs !== null) setTimeout(claimAgain, inMs);
 * ```
 */
export const nextClaimableIn = traced('evaluations.nextClaimableIn', async (executor: Executor): Promise<number | null> => {
  const inMs = (await nextClaimable.first(tables(executor)))?.inMs ?? null;
  return inMs === null ? null : Math.max(0, inMs);
});

// -----------------------------------------------------------------------------------------------

/** The span attribute naming the worker a queue call is made for (when it is a string at all). */
function workerAttribute(workerId: unknown): Record<string, string> {
  return typeof workerId === 'string' ? { 'ai_validation.worker.id': workerId } : {};
}

/**
 * `leaseSeconds` from now. Leases count from the statement, not the transaction's start
 * (`now()`), so a claim made late in a long transaction still gets its whole lease.
 */
function leaseUntil(leaseSeconds: number) {
  return sql<Date>`statement_timestamp() + make_interval(secs => ${leaseSeconds})`;
}

/**
 * The one status the workflow moves an idea to `to` from (submitted -> evaluating, evaluating ->
 * completed): the step an idea takes when its evaluation is claimed or completed.
 */
const IDEA_STEP_FROM = {
  evaluating: onlyPredecessor('evaluating'),
  completed: onlyPredecessor('completed'),
};

function onlyPredecessor(to: 'evaluating' | 'completed'): IdeaStatus {
  const [from, ...more] = ideaPredecessors(to);
  if (from === undefined || more.length > 0) throw new Error(`the ideas workflow must lead to ${to} from exactly one status`);
  return from;
}
