/**
 * This project's repositories through `createDatabase()`, as an application calls them: the
 * owner path (`database.owner`, which row-level security does not filter) for every operation,
 * and, for the point read, the application role acting for the idea's owner
 * (`database.withUser(userId, (trx) => getIdea(trx, id))`: a transaction, the user setting, the
 * read under row-level security).
 */
import { createDatabase } from '../../../src/db/database.js';
import * as agentResults from '../../../src/repositories/agent-results.js';
import * as businessIdeas from '../../../src/repositories/business-ideas.js';
import * as evaluations from '../../../src/repositories/evaluations.js';
import { createWorker } from '../../../src/queue/worker.js';
import type { Contender, ContenderContext, Driver } from './types.js';

const PAGE = 20;
const LEASE_SECONDS = 300;

/** The repositories on the owner path, with the benchmark's pool settings (plus `pool` overrides). */
export function repository(context: ContenderContext, overrides: Record<string, unknown> = {}): Contender {
  const database = createDatabase({ config: context.config, pool: overrides, env: {} });
  context.instrument(database.pool);
  const owner = database.owner;
  const driver: Driver = {
    getIdea: (id) => businessIdeas.getIdea(owner, id),
    listIdeas: (userId, cursor) =>
      businessIdeas.listIdeasByUser(owner, userId, cursor ? { limit: PAGE, cursor: cursor.encoded } : { limit: PAGE }),
    createIdea: (userId, title, description) => businessIdeas.createIdea(owner, userId, { title, description }),
    createAgentRuns: (evaluationId, agentTypes) => agentResults.createAgentRuns(owner, evaluationId, agentTypes),
    startAgentRun: (id) => agentResults.startAgentRun(owner, id),
    completeAgentRun: (id, completion) => agentResults.completeAgentRun(owner, id, completion),
    startAgentRuns: (claimed, workerId, agentTypes) =>
      agentResults.createAgentRuns(owner, claimed.id, agentTypes, { start: true, workerId, attempt: claimed.attempt }),
    completeAgentRuns: (claimed, workerId, completions) =>
      agentResults.completeAgentRuns(owner, completions, { workerId, attempt: claimed.attempt }),
    async scoreSummary(evaluationId) {
      const summary = await agentResults.scoreSummary(owner, evaluationId);
      return {
        overall: summary.overall.average,
        byAgentType: summary.byAgentType.map((row) => ({ agentType: row.agentType, average: row.average })),
      };
    },
    claimNext: (workerId) => evaluations.claimNext(owner, workerId, { leaseSeconds: LEASE_SECONDS }),
    completeEvaluation: (claimed, workerId, results) =>
      evaluations.completeEvaluation(owner, claimed.id, { workerId, attempt: claimed.attempt, results }),
    enqueue: async (businessIdeaId) => (await evaluations.createEvaluation(owner, businessIdeaId)).id,
    async startQueueWorker(workerId, results, hooks) {
      const worker = createWorker({
        database,
        workerId,
        leaseSeconds: LEASE_SECONDS,
        // Never within a window: every claim is woken by a notification.
        pollIntervalMs: 3_600_000,
        handler: async (evaluation) => {
          hooks.started(evaluation.id);
          return results;
        },
        onEvent: (event) => {
          if (event.type === 'completed') hooks.finished(event.evaluationId);
          if (event.type === 'error') errors.push(event.error);
        },
      });
      const errors: Error[] = [];
      await worker.ready;
      return async () => {
        await worker.stop({ graceMs: 5_000 });
        if (errors.length > 0) throw new Error(`the queue worker failed: ${errors[0]!.message}`, { cause: errors[0] });
      };
    },
  };
  const pool = { ...context.config.pool, ...overrides } as Record<string, unknown>;
  const prepared = 'preparedStatements' in pool ? `, preparedStatements: ${String(pool.preparedStatements)}` : '';
  return {
    driver,
    settings: `createDatabase({ config }) (the benchmark's pool settings${prepared}), database.owner`,
    close: () => database.close(),
  };
}

/** The point read through the application role: `withUser(owner, (trx) => getIdea(trx, id))`. */
export function repositoryAsUser(context: ContenderContext): Contender | { skipped: string } {
  const app = context.appConnection;
  if (!app) return { skipped: 'no login role in ai_validation_app could be made (needs CREATEROLE on the server)' };
  const database = createDatabase({ role: 'app', config: { ...context.config, connection: app, migrationConnection: app }, env: {} });
  context.instrument(database.pool);
  return {
    driver: { getIdea: (id, userId) => database.withUser(userId, (trx) => businessIdeas.getIdea(trx, id)) },
    settings: `createDatabase({ role: 'app' }) as a LOGIN role in ai_validation_app, withUser(owner, getIdea): row-level security on`,
    close: () => database.close(),
  };
}
