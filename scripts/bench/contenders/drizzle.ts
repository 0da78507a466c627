/**
 * Drizzle ORM with node-postgres (`drizzle({ client: pool })` over a pool with the benchmark's
 * settings, the tables of ../drizzle-schema.ts): plain (the query built on every call) and
 * `.prepare(name)` (built once with `sql.placeholder`s, run as a named prepared statement).
 *
 * Ideas are inserted with a plain INSERT ... VALUES (Drizzle's insert ... select must list every
 * column of the table), so the live-user check is the foreign key's alone.
 *
 * The prepared variant leaves out `claimNext` and `completeEvaluation`: they run in a
 * transaction, and Drizzle's prepared queries belong to the handle they were built on (the pool),
 * so a prepared query cannot run inside a transaction without being built again there.
 */
import { and, desc, eq, isNull, lt, lte, sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { agentResults, businessIdeas, evaluations } from '../drizzle-schema.js';
import { toPage } from './raw-pg.js';
import type { Contender, ContenderContext, Driver, ScoreAggregate } from './types.js';

const PAGE = 20;
const LEASE_SECONDS = 300;

const ideaColumns = {
  id: businessIdeas.id,
  userId: businessIdeas.userId,
  title: businessIdeas.title,
  description: businessIdeas.description,
  status: businessIdeas.status,
  createdAt: businessIdeas.createdAt,
  updatedAt: businessIdeas.updatedAt,
};
const pageColumns = {
  ...ideaColumns,
  cursorCreatedAt: sql<string>`to_char(${businessIdeas.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
};
const summaryColumns = (evaluationId: unknown) => ({
  agentType: agentResults.agentType,
  isOverall: sql<boolean>`grouping(${agentResults.agentType}) = 1`,
  runs: sql<number>`count(*)`.mapWith(Number),
  scored: sql<number>`count(${agentResults.score})`.mapWith(Number),
  average: sql<number | null>`round(avg(${agentResults.score}), 2)`.mapWith(Number),
  min: sql<number | null>`min(${agentResults.score})`.mapWith(Number),
  max: sql<number | null>`max(${agentResults.score})`.mapWith(Number),
  evaluationExists: sql<boolean>`exists (select ${evaluations.id} from ${evaluations} where ${evaluations.id} = ${evaluationId})`,
});

type Db = NodePgDatabase;

function aggregate(
  evaluationId: string,
  rows: { agentType: string; isOverall: boolean; average: number | null; evaluationExists: boolean }[],
): ScoreAggregate {
  const overall = rows.find((row) => row.isOverall);
  if (!overall?.evaluationExists) throw new Error(`evaluation ${evaluationId} not found`);
  return {
    overall: overall.average,
    byAgentType: rows.filter((row) => !row.isOverall).map((row) => ({ agentType: row.agentType, average: row.average })),
  };
}

function follow(db: Db, ideaId: string, to: 'evaluating' | 'completed', from: 'submitted' | 'evaluating') {
  return db
    .update(businessIdeas)
    .set({ status: to })
    .where(and(eq(businessIdeas.id, ideaId), eq(businessIdeas.status, from), isNull(businessIdeas.deletedAt)));
}

/** Drizzle, every query built per call. */
export function plainDrizzle(context: ContenderContext): Contender {
  const pool = context.createPool();
  const db = drizzle({ client: pool });
  const driver: Driver = {
    async getIdea(id) {
      const [row] = await db
        .select(ideaColumns)
        .from(businessIdeas)
        .where(and(eq(businessIdeas.id, id), isNull(businessIdeas.deletedAt)));
      if (!row) throw new Error(`idea ${id} not found`);
      return row;
    },
    async listIdeas(userId, cursor) {
      const rows = await db
        .select(pageColumns)
        .from(businessIdeas)
        .where(
          and(
            eq(businessIdeas.userId, userId),
            isNull(businessIdeas.deletedAt),
            cursor
              ? sql`(${businessIdeas.createdAt}, ${businessIdeas.id}) < (${cursor.createdAt}::timestamptz, ${cursor.id}::uuid)`
              : undefined,
          ),
        )
        .orderBy(desc(businessIdeas.createdAt), desc(businessIdeas.id))
        .limit(PAGE + 1);
      return toPage(rows);
    },
    // Drizzle's insert ... select wants every column of the table: a plain INSERT, as a Drizzle user writes it.
    async createIdea(userId, title, description) {
      const [row] = await db.insert(businessIdeas).values({ userId, title, description }).returning(ideaColumns);
      if (!row) throw new Error(`user ${userId} not found`);
      return row;
    },
    async createAgentRuns(evaluationId, agentTypes) {
      return db
        .insert(agentResults)
        .values(agentTypes.map((agentType) => ({ evaluationId, agentType, inputData: {} })))
        .returning();
    },
    async startAgentRun(id) {
      const [row] = await db
        .update(agentResults)
        .set({ status: 'running', startedAt: sql`now()` })
        .where(and(eq(agentResults.id, id), eq(agentResults.status, 'pending')))
        .returning();
      if (!row) throw new Error(`agent run ${id} is not pending`);
      return row;
    },
    async completeAgentRun(id, { outputData, insights, score }) {
      const [row] = await db
        .update(agentResults)
        .set({ status: 'completed', outputData, insights, score, completedAt: sql`now()` })
        .where(and(eq(agentResults.id, id), eq(agentResults.status, 'running')))
        .returning();
      if (!row) throw new Error(`agent run ${id} is not running`);
      return row;
    },
    async scoreSummary(evaluationId) {
      const rows = await db
        .select(summaryColumns(evaluationId))
        .from(agentResults)
        .where(eq(agentResults.evaluationId, evaluationId))
        .groupBy(sql`grouping sets ((${agentResults.agentType}), ())`)
        .orderBy(sql`grouping(${agentResults.agentType})`, agentResults.agentType);
      return aggregate(evaluationId, rows);
    },
    claimNext(workerId) {
      return db.transaction(async (tx) => {
        const expired = tx
          .select({ id: evaluations.id })
          .from(evaluations)
          .where(
            and(
              eq(evaluations.status, 'analyzing'),
              lt(evaluations.leaseExpiresAt, sql`statement_timestamp()`),
              sql`${evaluations.failures} + 1 < ${evaluations.maxAttempts}`,
            ),
          )
          .orderBy(evaluations.leaseExpiresAt, evaluations.id)
          .limit(1)
          .for('no key update', { skipLocked: true });
        const pending = tx
          .select({ id: evaluations.id })
          .from(evaluations)
          .where(and(eq(evaluations.status, 'pending'), lte(evaluations.runAfter, sql`statement_timestamp()`)))
          .orderBy(desc(evaluations.priority), evaluations.runAfter, evaluations.id)
          .limit(1)
          .for('no key update', { skipLocked: true });
        const [claimed] = await tx
          .update(evaluations)
          .set({
            status: 'analyzing',
            startedAt: sql`now()`,
            claimedBy: workerId,
            leaseExpiresAt: sql`statement_timestamp() + make_interval(secs => ${LEASE_SECONDS})`,
            attempt: sql`${evaluations.attempt} + 1`,
            failures: sql`${evaluations.failures} + (${evaluations.status} = 'analyzing')::int`,
          })
          .where(eq(evaluations.id, sql`coalesce((${expired}), (${pending}))`))
          .returning();
        if (!claimed) return null;
        await follow(tx, claimed.businessIdeaId, 'evaluating', 'submitted');
        return claimed;
      });
    },
    completeEvaluation(claimed, workerId, results) {
      return db.transaction(async (tx) => {
        const [completed] = await tx
          .update(evaluations)
          .set({ status: 'completed', results, completedAt: sql`now()`, leaseExpiresAt: null })
          .where(
            and(
              eq(evaluations.id, claimed.id),
              eq(evaluations.status, 'analyzing'),
              eq(evaluations.claimedBy, workerId),
              eq(evaluations.attempt, claimed.attempt),
            ),
          )
          .returning();
        if (!completed) throw new Error(`evaluation ${claimed.id} is not analyzing for ${workerId}`);
        await follow(tx, claimed.businessIdeaId, 'completed', 'evaluating');
        return completed;
      });
    },
  };
  return { driver, settings: 'drizzle({ client: pool }), queries built per call', close: () => pool.end() };
}

/** Drizzle with every query built once with placeholders and run by `.execute(values)` as a named statement. */
export function preparedDrizzle(context: ContenderContext): Contender {
  const pool = context.createPool();
  const db = drizzle({ client: pool });
  const p = sql.placeholder;
  const getIdea = db
    .select(ideaColumns)
    .from(businessIdeas)
    .where(and(eq(businessIdeas.id, p('id')), isNull(businessIdeas.deletedAt)))
    .prepare('drizzle_get_idea');
  const listPage = (after: boolean, name: string) =>
    db
      .select(pageColumns)
      .from(businessIdeas)
      .where(
        and(
          eq(businessIdeas.userId, p('userId')),
          isNull(businessIdeas.deletedAt),
          after ? sql`(${businessIdeas.createdAt}, ${businessIdeas.id}) < (${p('createdAt')}::timestamptz, ${p('id')}::uuid)` : undefined,
        ),
      )
      .orderBy(desc(businessIdeas.createdAt), desc(businessIdeas.id))
      .limit(p('limit'))
      .prepare(name);
  const listIdeas = listPage(false, 'drizzle_list_ideas');
  const listIdeasAfter = listPage(true, 'drizzle_list_ideas_after');
  const createIdea = db
    .insert(businessIdeas)
    .values({ userId: p('userId'), title: p('title'), description: p('description') })
    .returning(ideaColumns)
    .prepare('drizzle_create_idea');
  const startAgentRun = db
    .update(agentResults)
    .set({ status: 'running', startedAt: sql`now()` })
    .where(and(eq(agentResults.id, p('id')), eq(agentResults.status, 'pending')))
    .returning()
    .prepare('drizzle_start_agent_run');
  const completeAgentRun = db
    .update(agentResults)
    // Placeholders are not typed as set() values; in sql`` they go to pg as they are (objects as JSON).
    .set({
      status: 'completed',
      outputData: sql`${p('outputData')}`,
      insights: sql`${p('insights')}`,
      score: sql`${p('score')}`,
      completedAt: sql`now()`,
    })
    .where(and(eq(agentResults.id, p('id')), eq(agentResults.status, 'running')))
    .returning()
    .prepare('drizzle_complete_agent_run');
  const scoreSummary = db
    .select(summaryColumns(p('evaluationId')))
    .from(agentResults)
    .where(eq(agentResults.evaluationId, p('evaluationId')))
    .groupBy(sql`grouping sets ((${agentResults.agentType}), ())`)
    .orderBy(sql`grouping(${agentResults.agentType})`, agentResults.agentType)
    .prepare('drizzle_score_summary');

  const driver: Driver = {
    async getIdea(id) {
      const [row] = await getIdea.execute({ id });
      if (!row) throw new Error(`idea ${id} not found`);
      return row;
    },
    async listIdeas(userId, cursor) {
      const rows = cursor
        ? await listIdeasAfter.execute({ userId, createdAt: cursor.createdAt, id: cursor.id, limit: PAGE + 1 })
        : await listIdeas.execute({ userId, limit: PAGE + 1 });
      return toPage(rows);
    },
    async createIdea(userId, title, description) {
      const [row] = await createIdea.execute({ userId, title, description });
      if (!row) throw new Error(`user ${userId} not found`);
      return row;
    },
    // A multi-row insert's shape depends on the number of rows: built per call, as with plain Drizzle.
    async createAgentRuns(evaluationId, agentTypes) {
      return db
        .insert(agentResults)
        .values(agentTypes.map((agentType) => ({ evaluationId, agentType, inputData: {} })))
        .returning();
    },
    async startAgentRun(id) {
      const [row] = await startAgentRun.execute({ id });
      if (!row) throw new Error(`agent run ${id} is not pending`);
      return row;
    },
    async completeAgentRun(id, { outputData, insights, score }) {
      const [row] = await completeAgentRun.execute({ id, outputData, insights, score });
      if (!row) throw new Error(`agent run ${id} is not running`);
      return row;
    },
    async scoreSummary(evaluationId) {
      return aggregate(evaluationId, await scoreSummary.execute({ evaluationId }));
    },
  };
  return {
    driver,
    settings: 'drizzle({ client: pool }), every query .prepare(name)d once with sql.placeholder()',
    close: () => pool.end(),
  };
}
