/**
 * Evaluations: one run of the agents over a business idea, and the work queue that hands runs to
 * workers.
 *
 * The queue: `claimNext` gives a worker the next run and a lease on it (`claimed_by`,
 * `lease_expires_at`), and starts a new attempt (`attempt`): `{ workerId, attempt }` is the fencing
 * token every later write for the run carries, refused with StaleAttemptError once another attempt
 * took over or the run ended. A worker that dies stops renewing; once the lease has expired, the
 * next `claimNext` hands the run to another worker. Expired leases are served before pending work:
 * they are runs that were already handed out once (so they are at least as old as what waits),
 * and serving them first means a crash cannot leave a run behind an endless stream of new work.
 * Pending work goes high priority first, then due longest first (`run_after`).
 *
 * Retries: a worker's failure, and an expired lease, count against the run's `max_attempts`; while
 * budget is left the run goes back to pending after an exponential backoff with jitter, and the
 * failure that exhausts it dead-letters the run (status dead) for an operator to requeue.
 *
 * The idea's status follows its evaluation in the same statement, along the ideas workflow
 * (`IDEA_TRANSITIONS` in src/validation/business-ideas.ts): a claim moves a submitted idea to
 * evaluating, a completion moves an evaluating idea to completed. These updates are conditional
 * and never fail the evaluation's own transition, so one odd idea cannot jam the queue: an idea
 * archived or soft-deleted while its run waited keeps its status, and a re-run of a completed idea
 * leaves it completed.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { InvalidTransitionError, NotFoundError, StaleAttemptError } from '../errors.js';
import type { DB, EvaluationStatus, Evaluations, IdeaStatus } from '../schema/generated.js';
import { ideaPredecessors } from '../validation/business-ideas.js';
import { parseId, parseInput, withKeys } from '../validation/common.js';
import {
  claimNextSchema,
  completeEvaluationSchema,
  createEvaluationSchema,
  failEvaluationSchema,
  listEvaluationsByIdeaSchema,
  listEvaluationsByStatusSchema,
  DEFAULT_MAX_ATTEMPTS,
  releaseLeaseSchema,
  renewLeaseSchema,
  RETRY_BACKOFF_BASE_SECONDS,
  RETRY_BACKOFF_CAP_SECONDS,
  retryEvaluationSchema,
  type ClaimNextInput,
  type CompleteEvaluationInput,
  type CreateEvaluationInput,
  type FailEvaluationInput,
  type ListEvaluationsInput,
  type FencingToken,
  type ReleaseLeaseInput,
  type RenewLeaseInput,
  type RetryEvaluationInput,
} from '../validation/evaluations.js';
import type { AgentResult } from './agent-results.js';
import { traced } from '../telemetry.js';
import { compiled, compiledShapes } from './compiled.js';
import { tables, type Executor } from './executor.js';
import { newestFirst, toPage, type Page } from './page.js';
import { urgently } from './priority.js';
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
  FencingToken,
  ReleaseLeaseInput,
  RenewLeaseInput,
  RetryEvaluationInput,
} from '../validation/evaluations.js';
export { DEFAULT_MAX_ATTEMPTS, RETRY_BACKOFF_BASE_SECONDS, RETRY_BACKOFF_CAP_SECONDS } from '../validation/evaluations.js';

/** Idea statuses from which an idea may be evaluated (a completed idea may be evaluated again). */
const EVALUABLE_IDEA_STATUSES = ['submitted', 'evaluating', 'completed'] as const;

/** How many runs whose lease expired for the last time one claim dead-letters, at most. */
const BURY_PER_CLAIM = 10;

// The statements, compiled once (compiled.ts) ---------------------------------------------------

const insertEvaluation = compiledShapes(
  (db, shape: { keyed: boolean }, businessIdeaId: string, priority: string, maxAttempts: number, idempotencyKey: string | undefined) =>
    db
      .insertInto('evaluations')
      .columns(
        shape.keyed ? ['businessIdeaId', 'priority', 'maxAttempts', 'idempotencyKey'] : ['businessIdeaId', 'priority', 'maxAttempts'],
      )
      .expression((eb) =>
        eb
          .selectFrom('businessIdeas')
          .select([
            'businessIdeas.id',
            sql<string>`cast(${priority} as evaluation_priority)`.as('priority'),
            sql<number>`${maxAttempts}::int`.as('maxAttempts'),
          ])
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

// One statement: the claim, the dead-lettering of runs whose lease expired once too often, and the
// idea's step to evaluating, in data-modifying CTEs (atomic without a transaction of its own, and
// one round trip).
const claim = compiled((db, workerId: string, leaseSeconds: number) =>
  db
    // A run whose lease expired and whose retry budget that failure exhausts is dead-lettered
    // rather than handed out again (a few per claim: they are found on the small lease index).
    // `= any(array(...))`: a leakproof match on the primary key under the worker's row-level security.
    .with('buried', (qc) =>
      qc
        .updateTable('evaluations')
        .set({
          status: sql.lit('dead'),
          failures: sql<number>`failures + 1`,
          leaseExpiresAt: null,
          completedAt: sql<Date>`now()`,
          errorMessage: sql<string>`format('the lease of attempt %s (%s) expired; %s of %s attempts failed', attempt, claimed_by, failures + 1, max_attempts)`,
        })
        .where(
          'id',
          '=',
          sql<string>`any(array(${db
            .selectFrom('evaluations')
            .select('id')
            .where('status', '=', sql.lit('analyzing'))
            .where('leaseExpiresAt', '<', sql<Date>`statement_timestamp()`)
            .where(sql<boolean>`failures + 1 >= max_attempts`)
            .orderBy('leaseExpiresAt')
            .orderBy('id')
            .limit(sql.lit(BURY_PER_CLAIM))
            .forNoKeyUpdate()
            .skipLocked()}))`,
        )
        .returning('evaluations.id'),
    )
    .with('claimed', (qc) =>
      qc
        .updateTable('evaluations')
        .set({
          status: 'analyzing',
          startedAt: sql<Date>`now()`,
          claimedBy: workerId,
          leaseExpiresAt: leaseUntil(leaseSeconds),
          // The new attempt: the fencing token's second half. Taking over an expired lease counts
          // the attempt it ends as failed (SET reads the row as it was).
          attempt: sql<number>`attempt + 1`,
          failures: sql<number>`failures + (status = 'analyzing')::int`,
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
              .where(sql<boolean>`failures + 1 < max_attempts`)
              .orderBy('leaseExpiresAt')
              .orderBy('id')
              .limit(1)
              .forNoKeyUpdate()
              .skipLocked(),
            // Due work only: a retried run waits out its backoff (run_after).
            eb
              .selectFrom('evaluations')
              .select('id')
              .where('status', '=', sql.lit('pending'))
              .where('runAfter', '<=', sql<Date>`statement_timestamp()`)
              .orderBy('priority', 'desc')
              .orderBy('runAfter')
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

const renew = compiled((db, id: string, workerId: string, attempt: number, leaseSeconds: number) =>
  db
    .updateTable('evaluations')
    .set({ leaseExpiresAt: leaseUntil(leaseSeconds) })
    .where('id', '=', id)
    .where('status', '=', 'analyzing')
    .where('claimedBy', '=', workerId)
    .where('attempt', '=', attempt)
    .returningAll(),
);

// The run goes back to its place in the queue (run_after unchanged: it is due).
const release = compiled((db, id: string, workerId: string, attempt: number) =>
  db
    .updateTable('evaluations')
    .set({ status: 'pending', startedAt: null, claimedBy: null, leaseExpiresAt: null })
    .where('id', '=', id)
    .where('status', '=', 'analyzing')
    .where('claimedBy', '=', workerId)
    .where('attempt', '=', attempt)
    .returningAll(),
);

const complete = compiledShapes(
  (db, shape: { holder: boolean }, id: string, results: string, workerId: string | undefined, attempt: number | undefined) =>
    db
      .with('completed', (qc) =>
        qc
          .updateTable('evaluations')
          .set({ status: 'completed', results, completedAt: sql<Date>`now()`, leaseExpiresAt: null, errorMessage: null })
          .where('id', '=', id)
          .where('status', '=', 'analyzing')
          .$if(shape.holder, (qb) => qb.where('claimedBy', '=', workerId!).where('attempt', '=', attempt!))
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

// A worker's failure: back to the queue after a backoff while the budget lasts, else dead. SET
// reads the row as it was, so `failures + 1 < max_attempts` is "this failure leaves budget".
// The backoff is min(cap, base * 2^failures) seconds times a uniform 0.5 to 1 (equal jitter), so
// workers failing together do not come back together.
const retryLater = sql<boolean>`failures + 1 < max_attempts`;
const failAttempt = compiled((db, id: string, errorMessage: string, workerId: string, attempt: number) =>
  db
    .updateTable('evaluations')
    .set({
      status: sql<EvaluationStatus>`case when ${retryLater} then 'pending'::evaluation_status else 'dead'::evaluation_status end`,
      failures: sql<number>`failures + 1`,
      errorMessage,
      claimedBy: sql<string | null>`case when ${retryLater} then null else claimed_by end`,
      startedAt: sql<Date | null>`case when ${retryLater} then null else started_at end`,
      leaseExpiresAt: null,
      completedAt: sql<Date | null>`case when ${retryLater} then null else now() end`,
      runAfter: sql<Date>`case when ${retryLater} then statement_timestamp() + make_interval(secs => least(${sql.lit(
        RETRY_BACKOFF_CAP_SECONDS,
      )}, ${sql.lit(RETRY_BACKOFF_BASE_SECONDS)} * power(2, failures)) * (0.5 + random() / 2)) else run_after end`,
    })
    .where('id', '=', id)
    .where('status', '=', 'analyzing')
    .where('claimedBy', '=', workerId)
    .where('attempt', '=', attempt)
    .returningAll(),
);

// An operator's failure ends the run for good (no retry); a pending run may fail too.
const fail = compiled((db, id: string, errorMessage: string) =>
  db
    .updateTable('evaluations')
    .set({ status: 'failed', errorMessage, completedAt: sql<Date>`now()`, leaseExpiresAt: null })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'analyzing'])
    .returningAll(),
);

// A requeue starts a fresh retry budget; the attempt number goes on (fencing tokens never repeat).
const requeue = compiled((db, id: string, maxAttempts: number | null) =>
  db
    .updateTable('evaluations')
    .set({
      status: 'pending',
      startedAt: null,
      completedAt: null,
      claimedBy: null,
      leaseExpiresAt: null,
      failures: 0,
      maxAttempts: sql<number>`coalesce(${maxAttempts}::int, max_attempts)`,
      runAfter: sql<Date>`statement_timestamp()`,
    })
    .where('id', '=', id)
    .where('status', 'in', ['failed', 'dead'])
    .returningAll(),
);

// Why a fenced write matched nothing, read past row-level security (the worker cannot see a run
// that ended): migrations/20261203090100_evaluation_attempts_and_retries.sql.
const attemptState = compiled((db, id: string) =>
  db
    .selectFrom(sql<{ status: EvaluationStatus; attempt: number; claimedBy: string | null }>`evaluation_attempt_state(${id})`.as('state'))
    .selectAll(),
);

/**
 * Queues an evaluation of an idea. The idea must exist, not be soft-deleted, and be submitted,
 * evaluating or completed (a draft has not been submitted; an archived idea is closed).
 * `maxAttempts` is the run's retry budget (1 to 100; by default `DEFAULT_MAX_ATTEMPTS` of its
 * priority: low 3, normal 5, high 8). With an `idempotencyKey` (unique per idea), a retry after a
 * lost connection returns the evaluation the first attempt queued; the same key with another
 * priority or budget is a `ConflictError`.
 *
 * @throws NotFoundError when the idea does not exist or is soft-deleted.
 * @throws InvalidTransitionError when the idea is a draft or archived.
 * @example
 * ```ts
 * const evaluation = await database.withUser(userId, (trx) => createEvaluation(trx, idea.id, { priority: 'high', maxAttempts: 3 }));
 * ```
 */
export const createEvaluation = traced(
  'evaluations.createEvaluation',
  async (executor: Executor<'user' | 'owner'>, businessIdeaId: string, input?: CreateEvaluationInput | null): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(createEvaluationSchema, withKeys(input, { businessIdeaId }), 'evaluation');
    const { priority, idempotencyKey } = parsed;
    const maxAttempts = parsed.maxAttempts ?? DEFAULT_MAX_ATTEMPTS[priority];
    const keyed = idempotencyKey !== undefined;
    // One statement: the idea's checks and the insert cannot be separated by another change.
    const created = await insertEvaluation.first(db, { keyed }, businessIdeaId, priority, maxAttempts, idempotencyKey);
    if (created) return created;
    if (keyed) {
      // Nothing inserted: the key's first request may already have queued it.
      const first = await evaluationByKey.first(db, businessIdeaId, idempotencyKey);
      if (first?.priority === priority && first.maxAttempts === maxAttempts) return first;
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
 * Hands the next evaluation to `workerId`, or returns null when there is none, and starts a new
 * attempt: `attempt` is incremented, and `{ workerId, attempt: evaluation.attempt }` is the
 * fencing token every write for this run must carry (renewLease, releaseLease,
 * completeEvaluation, failEvaluation, and the agent-run writes); once the attempt is no longer
 * current, those writes are refused with `StaleAttemptError`.
 *
 * The next run is the one whose lease expired longest ago (that expiry counts as a failed
 * attempt), else the due pending run (`runAfter` passed) of the highest priority that has been
 * due longest. It becomes analyzing with `startedAt` now, `claimedBy` the worker and a lease of
 * `leaseSeconds` (default 300); its idea, if submitted, becomes evaluating. A run whose lease
 * expired on its last allowed attempt (`failures` reaching `maxAttempts`) is dead-lettered
 * (status `dead`) by the claim instead of handed out again. All in one statement (data-modifying
 * CTEs: atomic without a transaction, one round trip).
 *
 * Concurrent callers never get the same run: the candidate is locked with `SKIP LOCKED`, so each
 * caller takes the first run nobody else is taking, without waiting. When every pool connection is
 * in use, the claim's checkout is urgent (repositories/priority.ts): it is served before the
 * ordinary checkouts waiting, so a worker's next claim does not queue behind the runs in flight.
 *
 * @example
 * ```ts
 * const evaluation = await claimNext(database.worker, workerId, { leaseSeconds: 120 });
 * if (evaluation) await runAgents(evaluation, { workerId, attempt: evaluation.attempt }); // then completeEvaluation()
 * ```
 */
export const claimNext = traced(
  'evaluations.claimNext',
  async (executor: Executor, workerId: string, input?: ClaimNextInput | null): Promise<Evaluation | null> => {
    const db = tables(executor);
    const parsed = parseInput(claimNextSchema, withKeys(input, { workerId }), 'evaluation claim');
    // Urgent: a claim waiting for a connection goes before the waiting writes of runs in flight.
    return (await urgently(() => claim.first(db, parsed.workerId, parsed.leaseSeconds))) ?? null;
  },
  (...[, workerId]) => workerAttribute(workerId),
);

/**
 * Extends the lease of the attempt `{ workerId, attempt }` holds to `leaseSeconds` (default 300)
 * from now. A lease that expired but was not claimed again is still that attempt's to renew.
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws StaleAttemptError when the attempt is no longer current (claimed again, released, ended).
 * @example
 * ```ts
 * const token = { workerId, attempt: evaluation.attempt };
 * setInterval(() => renewLease(database.worker, evaluation.id, { ...token, leaseSeconds: 120 }), 60_000);
 * ```
 */
export const renewLease = traced(
  'evaluations.renewLease',
  async (executor: Executor, id: string, input: RenewLeaseInput): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(renewLeaseSchema, withKeys(input, { id }), 'evaluation lease');
    const renewed = await renew.first(db, id, parsed.workerId, parsed.attempt, parsed.leaseSeconds);
    return fenced(db, renewed, { id, to: 'analyzing', token: parsed });
  },
  (...[, , input]) => workerAttribute(input?.workerId),
);

/**
 * Gives a run back to the queue: analyzing -> pending, without a holder or a start time, due at
 * once (its place in the queue kept). Only the current attempt may; releasing does not count as a
 * failure. The idea keeps its status (the run is still wanted).
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws StaleAttemptError when the attempt is no longer current.
 * @example
 * ```ts
 * process.on('SIGTERM', () => releaseLease(database.worker, evaluation.id, { workerId, attempt: evaluation.attempt }));
 * ```
 */
export const releaseLease = traced(
  'evaluations.releaseLease',
  async (executor: Executor, id: string, input: ReleaseLeaseInput): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(releaseLeaseSchema, withKeys(input, { id }), 'evaluation lease');
    const released = await release.first(db, id, parsed.workerId, parsed.attempt);
    return fenced(db, released, { id, to: 'pending', token: parsed });
  },
  (...[, , input]) => workerAttribute(input?.workerId),
);

/**
 * Completes an analyzing run with the aggregated `results` (analyzing -> completed, `completedAt`
 * now, lease and error message cleared) and moves its idea from evaluating to completed, in one
 * statement. With a token (`workerId` and `attempt`, a worker's call), only that attempt may
 * complete it; without one (an owner's or operator's call), any analyzing run may be completed.
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws StaleAttemptError when the token's attempt is no longer current.
 * @throws InvalidTransitionError when the run is not analyzing (no token).
 * @example
 * ```ts
 * await completeEvaluation(database.worker, evaluation.id, { workerId, attempt: evaluation.attempt, results: { version: 1, overallScore: 72.5, ... } });
 * ```
 */
export const completeEvaluation = traced(
  'evaluations.completeEvaluation',
  async (executor: Executor, id: string, input: CompleteEvaluationInput): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(completeEvaluationSchema, withKeys(input, { id }), 'evaluation');
    const token = tokenOf(parsed);
    const completed = await complete.first(
      db,
      { holder: token !== undefined },
      id,
      JSON.stringify(parsed.results),
      parsed.workerId,
      parsed.attempt,
    );
    return fenced(db, completed, { id, to: 'completed', token });
  },
  (...[, , input]) => workerAttribute(input?.workerId),
);

/**
 * Fails a run with `errorMessage`.
 *
 * With a token (`workerId` and `attempt`: the worker failing its own attempt), the failure is
 * retried by policy: while the run's budget lasts (`failures + 1 < maxAttempts`) it goes back to
 * pending, due after an exponential backoff with jitter (`runAfter` = now + min(3600, 10 * 2^n)
 * seconds times 0.5 to 1, n the failures before this one), the error message kept; the failure
 * that exhausts the budget dead-letters it (-> dead, `completedAt` now). Either way `failures`
 * counts it. Returns the row: pending (retried) or dead.
 *
 * Without a token (an owner's or operator's call) a pending or analyzing run fails for good
 * (-> failed, `completedAt` now), not retried. Either way the idea keeps its status;
 * `retryEvaluation` queues a failed or dead run again.
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws StaleAttemptError when the token's attempt is no longer current.
 * @throws InvalidTransitionError when the run already ended (no token).
 * @example
 * ```ts
 * const after = await failEvaluation(database.worker, evaluation.id, { workerId, attempt: evaluation.attempt, errorMessage: 'market-research agent timed out' });
 * if (after.status === 'dead') alertOperators(after);
 * ```
 */
export const failEvaluation = traced(
  'evaluations.failEvaluation',
  async (executor: Executor, id: string, input: FailEvaluationInput): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(failEvaluationSchema, withKeys(input, { id }), 'evaluation');
    const token = tokenOf(parsed);
    if (token === undefined) {
      const failed = await fail.first(db, id, parsed.errorMessage);
      return transitioned(db, failed, { table: 'evaluations', id, to: 'failed', from: ['pending', 'analyzing'] });
    }
    const failed = await failAttempt.first(db, id, parsed.errorMessage, token.workerId, token.attempt);
    return fenced(db, failed, { id, to: 'pending', token });
  },
  (...[, , input]) => workerAttribute(input?.workerId),
);

/**
 * Queues a failed or dead run again (-> pending, due now) with a fresh retry budget: `failures`
 * back to 0, and `maxAttempts` if given (else the run's own). The attempt number goes on, so no
 * earlier attempt's token becomes current again. The last error message is kept until the run
 * completes (which clears it) or fails again. Through the worker role, failed and dead runs are
 * invisible (row-level security), so this is an operator's (the owner's) or the application's
 * call.
 *
 * @throws NotFoundError when there is no such evaluation.
 * @throws InvalidTransitionError when the run is not failed or dead.
 * @example
 * ```ts
 * for (const evaluation of (await listEvaluationsByStatus(database.owner, 'dead')).items) await retryEvaluation(database.owner, evaluation.id, { maxAttempts: 2 });
 * ```
 */
export const retryEvaluation = traced(
  'evaluations.retryEvaluation',
  async (executor: Executor, id: string, input?: RetryEvaluationInput | null): Promise<Evaluation> => {
    const db = tables(executor);
    const parsed = parseInput(retryEvaluationSchema, withKeys(input, { id }), 'evaluation');
    const queued = await requeue.first(db, id, parsed.maxAttempts ?? null);
    return transitioned(db, queued, { table: 'evaluations', id, to: 'pending', from: ['failed', 'dead'] });
  },
);

// How long until the next run becomes claimable without a new enqueue: the soonest lease to run
// out, or the soonest pending run backing off after a failure to become due. Counted by the server
// (its clock decides), in whole milliseconds (negative when overdue).
const nextClaimable = compiled((db) =>
  db.selectNoFrom(
    sql<number | null>`ceil(extract(epoch from (least(
      (select min(lease_expires_at) from evaluations where status = 'analyzing'),
      (select min(run_after) from evaluations where status = 'pending' and run_after > statement_timestamp())
    ) - statement_timestamp())) * 1000)::int8`.as('inMs'),
  ),
);

/**
 * How many milliseconds from now (by the server's clock) until a run that is not claimable now
 * becomes claimable by itself: the soonest lease to run out or retry (a failed attempt's backoff)
 * to become due, 0 when one already has, null when there is neither. A worker with nothing to do sleeps that long (or until a NOTIFY), so a dead
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

/** The token of a validated input that carries one (both fields, or neither: validation saw to that). */
function tokenOf(input: { workerId?: string | undefined; attempt?: number | undefined }): FencingToken | undefined {
  return input.workerId !== undefined && input.attempt !== undefined ? { workerId: input.workerId, attempt: input.attempt } : undefined;
}

/**
 * The row a fenced write returned or, when it matched nothing, why: no such evaluation, a token
 * whose attempt is no longer current (StaleAttemptError), or without a token the status.
 */
async function fenced(
  db: Kysely<DB>,
  row: Evaluation | undefined,
  change: { id: string; to: EvaluationStatus; token: FencingToken | undefined },
): Promise<Evaluation> {
  if (row !== undefined) return row;
  const { id, to, token } = change;
  if (token === undefined) return transitioned<Evaluation>(db, undefined, { table: 'evaluations', id, to, from: ['analyzing'] });
  const state = await attemptState.first(db, id);
  if (!state) throw new NotFoundError('evaluation', id);
  if (state.status === 'analyzing' && state.attempt === token.attempt && state.claimedBy === token.workerId)
    throw new InvalidTransitionError({ entity: 'evaluation', id, from: state.status, to, reason: 'it changed concurrently' });
  throw new StaleAttemptError({
    entity: 'evaluation',
    id,
    evaluationId: id,
    ...token,
    currentAttempt: state.attempt,
    status: state.status,
    claimedBy: state.claimedBy,
    to,
  });
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
