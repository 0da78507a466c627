/**
 * Plain Kysely: `new Kysely<DB>` over a pool with the benchmark's settings and the project's
 * dialect and plugins (CamelCasePlugin with maintainNestedObjectKeys), the queries written inline
 * as the repository builds them, and no repository layer (no input validation, no spans, no
 * executor paths, no reading back why a conditional update matched nothing).
 */
import { Kysely, sql } from 'kysely';
import { createDialect, createPlugins } from '../../../src/db/kysely.js';
import type { DB } from '../../../src/schema/generated.js';
import { toPage } from './raw-pg.js';
import type { Contender, ContenderContext, Driver } from './types.js';

const PAGE = 20;
const LEASE_SECONDS = 300;
const IDEA_COLUMNS = [
  'businessIdeas.id',
  'businessIdeas.userId',
  'businessIdeas.title',
  'businessIdeas.description',
  'businessIdeas.status',
  'businessIdeas.createdAt',
  'businessIdeas.updatedAt',
] as const;

export function plainKysely(context: ContenderContext): Contender {
  const pool = context.createPool();
  const db = new Kysely<DB>({ dialect: createDialect(pool), plugins: createPlugins() });

  const driver: Driver = {
    async getIdea(id) {
      return db
        .selectFrom('businessIdeas')
        .select(IDEA_COLUMNS)
        .where('businessIdeas.id', '=', id)
        .where('businessIdeas.deletedAt', 'is', null)
        .executeTakeFirstOrThrow();
    },
    async listIdeas(userId, cursor) {
      const rows = await db
        .selectFrom('businessIdeas')
        .select(IDEA_COLUMNS)
        .select(
          sql<string>`to_char(${sql.ref('businessIdeas.createdAt')} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
            'cursorCreatedAt',
          ),
        )
        .where('businessIdeas.userId', '=', userId)
        .where('businessIdeas.deletedAt', 'is', null)
        .$if(cursor !== null, (qb) =>
          qb.where(
            sql<boolean>`(${sql.ref('businessIdeas.createdAt')}, ${sql.ref('businessIdeas.id')}) < (${cursor!.createdAt}::timestamptz, ${cursor!.id}::uuid)`,
          ),
        )
        .orderBy('businessIdeas.createdAt', 'desc')
        .orderBy('businessIdeas.id', 'desc')
        .limit(PAGE + 1)
        .execute();
      return toPage(rows);
    },
    async createIdea(userId, title, description) {
      return db
        .insertInto('businessIdeas')
        .columns(['userId', 'title', 'description'])
        .expression((eb) =>
          eb
            .selectFrom('users')
            .select(['users.id', sql<string>`${title}::text`.as('title'), sql<string>`${description}::text`.as('description')])
            .where('users.id', '=', userId)
            .where('users.deletedAt', 'is', null),
        )
        .returning(IDEA_COLUMNS)
        .executeTakeFirstOrThrow();
    },
    async createAgentRuns(evaluationId, agentTypes) {
      return db
        .insertInto('agentResults')
        .values(agentTypes.map((agentType) => ({ evaluationId, agentType, inputData: '{}' })))
        .returningAll()
        .execute();
    },
    async startAgentRun(id) {
      return db
        .updateTable('agentResults')
        .set({ status: 'running', startedAt: sql<Date>`now()` })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    async completeAgentRun(id, { outputData, insights, score }) {
      return db
        .updateTable('agentResults')
        .set({
          status: 'completed',
          outputData: JSON.stringify(outputData),
          insights: JSON.stringify(insights),
          score,
          completedAt: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    async scoreSummary(evaluationId) {
      const rows = await db
        .selectFrom('agentResults')
        .select((eb) => [
          'agentType',
          sql<boolean>`grouping(${sql.ref('agentType')}) = 1`.as('isOverall'),
          eb.fn.countAll<number>().as('runs'),
          eb.fn.count<number>('score').as('scored'),
          sql<number | null>`round(avg(${sql.ref('score')}), 2)`.as('average'),
          eb.fn.min<number | null>('score').as('min'),
          eb.fn.max<number | null>('score').as('max'),
          eb
            .exists(eb.selectFrom('evaluations').select('evaluations.id').where('evaluations.id', '=', evaluationId))
            .as('evaluationExists'),
        ])
        .where('evaluationId', '=', evaluationId)
        .groupBy(sql`grouping sets ((${sql.ref('agentType')}), ())`)
        .orderBy(sql`grouping(${sql.ref('agentType')})`)
        .orderBy('agentType')
        .execute();
      const overall = rows.find((row) => row.isOverall);
      if (!overall?.evaluationExists) throw new Error(`evaluation ${evaluationId} not found`);
      return {
        overall: overall.average,
        byAgentType: rows.filter((row) => !row.isOverall).map((row) => ({ agentType: row.agentType, average: row.average })),
      };
    },
    // One statement each, as the repository builds them: the idea follows in a data-modifying CTE.
    async claimNext(workerId) {
      const claimed = await db
        .with('claimed', (qc) =>
          qc
            .updateTable('evaluations')
            .set({
              status: 'analyzing',
              startedAt: sql<Date>`now()`,
              claimedBy: workerId,
              leaseExpiresAt: sql<Date>`statement_timestamp() + make_interval(secs => ${LEASE_SECONDS})`,
              attempt: sql<number>`attempt + 1`,
              failures: sql<number>`failures + (status = 'analyzing')::int`,
            })
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
        .with('idea', (qc) =>
          qc
            .updateTable('businessIdeas')
            .set({ status: 'evaluating' })
            .where('id', '=', (eb) => eb.selectFrom('claimed').select('claimed.businessIdeaId'))
            .where('status', '=', 'submitted')
            .where('deletedAt', 'is', null)
            .returning('businessIdeas.id'),
        )
        .selectFrom('claimed')
        .selectAll()
        .executeTakeFirst();
      return claimed ?? null;
    },
    completeEvaluation(claimed, workerId, results) {
      return db
        .with('completed', (qc) =>
          qc
            .updateTable('evaluations')
            .set({
              status: 'completed',
              results: JSON.stringify(results),
              completedAt: sql<Date>`now()`,
              leaseExpiresAt: null,
              errorMessage: null,
            })
            .where('id', '=', claimed.id)
            .where('status', '=', 'analyzing')
            .where('claimedBy', '=', workerId)
            .where('attempt', '=', claimed.attempt)
            .returningAll(),
        )
        .with('idea', (qc) =>
          qc
            .updateTable('businessIdeas')
            .set({ status: 'completed' })
            .where('id', '=', (eb) => eb.selectFrom('completed').select('completed.businessIdeaId'))
            .where('status', '=', 'evaluating')
            .where('deletedAt', 'is', null)
            .returning('businessIdeas.id'),
        )
        .selectFrom('completed')
        .selectAll()
        .executeTakeFirstOrThrow();
    },
  };
  return {
    driver,
    settings: 'new Kysely<DB>({ dialect: PostgresDialect over the pool, plugins: [CamelCasePlugin({ maintainNestedObjectKeys: true })] })',
    close: () => db.destroy(),
  };
}
