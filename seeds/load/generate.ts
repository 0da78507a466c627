/**
 * The rows of the load set, generated lazily, table by table, in foreign-key order.
 *
 * Every row is a pure function of (seed, table, row index) and the scale: each row draws from its
 * own `Random` forked from the seed, and timestamps count back from the fixed `LOAD_EPOCH`. A
 * child row recomputes what it needs of its parent (id, times, title) from the parent's index
 * instead of remembering it, so memory stays flat at any scale and two runs give identical rows.
 *
 * Rows are arrays of column values in `LoadTable.columns` order: strings, or null for SQL NULL.
 * Timestamps are ISO 8601 (UTC, milliseconds), JSONB columns JSON text, scores two decimals.
 */
import { Random } from '../random.js';
import { DEFAULT_MAX_ATTEMPTS } from '../../src/validation/evaluations.js';
import type { EvaluationResults, IdeaSnapshot, InsightKind, Recommendation } from '../../src/schema/json.js';
import {
  AGENT_ERRORS,
  AGENT_TOPICS,
  AGENT_TYPES,
  EMAIL_DOMAINS,
  EVALUATION_ERRORS,
  FINDING_STATEMENTS,
  FIRST_NAMES,
  INDUSTRIES,
  INSIGHT_TITLES,
  LAST_NAMES,
  MODELS,
  OPENINGS,
  REGION_CODES,
  REGIONS,
  SENTENCES,
  TITLE_PREFIXES,
  WORKERS,
  type Industry,
} from './phrases.js';

/** The data set's "now": every generated timestamp lies before it (leases just after it). */
export const LOAD_EPOCH = Date.UTC(2026, 10, 1);
/** Smallest scale: 5 users, 50 ideas, 100 evaluations, 800 agent results (enough for every status). */
export const MIN_SCALE = 0.005;
/** Largest scale: 160 million agent results. */
export const MAX_SCALE = 1000;
/** Agent results per evaluation: one per agent type. */
export const AGENTS_PER_EVALUATION = AGENT_TYPES.length;

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Rows per table at a scale. */
export interface LoadCounts {
  users: number;
  business_ideas: number;
  evaluations: number;
  agent_results: number;
}

/**
 * Row counts at `scale`: round(1,000 s) users, round(10,000 s) ideas, round(20,000 s)
 * evaluations, and 8 agent results per evaluation.
 *
 * @example
 * ```ts
 * loadCounts(1); // { users: 1000, business_ideas: 10000, evaluations: 20000, agent_results: 160000 }
 * ```
 */
export function loadCounts(scale: number): LoadCounts {
  if (!Number.isFinite(scale) || scale < MIN_SCALE || scale > MAX_SCALE) {
    throw new RangeError(`scale must be a number from ${MIN_SCALE} to ${MAX_SCALE} (got ${scale})`);
  }
  const evaluations = Math.round(20_000 * scale);
  return {
    users: Math.round(1_000 * scale),
    business_ideas: Math.round(10_000 * scale),
    evaluations,
    agent_results: evaluations * AGENTS_PER_EVALUATION,
  };
}

export type LoadTableName = keyof LoadCounts;
/** A generated row: column values in table order; null is SQL NULL. */
export type LoadRow = (string | null)[];

/** One table of the set: its columns in COPY order, its row count, and a fresh row iterator. */
export interface LoadTable {
  name: LoadTableName;
  columns: readonly string[];
  /** Per column: true when its values never need COPY escaping (ids, timestamps, enums, numbers). */
  plain: readonly boolean[];
  count: number;
  rows(): Iterable<LoadRow>;
}

/** What the generator needs besides the scale. */
export interface LoadGeneratorOptions {
  scale: number;
  /** The PRNG seed (the set's seed). */
  seed: string;
  /** Password hashes to hand out to users, round-robin (see `loadPasswordHashes`). */
  passwordHashes: readonly string[];
}

type IdeaStatus = 'draft' | 'submitted' | 'evaluating' | 'completed' | 'archived';
type EvaluationStatus = 'pending' | 'analyzing' | 'completed' | 'failed';
type AgentStatus = 'pending' | 'running' | 'completed' | 'failed';

/** Each block of 20 consecutive ideas holds these statuses in a shuffled order (stratified). */
const IDEA_STATUS_BLOCK: readonly IdeaStatus[] = [
  ...Array<IdeaStatus>(3).fill('draft'),
  ...Array<IdeaStatus>(3).fill('submitted'),
  ...Array<IdeaStatus>(2).fill('evaluating'),
  ...Array<IdeaStatus>(9).fill('completed'),
  ...Array<IdeaStatus>(3).fill('archived'),
];
/** Evaluations every idea of a status has at least, and its share of the remaining ones. */
const EVALUATION_BASE: Record<IdeaStatus, number> = { draft: 0, submitted: 1, evaluating: 1, completed: 1, archived: 0 };
const EVALUATION_WEIGHT: Record<IdeaStatus, number> = { draft: 0, submitted: 0.3, evaluating: 0.6, completed: 1.6, archived: 1 };

interface UserCore {
  id: string;
  createdMs: number;
}

interface IdeaCore {
  index: number;
  id: string;
  userIndex: number;
  status: IdeaStatus;
  industry: Industry;
  audience: string;
  problem: string;
  product: string;
  region: number;
  title: string;
  pitch: string;
  createdMs: number;
  /** 0..100: how good the idea is; agent scores scatter around it. */
  quality: number;
  weight: number;
  random: Random;
}

interface EvaluationCore {
  index: number;
  id: string;
  idea: IdeaCore;
  status: EvaluationStatus;
  createdMs: number;
  startedMs: number | null;
  completedMs: number | null;
  /** analyzing: agents before this index are done, this one runs. */
  doneCount: number;
  /** failed after starting: the agent that failed (-1 when it failed before starting). */
  failedAgent: number;
  /** A failed run that used up its attempts: stored as dead (generated as failed otherwise). */
  dead: boolean;
  random: Random;
}

const iso = (ms: number): string => new Date(Math.floor(ms)).toISOString();
const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The four tables of the load set, parents first. Each `rows()` call starts a fresh,
 * deterministic pass.
 *
 * @example
 * ```ts
 * for (const table of loadTables({ scale: 0.01, seed: 'load', passwordHashes: [hash] })) {
 *   for (const row of table.rows()) console.log(table.name, row[0]);
 * }
 * ```
 */
export function loadTables(options: LoadGeneratorOptions): LoadTable[] {
  const generator = new LoadGenerator(options);
  return [
    {
      name: 'users',
      columns: USER_COLUMNS,
      plain: plainColumns(USER_COLUMNS),
      count: generator.counts.users,
      rows: () => generator.users(),
    },
    {
      name: 'business_ideas',
      columns: IDEA_COLUMNS,
      plain: plainColumns(IDEA_COLUMNS),
      count: generator.counts.business_ideas,
      rows: () => generator.ideas(),
    },
    {
      name: 'evaluations',
      columns: EVALUATION_COLUMNS,
      plain: plainColumns(EVALUATION_COLUMNS),
      count: generator.counts.evaluations,
      rows: () => generator.evaluations(),
    },
    {
      name: 'agent_results',
      columns: AGENT_RESULT_COLUMNS,
      plain: plainColumns(AGENT_RESULT_COLUMNS),
      count: generator.counts.agent_results,
      rows: () => generator.agentResults(),
    },
  ];
}

/** Free text and JSON may hold anything; everything else is generated from a safe alphabet. */
const ESCAPED_COLUMNS = new Set([
  'email',
  'password_hash',
  'name',
  'title',
  'description',
  'results',
  'error_message',
  'claimed_by',
  'input_data',
  'output_data',
  'insights',
]);
const plainColumns = (columns: readonly string[]): boolean[] => columns.map((c) => !ESCAPED_COLUMNS.has(c));

const USER_COLUMNS = ['id', 'email', 'password_hash', 'name', 'created_at', 'updated_at', 'deleted_at'] as const;
const IDEA_COLUMNS = ['id', 'user_id', 'title', 'description', 'status', 'created_at', 'updated_at', 'deleted_at'] as const;
const EVALUATION_COLUMNS = [
  'id',
  'business_idea_id',
  'status',
  'priority',
  'started_at',
  'completed_at',
  'results',
  'error_message',
  'created_at',
  'updated_at',
  'claimed_by',
  'lease_expires_at',
  'attempt',
  'failures',
  'max_attempts',
  'run_after',
] as const;
const AGENT_RESULT_COLUMNS = [
  'id',
  'evaluation_id',
  'agent_type',
  'status',
  'input_data',
  'output_data',
  'insights',
  'score',
  'started_at',
  'completed_at',
  'error_message',
  'created_at',
  'updated_at',
] as const;

class LoadGenerator {
  readonly counts: LoadCounts;
  private readonly seed: string;
  private readonly hashes: readonly string[];
  private totals?: { base: number; weight: number };

  constructor(options: LoadGeneratorOptions) {
    this.counts = loadCounts(options.scale);
    if (options.passwordHashes.length === 0) throw new RangeError('passwordHashes must not be empty');
    this.seed = options.seed;
    this.hashes = options.passwordHashes;
  }

  private random(stream: string, index: number): Random {
    return new Random(`${this.seed}/${stream}/${index}`);
  }

  // users ------------------------------------------------------------------------------------

  private userCore(index: number, random = this.random('user', index)): UserCore {
    const id = random.uuid();
    // Accounts opened over two years, more of them recently.
    const createdMs = LOAD_EPOCH - DAY * 730 * random.next() ** 1.4 - MINUTE * random.int(60, 600);
    return { id, createdMs };
  }

  *users(): Generator<LoadRow> {
    for (let i = 0; i < this.counts.users; i++) {
      const random = this.random('user', i);
      const core = this.userCore(i, random);
      const first = random.pick(FIRST_NAMES);
      const last = random.pick(LAST_NAMES);
      // The index keeps emails unique however the names collide.
      const email = `${first}.${last}.${i + 1}@${random.pick(EMAIL_DOMAINS)}`;
      const updatedMs = random.chance(0.3) ? core.createdMs + (LOAD_EPOCH - core.createdMs) * random.next() : core.createdMs;
      const deletedMs = random.chance(0.02) ? updatedMs + (LOAD_EPOCH - updatedMs) * random.next() : null;
      yield [
        core.id,
        email,
        this.hashes[i % this.hashes.length] as string,
        `${capitalise(first)} ${capitalise(last)}`,
        iso(core.createdMs),
        iso(deletedMs ?? updatedMs),
        deletedMs === null ? null : iso(deletedMs),
      ];
    }
  }

  // business_ideas -----------------------------------------------------------------------------

  private ideaStatus(index: number): IdeaStatus {
    const block = Math.floor(index / IDEA_STATUS_BLOCK.length);
    const order = this.random('idea-block', block).shuffle(IDEA_STATUS_BLOCK);
    return order[index % IDEA_STATUS_BLOCK.length] as IdeaStatus;
  }

  private ideaCore(index: number): IdeaCore {
    const random = this.random('idea', index);
    const id = random.uuid();
    // Skewed: a few users own many ideas, many users own one or none.
    const userIndex = Math.min(this.counts.users - 1, Math.floor(this.counts.users * random.next() ** 1.5));
    const status = this.ideaStatus(index);
    const industry = random.pick(INDUSTRIES);
    const audience = random.pick(industry.audiences);
    const problem = random.pick(industry.problems);
    const product = random.pick(industry.products);
    const region = random.int(0, REGIONS.length - 1);
    const title = `${capitalise(`${random.pick(TITLE_PREFIXES)}${product}`)} for ${audience}`;
    const pitch = capitalise(fill(random.pick(OPENINGS), { a: audience, p: problem, s: product, r: REGIONS[region] as string, n: '' }));
    const user = this.userCore(userIndex);
    const createdMs = user.createdMs + (LOAD_EPOCH - user.createdMs) * random.next();
    const quality = 20 + 70 * random.next();
    const weight = EVALUATION_WEIGHT[status] * (0.4 + 1.2 * random.next());
    return { index, id, userIndex, status, industry, audience, problem, product, region, title, pitch, createdMs, quality, weight, random };
  }

  *ideas(): Generator<LoadRow> {
    for (let j = 0; j < this.counts.business_ideas; j++) {
      const idea = this.ideaCore(j);
      const random = idea.random;
      const description = this.description(idea, random);
      const updatedMs = idea.createdMs + (LOAD_EPOCH - idea.createdMs) * random.next() ** 2;
      const deletedMs = random.chance(0.03) ? updatedMs + (LOAD_EPOCH - updatedMs) * random.next() : null;
      yield [
        idea.id,
        this.userCore(idea.userIndex).id,
        idea.title,
        description,
        idea.status,
        iso(idea.createdMs),
        iso(deletedMs ?? updatedMs),
        deletedMs === null ? null : iso(deletedMs),
      ];
    }
  }

  /** 50..5000 characters: mostly a few paragraphs, sometimes a long essay. */
  private description(idea: IdeaCore, random: Random): string {
    const roll = random.next();
    const target = roll < 0.7 ? random.int(150, 900) : roll < 0.95 ? random.int(900, 2500) : random.int(2500, 4900);
    const slots = { a: idea.audience, p: idea.problem, s: idea.product, r: REGIONS[idea.region] as string };
    let text = idea.pitch;
    let order = random.shuffle(SENTENCES);
    let inParagraph = 1;
    for (let guard = 0; text.length < target && guard < 200; guard++) {
      if (order.length === 0) order = random.shuffle(SENTENCES);
      const sentence = fill(order.pop() as string, { ...slots, n: String(random.int(2, 90) * 5) });
      const separator = inParagraph >= random.int(3, 5) ? '\n\n' : ' ';
      if (text.length + separator.length + sentence.length > 5000) break;
      inParagraph = separator === ' ' ? inParagraph + 1 : 1;
      text += separator + sentence;
    }
    return text;
  }

  // evaluations --------------------------------------------------------------------------------

  /** Sum of base evaluations and of weights over all ideas: a cheap first pass, two numbers kept. */
  private evaluationTotals(): { base: number; weight: number } {
    if (!this.totals) {
      let base = 0;
      let weight = 0;
      for (let j = 0; j < this.counts.business_ideas; j++) {
        const idea = this.ideaCore(j);
        base += EVALUATION_BASE[idea.status];
        weight += idea.weight;
      }
      this.totals = { base, weight };
    }
    return this.totals;
  }

  /**
   * Walks the ideas and hands out exactly `counts.evaluations` evaluations: each idea gets its
   * base count plus its weighted share of the rest (cumulative rounding, so the total is exact).
   */
  private *evaluationCores(): Generator<EvaluationCore> {
    const totals = this.evaluationTotals();
    const extra = this.counts.evaluations - totals.base;
    if (extra < 0 || (extra > 0 && totals.weight === 0))
      throw new RangeError(`cannot spread ${this.counts.evaluations} evaluations over the ideas`);
    let cumulative = 0;
    let handedOut = 0;
    let k = 0;
    for (let j = 0; j < this.counts.business_ideas; j++) {
      const idea = this.ideaCore(j);
      cumulative += idea.weight;
      const upTo = j === this.counts.business_ideas - 1 ? extra : Math.round((extra * cumulative) / totals.weight);
      const count = EVALUATION_BASE[idea.status] + (upTo - handedOut);
      handedOut = upTo;
      for (let m = 0; m < count; m++, k++) yield this.evaluationCore(k, idea, m, count);
    }
  }

  private evaluationCore(index: number, idea: IdeaCore, m: number, count: number): EvaluationCore {
    const random = this.random('evaluation', index);
    const id = random.uuid();
    const latest = m === count - 1;
    let status: EvaluationStatus;
    if (latest && idea.status === 'submitted') status = 'pending';
    else if (latest && idea.status === 'evaluating') status = random.chance(0.75) ? 'analyzing' : 'pending';
    else if (latest && idea.status === 'completed') status = 'completed';
    else status = random.chance(0.6) ? 'completed' : 'failed';

    const life = LOAD_EPOCH - idea.createdMs;
    let createdMs: number;
    let startedMs: number | null = null;
    let completedMs: number | null = null;
    if (status === 'pending' || status === 'analyzing') {
      // The open run is the newest: somewhere in the last tenth of the idea's life (at most two days).
      createdMs = LOAD_EPOCH - Math.min(life * 0.1, 2 * DAY) * random.next() - 1_000;
      if (status === 'analyzing') startedMs = createdMs + (LOAD_EPOCH - createdMs) * 0.5 * random.next();
    } else {
      createdMs = idea.createdMs + (life * (m + 0.8 * random.next())) / count;
      const window = LOAD_EPOCH - createdMs;
      const beforeStart = status === 'failed' && random.chance(0.15);
      if (!beforeStart) startedMs = createdMs + Math.min(10 * MINUTE * random.next(), window * 0.3);
      const from = startedMs ?? createdMs;
      completedMs = from + Math.min(random.int(2, 45) * MINUTE * (0.5 + random.next()), (LOAD_EPOCH - from) * 0.6);
    }
    const doneCount = status === 'analyzing' ? random.int(0, AGENTS_PER_EVALUATION - 1) : 0;
    const failedAgent = status === 'failed' && startedMs !== null ? random.int(0, AGENTS_PER_EVALUATION - 1) : -1;
    // One failed run in five that had started ran out of attempts (by index: the random stream stays as it was).
    const dead = status === 'failed' && startedMs !== null && index % 5 === 0;
    return { index, id, idea, status, createdMs, startedMs, completedMs, doneCount, failedAgent, dead, random };
  }

  *evaluations(): Generator<LoadRow> {
    for (const evaluation of this.evaluationCores()) {
      const random = evaluation.random;
      const priority = random.weighted(['low', 'normal', 'high'] as const, [2, 13, 3]);
      const claimedBy = evaluation.startedMs === null ? null : random.pick(WORKERS);
      let results: string | null = null;
      let errorMessage: string | null = null;
      if (evaluation.status === 'completed') results = JSON.stringify(this.results(evaluation, random));
      if (evaluation.status === 'failed') {
        errorMessage =
          evaluation.failedAgent >= 0
            ? `${AGENT_TYPES[evaluation.failedAgent] as string}: ${random.pick(AGENT_ERRORS)}`
            : random.pick(EVALUATION_ERRORS);
      }
      const leaseMs = evaluation.status === 'analyzing' ? LOAD_EPOCH + random.int(5, 15) * MINUTE : null;
      const updatedMs = evaluation.completedMs ?? evaluation.startedMs ?? evaluation.createdMs;
      const maxAttempts = DEFAULT_MAX_ATTEMPTS[priority];
      const attempt = evaluation.startedMs === null ? 0 : evaluation.dead ? maxAttempts : 1;
      yield [
        evaluation.id,
        evaluation.idea.id,
        evaluation.dead ? 'dead' : evaluation.status,
        priority,
        evaluation.startedMs === null ? null : iso(evaluation.startedMs),
        evaluation.completedMs === null ? null : iso(evaluation.completedMs),
        results,
        errorMessage,
        iso(evaluation.createdMs),
        iso(updatedMs),
        claimedBy,
        leaseMs === null ? null : iso(leaseMs),
        String(attempt),
        String(evaluation.dead ? maxAttempts : 0),
        String(maxAttempts),
        // Due from when it was queued, so the queue serves the load set in creation order.
        iso(evaluation.createdMs),
      ];
    }
  }

  private results(evaluation: EvaluationCore, random: Random): EvaluationResults {
    const plans = AGENT_TYPES.map((_, a) => this.agentPlan(evaluation, a));
    const scored = plans.filter((p) => p.score !== null);
    const weight = scored.length > 0 ? Math.round(10_000 / scored.length) / 10_000 : 0;
    const overall = scored.length > 0 ? scored.reduce((sum, p) => sum + (p.score as number), 0) / scored.length : 0;
    const overallScore = Math.round(overall * 10) / 10;
    const recommendation: Recommendation =
      overallScore >= 75 ? 'strong-go' : overallScore >= 60 ? 'go' : overallScore >= 45 ? 'pivot' : 'no-go';
    const idea = evaluation.idea;
    const failed = plans.length - scored.length;
    return {
      version: 1,
      overallScore,
      recommendation,
      confidence: Math.round((0.55 + 0.4 * random.next() - 0.1 * failed) * 100) / 100,
      summary: `${capitalise(idea.audience)} feel the problem (${idea.problem}); ${recommendation === 'no-go' || recommendation === 'pivot' ? 'willingness to pay is the open question' : 'the case for a focused product is good'}.`,
      agentScores: plans.map((p, a) => ({
        agentType: AGENT_TYPES[a] as string,
        score: p.score,
        weight: p.score === null ? 0 : weight,
        status: p.score === null ? 'failed' : 'completed',
      })),
      strengths: random.sample(INSIGHT_TITLES.strength, 2),
      risks: [
        {
          title: random.pick(INSIGHT_TITLES.threat),
          severity: random.pick(['low', 'medium', 'high'] as const),
          mitigation: random.pick(INSIGHT_TITLES.recommendation),
        },
      ],
      nextSteps: random.sample(INSIGHT_TITLES.recommendation, 2),
      generatedAt: iso(evaluation.completedMs as number),
    };
  }

  // agent_results ------------------------------------------------------------------------------

  /** An agent's status, score and times: drawn first from its own stream, so `results()` agrees. */
  private agentPlan(evaluation: EvaluationCore, a: number) {
    const random = this.random('agent', evaluation.index * AGENTS_PER_EVALUATION + a);
    const id = random.uuid();
    const score =
      Math.round(Math.min(100, Math.max(0, evaluation.idea.quality + (random.next() + random.next() + random.next() - 1.5) * 25)) * 100) /
      100;
    let status: AgentStatus;
    switch (evaluation.status) {
      case 'pending':
        status = 'pending';
        break;
      case 'analyzing':
        status =
          a < evaluation.doneCount
            ? 'completed'
            : a === evaluation.doneCount || (a === evaluation.doneCount + 1 && random.chance(0.5))
              ? 'running'
              : 'pending';
        break;
      case 'completed':
        status = random.chance(0.04) ? 'failed' : 'completed';
        break;
      case 'failed':
        status =
          evaluation.failedAgent < 0 ? 'pending' : a === evaluation.failedAgent ? 'failed' : random.chance(0.6) ? 'completed' : 'pending';
        break;
    }
    let startedMs: number | null = null;
    let completedMs: number | null = null;
    if (status !== 'pending') {
      const from = evaluation.startedMs as number;
      const end = evaluation.completedMs ?? LOAD_EPOCH;
      if (!(status === 'failed' && random.chance(0.2))) startedMs = from + (end - from) * 0.3 * random.next();
      if (status === 'completed' || status === 'failed') {
        const begin = startedMs ?? from;
        completedMs = begin + (end - begin) * (0.3 + 0.7 * random.next());
      }
    }
    return { id, status, score: status === 'completed' ? score : null, startedMs, completedMs, random };
  }

  *agentResults(): Generator<LoadRow> {
    for (const evaluation of this.evaluationCores()) {
      const idea = evaluation.idea;
      const region = JSON.stringify(REGION_CODES[idea.region]);
      // Shared by the evaluation's eight agents: serialised once. The payloads below are built as
      // JSON text directly (every free text goes through JSON.stringify); this is the hot loop of
      // the whole load, and a test parses every payload back.
      const ideaJson = JSON.stringify({
        title: idea.title,
        description: idea.pitch,
        context: { industry: idea.industry.slug, region: REGION_CODES[idea.region] as string },
      } satisfies IdeaSnapshot);
      const createdAt = iso(evaluation.createdMs);
      for (let a = 0; a < AGENTS_PER_EVALUATION; a++) {
        const agentType = AGENT_TYPES[a] as (typeof AGENT_TYPES)[number];
        const plan = this.agentPlan(evaluation, a);
        const random = plan.random;
        const input =
          `{"idea":${ideaJson},"model":${JSON.stringify(random.pick(MODELS))},"promptVersion":"${agentType}@${random.int(2, 4)}",` +
          `"parameters":{"regions":[${region}],"depth":${JSON.stringify(random.pick(DEPTHS))}}}`;
        let output: string | null = null;
        let insights: string | null = null;
        let errorMessage: string | null = null;
        if (plan.status === 'completed') {
          output = this.output(agentType, idea, plan.completedMs as number, random);
          insights = this.insights(plan.score as number, random);
        } else if (plan.status === 'failed') {
          errorMessage = random.pick(AGENT_ERRORS);
        }
        yield [
          plan.id,
          evaluation.id,
          agentType,
          plan.status,
          input,
          output,
          insights,
          plan.score === null ? null : plan.score.toFixed(2),
          plan.startedMs === null ? null : iso(plan.startedMs),
          plan.completedMs === null ? null : iso(plan.completedMs),
          errorMessage,
          createdAt,
          iso(plan.completedMs ?? plan.startedMs ?? evaluation.createdMs),
        ];
      }
    }
  }

  /** `AgentOutputData` as JSON text. */
  private output(agentType: (typeof AGENT_TYPES)[number], idea: IdeaCore, completedMs: number, random: Random): string {
    const slots = {
      a: idea.audience,
      p: idea.problem,
      s: idea.product,
      r: REGIONS[idea.region] as string,
      n: String(random.int(4, 60) * 5),
      m: String(random.int(3, 24)),
      I: capitalise(random.pick(idea.industry.incumbents)),
    };
    const topics = AGENT_TOPICS[agentType];
    const statements = random.sample(FINDING_STATEMENTS, random.int(1, 3)).map((statement) => fill(statement, slots));
    let findings = '';
    for (let i = 0; i < statements.length; i++) {
      findings +=
        `${i === 0 ? '' : ','}{"topic":"${topics[i % topics.length] as string}","statement":${JSON.stringify(statements[i])},` +
        `"confidence":${Math.round((0.4 + 0.55 * random.next()) * 100) / 100},"sourceRefs":[0]}`;
    }
    const inputTokens = random.int(1_500, 9_000);
    const outputTokens = random.int(300, 2_500);
    const summary = `${AGENT_LABELS[agentType]}: ${statements[0] ?? ''}`;
    const source =
      `{"title":${JSON.stringify(`${idea.industry.label} survey, ${REGIONS[idea.region] as string}`)},` +
      `"url":"https://example.com/sources/${idea.industry.slug}/${random.int(1, 999)}","retrievedAt":"${iso(completedMs - random.int(1, 30) * MINUTE)}"}`;
    const usage =
      `{"inputTokens":${inputTokens},"outputTokens":${outputTokens},"durationMs":${random.int(8_000, 95_000)},` +
      `"costUsd":${Math.round((inputTokens * 3 + outputTokens * 15) / 10_000) / 100}}`;
    const details = `{"industry":"${idea.industry.slug}","currency":"${random.pick(CURRENCIES)}","estimateUsd":${random.int(1, 500) * 100_000}}`;
    return `{"version":1,"summary":${JSON.stringify(summary)},"findings":[${findings}],"sources":[${source}],"usage":${usage},"details":${details}}`;
  }

  /** `AgentInsights` as JSON text. */
  private insights(score: number, random: Random): string {
    const kinds = score >= 60 ? POSITIVE_KINDS : NEGATIVE_KINDS;
    let items = '';
    for (const kind of random.sample(kinds, random.int(1, 3))) {
      items +=
        `${items === '' ? '' : ','}{"kind":"${kind}","title":${JSON.stringify(random.pick(INSIGHT_TITLES[kind]))},` +
        `"impact":"${random.pick(SEVERITIES)}","confidence":${Math.round((0.4 + 0.55 * random.next()) * 100) / 100}}`;
    }
    return `{"version":1,"items":[${items}],"metrics":{"score":${score}}}`;
  }
}

const DEPTHS = ['quick', 'standard', 'deep'] as const;
const CURRENCIES = ['USD', 'EUR', 'GBP'] as const;
const SEVERITIES = ['low', 'medium', 'high'] as const;
const POSITIVE_KINDS = ['strength', 'opportunity', 'recommendation'] as const satisfies readonly InsightKind[];
const NEGATIVE_KINDS = ['weakness', 'threat', 'recommendation'] as const satisfies readonly InsightKind[];
const AGENT_LABELS = Object.fromEntries(AGENT_TYPES.map((t) => [t, capitalise(t.replaceAll('-', ' '))])) as Record<
  (typeof AGENT_TYPES)[number],
  string
>;

/** Replaces `{x}` placeholders; `{A}` is `{a}` capitalised, `{S}` is `{s}` with its article. */
function fill(template: string, slots: Record<string, string>): string {
  return template.replace(/\{([a-zA-Z])\}/g, (_, key: string) => {
    if (key === 'A') return capitalise(slots.a ?? '');
    if (key === 'S') return `${/^[aeiou]/i.test(slots.s ?? '') ? 'an' : 'a'} ${slots.s ?? ''}`;
    return slots[key] ?? '';
  });
}
