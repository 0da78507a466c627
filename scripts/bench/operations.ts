/**
 * The operations of the query benchmark, each made of a contender's primitive calls
 * (contenders/types.ts) the same way for every contender, and the payloads they write.
 */
import { AGENT_TYPES } from '../../seeds/load/phrases.js';
import type { AgentInsights, AgentOutputData, EvaluationResults } from '../../src/schema/json.js';
import type { AgentCompletion, Claimed, Driver, ScoreAggregate } from './contenders/types.js';
import type { Fixtures } from './fixtures.js';

export const OPERATION_NAMES = [
  'point-read',
  'list-page',
  'insert-idea',
  'complete-agent-run',
  'claim-complete',
  'workflow',
  'workflow-50',
  'workflow-200',
  'workflow-500',
  'workflow-batched',
  'workflow-batched-200',
  'enqueue-to-start',
  'keyset-page-1',
  'keyset-page-1000',
] as const;
export type OperationName = (typeof OPERATION_NAMES)[number];

/** What a window gives an operation to draw its inputs from. */
export interface OperationInputs {
  fixtures: Fixtures;
  /** The next running agent run made for this window; undefined when they are used up. */
  nextRunningRun(): string | undefined;
  /** Records how long a claim took. */
  claimed(ms: number): void;
}

export interface Operation {
  name: OperationName;
  label: string;
  /** What one call is, in the table's throughput column. */
  unit: string;
  /** The driver calls it is made of: a contender without one of them does not run it. */
  needs: readonly (keyof Driver)[];
  /** Concurrent callers, when not the benchmark's --concurrency. */
  concurrency?: number;
  /**
   * What must be made before each window: queued evaluations or running agent runs (one per
   * call), or an empty queue (every pending and analyzing evaluation failed beforehand).
   */
  consumes?: 'queue' | 'running-runs' | 'empty-queue';
  /** Started before the window's first call (outside the measured time); the function it gives is called after the last. */
  around?(driver: Driver): Promise<() => Promise<void>>;
  /** Runs one call as caller `worker`; false when its inputs ran out (the caller stops). */
  run(driver: Driver, worker: string, inputs: OperationInputs): Promise<boolean>;
}

const random = <T>(from: readonly T[]): T => from[Math.floor(Math.random() * from.length)]!;

/** About 2 KB of agent output (JSON text), valid for agentOutputDataSchema. */
export const AGENT_OUTPUT: AgentOutputData = {
  version: 1,
  summary:
    'Independent physiotherapy clinics lose about a tenth of their appointments to late cancellations and no-shows; a scheduler with deposits and waitlists addresses a real, measurable loss.',
  findings: [
    {
      topic: 'market-size',
      statement: 'About 12,400 independent clinics in the five largest European markets.',
      confidence: 0.72,
      sourceRefs: [0],
    },
    {
      topic: 'pain-point',
      statement: 'Late cancellations cost a three-therapist clinic roughly 1,900 EUR a month.',
      confidence: 0.64,
      sourceRefs: [1],
    },
    {
      topic: 'competitor',
      statement: 'Two incumbents serve hospitals; neither offers deposits for small clinics.',
      confidence: 0.58,
      sourceRefs: [2],
    },
    {
      topic: 'willingness-to-pay',
      statement: 'Clinic managers interviewed would pay 49 to 89 EUR a month per location.',
      confidence: 0.51,
    },
    { topic: 'channel', statement: 'Regional professional associations reach most independent clinics twice a year.', confidence: 0.47 },
  ],
  sources: [
    {
      title: 'National register of physiotherapy practices, 2026 edition',
      url: 'https://example.org/register',
      retrievedAt: '2026-11-20T10:00:00Z',
    },
    { title: 'Survey of clinic managers (n = 41)', url: 'https://example.org/survey', retrievedAt: '2026-11-21T09:30:00Z' },
    { title: 'Competitor pricing pages', url: 'https://example.org/pricing', retrievedAt: '2026-11-21T11:15:00Z' },
  ],
  usage: { inputTokens: 18_422, outputTokens: 2_311, durationMs: 41_870, costUsd: 0.19 },
  details: {
    segments: [
      { name: 'solo practices', share: 0.41, averageTherapists: 1.2 },
      { name: 'small clinics', share: 0.46, averageTherapists: 3.4 },
      { name: 'multi-site groups', share: 0.13, averageTherapists: 11.8 },
    ],
    currency: 'EUR',
    notes: 'Figures are estimates from public registers and a small survey; treat them as orders of magnitude.',
  },
};

/** The insights that go with it, valid for agentInsightsSchema. */
export const AGENT_INSIGHTS: AgentInsights = {
  version: 1,
  items: [
    {
      kind: 'opportunity',
      title: 'Deposits for small clinics',
      detail: 'No incumbent offers them below hospital scale.',
      impact: 'high',
      confidence: 0.6,
    },
    { kind: 'threat', title: 'Practice software bundles scheduling', impact: 'medium', confidence: 0.5 },
    { kind: 'recommendation', title: 'Pilot with a regional association', impact: 'medium' },
  ],
  metrics: { clinics: 12_400, monthlyLossEur: 1_900 },
};

const completion = (score: number): AgentCompletion => ({ outputData: AGENT_OUTPUT, insights: AGENT_INSIGHTS, score });

/** An evaluation's results from its score aggregate, valid for evaluationResultsSchema. */
export function evaluationResults(aggregate: ScoreAggregate | null): EvaluationResults {
  const scores = aggregate?.byAgentType ?? AGENT_TYPES.map((agentType) => ({ agentType, average: 70 }));
  const overall = aggregate?.overall ?? 70;
  return {
    version: 1,
    overallScore: overall,
    recommendation: overall >= 75 ? 'go' : overall >= 50 ? 'pivot' : 'no-go',
    confidence: 0.7,
    summary: 'A real, growing niche with two weak incumbents; pricing is the open question.',
    agentScores: scores.map((s) => ({
      agentType: s.agentType,
      score: s.average,
      weight: 1 / scores.length,
      status: s.average === null ? 'failed' : 'completed',
    })),
    strengths: ['Underserved segment of independent clinics'],
    risks: [{ title: 'Long sales cycle', severity: 'medium', mitigation: 'Start with a free pilot' }],
    nextSteps: ['Interview ten clinic managers about their scheduling tools'],
    generatedAt: new Date().toISOString(),
  };
}

const FIXED_RESULTS = evaluationResults(null);
const TITLES = ['Clinic scheduler', 'Farm-to-school produce exchange', 'Repair café booking', 'Freight invoice auditor', 'Tutor matching'];
const DESCRIPTION =
  'Independent physiotherapy clinics lose about a tenth of their appointments to late cancellations; a scheduler with deposits fixes that.';

/** claimNext, timed. */
async function claim(driver: Driver, worker: string, inputs: OperationInputs): Promise<Claimed | null> {
  const started = performance.now();
  const claimed = await driver.claimNext!(worker);
  inputs.claimed(performance.now() - started);
  return claimed;
}

/** The evaluation workflow as a worker runs it: claim, 8 agent runs created, each started and completed, scores aggregated, completed. */
async function workflow(driver: Driver, worker: string, inputs: OperationInputs): Promise<boolean> {
  const claimed = await claim(driver, worker, inputs);
  if (!claimed) return false;
  const runs = await driver.createAgentRuns!(claimed.id, AGENT_TYPES);
  let i = 0;
  for (const run of runs) {
    await driver.startAgentRun!(run.id);
    await driver.completeAgentRun!(run.id, completion(40 + ((i++ * 7.25) % 55)));
  }
  const aggregate = await driver.scoreSummary!(claimed.id);
  await driver.completeEvaluation!(claimed, worker, evaluationResults(aggregate));
  return true;
}

const WORKFLOW_NEEDS = ['claimNext', 'createAgentRuns', 'startAgentRun', 'completeAgentRun', 'scoreSummary', 'completeEvaluation'] as const;

/**
 * The same evaluation in 5 statements: claim, the 8 runs created already running for the claim's
 * attempt (one statement), all 8 completed in one statement, scores aggregated, completed. Every
 * agent-run write carries the claim's fencing token (the per-run workflow's are the owner's, unfenced).
 */
async function batchedWorkflow(driver: Driver, worker: string, inputs: OperationInputs): Promise<boolean> {
  const claimed = await claim(driver, worker, inputs);
  if (!claimed) return false;
  const runs = await driver.startAgentRuns!(claimed, worker, AGENT_TYPES);
  await driver.completeAgentRuns!(
    claimed,
    worker,
    runs.map((run, i) => ({ id: run.id, ...completion(40 + ((i * 7.25) % 55)) })),
  );
  const aggregate = await driver.scoreSummary!(claimed.id);
  await driver.completeEvaluation!(claimed, worker, evaluationResults(aggregate));
  return true;
}

const BATCHED_NEEDS = ['claimNext', 'startAgentRuns', 'completeAgentRuns', 'scoreSummary', 'completeEvaluation'] as const;

/** How long a queued run may wait for the worker loop before the window fails. */
const WAKE_UP_TIMEOUT_MS = 10_000;

/**
 * The enqueue-to-start clock: `started` and `finished` are the queue worker's hooks (one worker per
 * window); each call waits for both of its run, so the next run is queued into an idle worker.
 */
const wakeUps = (() => {
  const seen = new Map<string, { started?: number; finished?: boolean }>();
  const waiting = new Map<string, () => void>();
  const note = (id: string, change: { started?: number; finished?: boolean }) => {
    seen.set(id, { ...seen.get(id), ...change });
    if (seen.get(id)!.finished) waiting.get(id)?.();
  };
  return {
    hooks: { started: (id: string) => note(id, { started: performance.now() }), finished: (id: string) => note(id, { finished: true }) },
    /** When `id`'s work started, once it has finished. */
    async startOf(id: string): Promise<number> {
      if (!seen.get(id)?.finished) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => waiting.set(id, resolve)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`evaluation ${id} was not started and completed within ${WAKE_UP_TIMEOUT_MS} ms of its enqueue`)),
              WAKE_UP_TIMEOUT_MS,
            );
          }),
        ]).finally(() => {
          clearTimeout(timer);
          waiting.delete(id);
        });
      }
      const { started } = seen.get(id)!;
      seen.delete(id);
      return started!;
    },
  };
})();

/** The evaluation workflow at a fixed number of concurrent evaluations. */
const workflowAt = (concurrency: 50 | 200 | 500): Operation => ({
  name: `workflow-${concurrency}`,
  label: `evaluation workflow, ${concurrency} concurrent evaluations`,
  unit: 'evaluations',
  needs: WORKFLOW_NEEDS,
  concurrency,
  consumes: 'queue',
  run: workflow,
});

export const OPERATIONS: readonly Operation[] = [
  {
    name: 'point-read',
    label: 'point read of one idea by primary key',
    unit: 'reads',
    needs: ['getIdea'],
    async run(driver, _worker, { fixtures }) {
      const i = Math.floor(Math.random() * fixtures.ideaIds.length);
      await driver.getIdea!(fixtures.ideaIds[i]!, fixtures.ideaOwners[i]!);
      return true;
    },
  },
  {
    name: 'list-page',
    label: "list page: a user's ideas, newest first, 20",
    unit: 'pages',
    needs: ['listIdeas'],
    async run(driver, _worker, { fixtures }) {
      await driver.listIdeas!(random(fixtures.userIds), null);
      return true;
    },
  },
  {
    name: 'insert-idea',
    label: 'idea insert',
    unit: 'inserts',
    needs: ['createIdea'],
    async run(driver, _worker, { fixtures }) {
      await driver.createIdea!(random(fixtures.insertUserIds), random(TITLES), DESCRIPTION);
      return true;
    },
  },
  {
    name: 'complete-agent-run',
    label: 'agent-run completion with 2 KB of JSONB output',
    unit: 'completions',
    needs: ['completeAgentRun'],
    consumes: 'running-runs',
    async run(driver, _worker, inputs) {
      const id = inputs.nextRunningRun();
      if (id === undefined) return false;
      await driver.completeAgentRun!(id, completion(72.5));
      return true;
    },
  },
  {
    name: 'claim-complete',
    label: 'claimNext + completeEvaluation (the queue)',
    unit: 'evaluations',
    needs: ['claimNext', 'completeEvaluation'],
    consumes: 'queue',
    async run(driver, worker, inputs) {
      const claimed = await claim(driver, worker, inputs);
      if (!claimed) return false;
      await driver.completeEvaluation!(claimed, worker, FIXED_RESULTS);
      return true;
    },
  },
  {
    name: 'workflow',
    label: 'evaluation workflow (claim, 8 agent runs created, started, completed, aggregate, complete)',
    unit: 'evaluations',
    needs: WORKFLOW_NEEDS,
    consumes: 'queue',
    run: workflow,
  },
  workflowAt(50),
  workflowAt(200),
  workflowAt(500),
  {
    name: 'workflow-batched',
    label: 'batched evaluation workflow (claim, 8 agent runs created running, all completed at once, aggregate, complete)',
    unit: 'evaluations',
    needs: BATCHED_NEEDS,
    consumes: 'queue',
    run: batchedWorkflow,
  },
  {
    name: 'workflow-batched-200',
    label: 'batched evaluation workflow, 200 concurrent evaluations',
    unit: 'evaluations',
    needs: BATCHED_NEEDS,
    concurrency: 200,
    consumes: 'queue',
    run: batchedWorkflow,
  },
  {
    name: 'enqueue-to-start',
    label: 'enqueue-to-start: createEvaluation until an idle worker loop, woken by NOTIFY, starts the run (then completes it)',
    unit: 'evaluations',
    needs: ['enqueue', 'startQueueWorker'],
    // One run at a time: each is queued into an idle worker, so the figure is the wake-up's.
    concurrency: 1,
    consumes: 'empty-queue',
    around: (driver) => driver.startQueueWorker!('bench-wake-up', FIXED_RESULTS, wakeUps.hooks),
    async run(driver, _worker, inputs) {
      const queuedAt = performance.now();
      const id = await driver.enqueue!(random(inputs.fixtures.evaluableIdeaIds));
      inputs.claimed((await wakeUps.startOf(id)) - queuedAt);
      return true;
    },
  },
  {
    name: 'keyset-page-1',
    label: 'keyset page 1 of a 20,020-idea list',
    unit: 'pages',
    needs: ['listIdeas'],
    async run(driver, _worker, { fixtures }) {
      await driver.listIdeas!(fixtures.keyset.userId, null);
      return true;
    },
  },
  {
    name: 'keyset-page-1000',
    label: 'keyset page 1,000 of the same list',
    unit: 'pages',
    needs: ['listIdeas'],
    async run(driver, _worker, { fixtures }) {
      await driver.listIdeas!(fixtures.keyset.userId, fixtures.keyset.cursor);
      return true;
    },
  },
];
