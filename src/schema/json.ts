/**
 * Shapes of the JSONB payloads. `generated.ts` imports these through the codegen
 * `overrides` in `kysely.config.ts`, so a selected `results`, `inputData`, `outputData` or
 * `insights` column is typed with them. On write the columns take a string: the caller
 * `JSON.stringify`-es the payload (node-postgres would turn a top-level array into a Postgres
 * array literal, not JSON).
 *
 * Rules for these types:
 * - JSON-safe only: no `Date`, `undefined` values, `bigint`, class instances or functions.
 *   Instants are ISO 8601 strings. The assertion at the bottom fails the typecheck otherwise.
 * - Keys are camelCase and stored as written (`CamelCasePlugin` with `maintainNestedObjectKeys`
 *   leaves payload keys alone).
 * - Every payload is an object (the database checks `jsonb_typeof(...) = 'object'`), so fields
 *   can be added later without rewriting rows. New fields must be optional; a change that is not
 *   backwards compatible bumps `version`.
 * - The database does not validate payload shape: the runtime schemas at the bottom of this file
 *   check it (the repositories validate every payload with them on write, and services can use
 *   them to check an agent's output before saving it). They are strict: a key a type does not
 *   declare is refused by name, except inside the open-ended `JsonObject` parts (`details`,
 *   `parameters`, `context`, `metrics`). A compile-time check keeps each schema and its type equal.
 */
import { z } from 'zod';

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null;

/** Any JSON value: for the genuinely open-ended parts of a payload. */
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;

/** A JSON object with unknown keys. */
export type JsonObject = { [key: string]: JsonValue };

/** An ISO 8601 instant with offset, e.g. `2026-11-24T12:00:00.000Z` (`Date#toISOString()`). */
export type IsoDateTime = string;

/** How strongly something weighs: used for risks, insights and findings alike. */
export type Severity = 'low' | 'medium' | 'high';

/**
 * The agents the platform runs today (the seed sets use exactly these). `agent_results.agent_type`
 * is text (lowercase kebab-case), not an enum, because agents are added over time: a new agent
 * works at once under any well-formed name, and adding it here (and to `KNOWN_AGENT_TYPES`, which
 * the typecheck keeps equal to this union) gives it autocomplete; the `(string & {})` keeps that
 * for the known ones while accepting new ones.
 */
export type KnownAgentType =
  | 'market-research'
  | 'competitive-analysis'
  | 'customer-research'
  | 'financial-modeling'
  | 'technical-feasibility'
  | 'regulatory-review'
  | 'go-to-market'
  | 'risk-assessment';
export type AgentType = KnownAgentType | (string & {});

// ---------------------------------------------------------------------------------------------
// evaluations.results
// ---------------------------------------------------------------------------------------------

/** The verdict of an evaluation, best to worst. */
export type Recommendation = 'strong-go' | 'go' | 'pivot' | 'no-go';

/** One agent's contribution to the aggregate score. */
export type AgentScore = {
  agentType: AgentType;
  /** The agent's score, 0 to 100; null when the agent failed and was left out. */
  score: number | null;
  /** Relative weight in `overallScore` (weights of scored agents sum to 1). */
  weight: number;
  /** The agent's final state when the aggregate was computed. */
  status: 'completed' | 'failed';
};

/** A risk to the idea, with what could be done about it. */
export type Risk = {
  title: string;
  description?: string;
  severity: Severity;
  /** How the founder could reduce it. */
  mitigation?: string;
  /** The agent that raised it. */
  source?: AgentType;
};

/**
 * `evaluations.results`: the aggregate of all agent results, written once when the evaluation
 * completes.
 *
 * @example
 * ```ts
 * const results: EvaluationResults = {
 *   version: 1,
 *   overallScore: 72.5,
 *   recommendation: 'go',
 *   confidence: 0.8,
 *   summary: 'A real, growing niche with two weak incumbents; pricing is the open question.',
 *   agentScores: [
 *     { agentType: 'market-research', score: 78, weight: 0.4, status: 'completed' },
 *     { agentType: 'competitive-analysis', score: 65, weight: 0.3, status: 'completed' },
 *     { agentType: 'customer-research', score: 73, weight: 0.3, status: 'completed' },
 *   ],
 *   strengths: ['Underserved segment of independent clinics'],
 *   risks: [{ title: 'Long sales cycle', severity: 'medium', mitigation: 'Start with a free pilot' }],
 *   nextSteps: ['Interview ten clinic managers about their scheduling tools'],
 *   generatedAt: new Date().toISOString(),
 * };
 * await evaluations.completeEvaluation(database.worker, evaluationId, { workerId, results });
 * ```
 */
export type EvaluationResults = {
  /** Payload format version; bumped only by a breaking change. */
  version: 1;
  /** Weighted aggregate of the agent scores, 0 to 100. */
  overallScore: number;
  recommendation: Recommendation;
  /** How sure the aggregate is, 0 to 1 (lower when agents failed or disagreed). */
  confidence: number;
  /** A few sentences for the idea's owner. */
  summary: string;
  /** Per-agent scores, in the order the agents ran. */
  agentScores: AgentScore[];
  strengths: string[];
  risks: Risk[];
  /** Concrete, ordered actions for the founder. */
  nextSteps: string[];
  /** When the aggregate was computed. */
  generatedAt: IsoDateTime;
};

// ---------------------------------------------------------------------------------------------
// agent_results.input_data
// ---------------------------------------------------------------------------------------------

/** The idea as the agent saw it (a snapshot: the idea may be edited later). */
export type IdeaSnapshot = {
  title: string;
  description: string;
  /** Free-form context the user gave (industry, target market, ...). */
  context?: JsonObject;
};

/**
 * `agent_results.input_data`: what the agent was asked to do. Every field is optional because
 * the column defaults to `{}` (a row may be created before its input is assembled).
 */
export type AgentInputData = {
  idea?: IdeaSnapshot;
  /** The model that ran the agent, e.g. `gpt-4.1` or `claude-sonnet-4`. */
  model?: string;
  /** Version of the agent's prompt template, for comparing results across prompt changes. */
  promptVersion?: string;
  /** Agent-specific parameters (regions to research, competitor hints, ...). */
  parameters?: JsonObject;
};

// ---------------------------------------------------------------------------------------------
// agent_results.output_data
// ---------------------------------------------------------------------------------------------

/** Where a finding came from. */
export type Source = {
  title: string;
  url?: string;
  /** When the source was read. */
  retrievedAt?: IsoDateTime;
};

/** One fact or observation the agent reported. */
export type Finding = {
  /** A short machine-friendly label, e.g. `market-size`, `competitor`, `pain-point`. */
  topic: string;
  statement: string;
  /** The agent's confidence in the statement, 0 to 1. */
  confidence?: number;
  /** Indexes into `AgentOutputData.sources`. */
  sourceRefs?: number[];
};

/** Token and time accounting for one agent run. */
export type AgentUsage = {
  inputTokens: number;
  outputTokens: number;
  durationMs: number;
  /** Cost in US dollars, when the provider reports it. */
  costUsd?: number;
};

/** `agent_results.output_data`: the agent's findings, as reported. */
export type AgentOutputData = {
  /** Payload format version; bumped only by a breaking change. */
  version: 1;
  summary: string;
  findings: Finding[];
  sources?: Source[];
  usage?: AgentUsage;
  /** Agent-specific structured output (market sizes, competitor tables, personas, ...). */
  details?: JsonObject;
};

// ---------------------------------------------------------------------------------------------
// agent_results.insights
// ---------------------------------------------------------------------------------------------

/** SWOT-style kinds, plus concrete recommendations. */
export type InsightKind = 'strength' | 'weakness' | 'opportunity' | 'threat' | 'recommendation';

/** One insight distilled from an agent's output. */
export type Insight = {
  kind: InsightKind;
  title: string;
  detail?: string;
  impact?: Severity;
  /** 0 to 1. */
  confidence?: number;
};

/** `agent_results.insights`: what the agent's output means for the idea, ready to display. */
export type AgentInsights = {
  /** Payload format version; bumped only by a breaking change. */
  version: 1;
  items: Insight[];
  /** Headline numbers, e.g. `{ "tamUsd": 1200000000, "competitorCount": 14 }`. */
  metrics?: { [name: string]: number | string };
};

// Compile-time proof that every payload is JSON-safe: a Date, bigint, undefined value or
// readonly array in one of them makes this line fail the typecheck.
type AssertJson<T extends JsonValue> = T;
export type JsonPayloads = [
  AssertJson<EvaluationResults>,
  AssertJson<AgentInputData>,
  AssertJson<AgentOutputData>,
  AssertJson<AgentInsights>,
];

// ---------------------------------------------------------------------------------------------
// Runtime schemas: the same shapes, checked. JSON-level safety (depth, size, cycles, NUL, lone
// surrogates, non-JSON values) is checked separately for the whole payload (validation/json.ts).
// ---------------------------------------------------------------------------------------------

const plainObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  [Object.prototype, null].includes(Object.getPrototypeOf(value) as object);

/** An open-ended JSON object (its content is checked as JSON, not by shape). */
const openObject = z.custom<JsonObject>(plainObject, { error: 'must be a JSON object' });
const text = z.string({ error: 'must be a string' });
const fraction = z.number({ error: 'must be a number' }).min(0, { error: 'must be from 0 to 1' }).max(1, { error: 'must be from 0 to 1' });
const percent = z
  .number({ error: 'must be a number' })
  .min(0, { error: 'must be from 0 to 100' })
  .max(100, { error: 'must be from 0 to 100' });
const count = z.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).min(0, { error: 'must not be negative' });
const isoDateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });
const severity = z.enum(['low', 'medium', 'high'], { error: 'must be low, medium or high' });
/** agent_results_agent_type_format_check: lowercase kebab-case, at most 64 characters; typed `AgentType` so editors offer the known ones. */
export const agentTypeSchema = text.refine((value) => value.length <= 64 && /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(value), {
  error: 'must be lowercase kebab-case (e.g. market-research), at most 64 characters',
}) as z.ZodType<AgentType, AgentType>;

const agentScore = z.strictObject({
  agentType: agentTypeSchema,
  score: percent.nullable(),
  weight: fraction,
  status: z.enum(['completed', 'failed'], { error: 'must be completed or failed' }),
});

const risk = z.strictObject({
  title: text,
  description: text.optional(),
  severity,
  mitigation: text.optional(),
  source: agentTypeSchema.optional(),
});

/** `evaluations.results`, checked: scores 0 to 100, weights and confidence 0 to 1, an ISO 8601 `generatedAt`. */
export const evaluationResultsSchema = z.strictObject({
  version: z.literal(1, { error: 'must be 1' }),
  overallScore: percent,
  recommendation: z.enum(['strong-go', 'go', 'pivot', 'no-go'], { error: 'must be strong-go, go, pivot or no-go' }),
  confidence: fraction,
  summary: text,
  agentScores: z.array(agentScore),
  strengths: z.array(text),
  risks: z.array(risk),
  nextSteps: z.array(text),
  generatedAt: isoDateTime,
});

/** `agent_results.input_data`, checked (every field optional, as the column defaults to `{}`). */
export const agentInputDataSchema = z.strictObject({
  idea: z.strictObject({ title: text, description: text, context: openObject.optional() }).optional(),
  model: text.optional(),
  promptVersion: text.optional(),
  parameters: openObject.optional(),
});

/** `agent_results.output_data`, checked. */
export const agentOutputDataSchema = z.strictObject({
  version: z.literal(1, { error: 'must be 1' }),
  summary: text,
  findings: z.array(
    z.strictObject({ topic: text, statement: text, confidence: fraction.optional(), sourceRefs: z.array(count).optional() }),
  ),
  sources: z.array(z.strictObject({ title: text, url: text.optional(), retrievedAt: isoDateTime.optional() })).optional(),
  usage: z.strictObject({ inputTokens: count, outputTokens: count, durationMs: count, costUsd: z.number().min(0).optional() }).optional(),
  details: openObject.optional(),
});

/** `agent_results.insights`, checked. */
export const agentInsightsSchema = z.strictObject({
  version: z.literal(1, { error: 'must be 1' }),
  items: z.array(
    z.strictObject({
      kind: z.enum(['strength', 'weakness', 'opportunity', 'threat', 'recommendation'], {
        error: 'must be strength, weakness, opportunity, threat or recommendation',
      }),
      title: text,
      detail: text.optional(),
      impact: severity.optional(),
      confidence: fraction.optional(),
    }),
  ),
  metrics: z.record(text, z.union([z.number(), text], { error: 'must be a number or a string' })).optional(),
});

// Compile-time proof that each schema checks exactly its type: adding a field to one and not the
// other fails the typecheck here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Check<T extends true> = T;
export type PayloadSchemasMatchTypes = [
  Check<Same<z.output<typeof evaluationResultsSchema>, EvaluationResults>>,
  Check<Same<z.output<typeof agentInputDataSchema>, AgentInputData>>,
  Check<Same<z.output<typeof agentOutputDataSchema>, AgentOutputData>>,
  Check<Same<z.output<typeof agentInsightsSchema>, AgentInsights>>,
];
