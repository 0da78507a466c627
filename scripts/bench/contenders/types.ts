/**
 * What a contender of the query benchmark implements: the primitive calls the operations are made
 * of (scripts/bench/operations.ts composes them, the same way for everyone), over a pool made with
 * the benchmark's one set of pool settings.
 */
import type pg from 'pg';
import type { Config } from '../../../src/config.js';
import type { ConnectionSettings } from '../../../src/connection.js';
import type { AgentInsights, AgentOutputData, EvaluationResults } from '../../../src/schema/json.js';

/** A page of a user's ideas, newest first: where the next one starts (each contender uses what it needs). */
export interface PageCursor {
  /** The last row's created_at, ISO 8601 with microseconds, UTC. */
  createdAt: string;
  id: string;
  /** The repository's opaque cursor for the same row. */
  encoded: string;
}

/** A claimed evaluation: what the rest of the workflow needs of it. */
export interface Claimed {
  id: string;
  businessIdeaId: string;
  /** The attempt the claim started: with the worker id, the fencing token of the run's writes. */
  attempt: number;
}

/** An agent run's completion. */
export interface AgentCompletion {
  outputData: AgentOutputData;
  insights: AgentInsights;
  score: number;
}

/** What the workflow reads of the score aggregate: per agent type and overall, the average score. */
export interface ScoreAggregate {
  overall: number | null;
  byAgentType: { agentType: string; average: number | null }[];
}

/** A page as the contenders return it (items as each library gives them). */
export interface IdeaPage {
  items: readonly unknown[];
  nextCursor: unknown;
}

/**
 * The calls the operations are made of. Each does what the repository function of the same name
 * does, in that contender's idiom; a contender leaves out what it cannot do, and the operations
 * that need it are then not run for it.
 */
export interface Driver {
  /** businessIdeas.getIdea: one live idea by primary key (`userId` is its owner, for contenders acting as the user). */
  getIdea?(id: string, userId: string): Promise<unknown>;
  /** businessIdeas.listIdeasByUser: 20 of a user's live ideas, newest first, after `cursor`. */
  listIdeas?(userId: string, cursor: PageCursor | null): Promise<IdeaPage>;
  /** businessIdeas.createIdea: a draft idea of a live user. */
  createIdea?(userId: string, title: string, description: string): Promise<unknown>;
  /** agentResults.createAgentRuns: pending runs of these types, in one statement. */
  createAgentRuns?(evaluationId: string, agentTypes: readonly string[]): Promise<{ id: string }[]>;
  /** agentResults.startAgentRun: pending -> running. */
  startAgentRun?(id: string): Promise<unknown>;
  /** agentResults.completeAgentRun: running -> completed with output, insights and score. */
  completeAgentRun?(id: string, completion: AgentCompletion): Promise<unknown>;
  /**
   * agentResults.createAgentRuns with `{ start: true }` and the claim's fencing token: the runs of
   * these types created already running for the claim's attempt, in one statement.
   */
  startAgentRuns?(claimed: Claimed, workerId: string, agentTypes: readonly string[]): Promise<{ id: string }[]>;
  /** agentResults.completeAgentRuns with the claim's fencing token: every run completed in one statement, all or none. */
  completeAgentRuns?(claimed: Claimed, workerId: string, completions: readonly ({ id: string } & AgentCompletion)[]): Promise<unknown>;
  /** agentResults.scoreSummary: the scores of an evaluation's runs, aggregated in SQL. */
  scoreSummary?(evaluationId: string): Promise<ScoreAggregate>;
  /** evaluations.claimNext: the next run (expired leases first, then pending by priority), and its idea follows. */
  claimNext?(workerId: string): Promise<Claimed | null>;
  /** evaluations.completeEvaluation: analyzing -> completed with results, by the worker and attempt holding it; its idea follows. */
  completeEvaluation?(claimed: Claimed, workerId: string, results: EvaluationResults): Promise<unknown>;
  /** evaluations.createEvaluation: a pending run of this idea (its NOTIFY wakes the queue's workers); its id. */
  enqueue?(businessIdeaId: string): Promise<string>;
  /**
   * A worker loop woken by LISTEN/NOTIFY (the repository's: `createWorker`), one run at a time: it
   * claims each run as it is queued, calls `hooks.started(id)` as the run's work begins, completes
   * it with `results` and calls `hooks.finished(id)`. Resolves once it listens; the function it
   * resolves to stops it.
   */
  startQueueWorker?(workerId: string, results: EvaluationResults, hooks: QueueWorkerHooks): Promise<() => Promise<void>>;
}

/** What a benchmark's queue worker reports. */
export interface QueueWorkerHooks {
  started(evaluationId: string): void;
  finished(evaluationId: string): void;
}

/** What a contender is made from. */
export interface ContenderContext {
  /** The benchmark database, as the owner of the tables. */
  connection: ConnectionSettings;
  /** The configuration every pool is made with (the same pool settings for everyone). */
  config: Config;
  /** A pool with the benchmark's settings, counted and instrumented (pass it to the library under test). */
  createPool(): pg.Pool;
  /** Registers a pool made elsewhere (the repository's own) for counting and instrumenting; call before its first query. */
  instrument(pool: pg.Pool): pg.Pool;
  /** A login role in ai_validation_app on the benchmark database, when one could be made. */
  appConnection?: ConnectionSettings | undefined;
  /** Where generated code (the Prisma client) goes: .bench/ in the repository. */
  workDir: string;
  /** The repository's root. */
  root: string;
}

/** A contender, ready to run. */
export interface Contender {
  driver: Driver;
  /** What it was configured with, for the report. */
  settings: string;
  close(): Promise<void>;
}

/** A contender that runs outside this process (pgbench): it runs whole windows itself. */
export interface ExternalContender {
  /** Runs the point read for `seconds` with `concurrency` clients. */
  pointReadWindow(options: { seconds: number; concurrency: number }): Promise<{ ops: number; elapsedMs: number; clientCpuMs?: number }>;
  settings: string;
  close(): Promise<void>;
}

/** A contender's entry in the registry. */
export interface ContenderSpec {
  name: string;
  /** One line for the help and the table. */
  label: string;
  /** Builds it, or says why it cannot run here. */
  create(context: ContenderContext): Promise<Contender | ExternalContender | { skipped: string }>;
}
