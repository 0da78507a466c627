/**
 * Input schemas for the agent results repository. They mirror the CHECK constraints on
 * `agent_results` (migrations/20261124120100_add_indexes_and_constraints.sql): the agent type's
 * format, the score's range, JSON objects for the payloads.
 */
import { z } from 'zod';
import { agentInputDataSchema, agentInsightsSchema, agentOutputDataSchema, agentTypeSchema, type KnownAgentType } from '../schema/json.js';
import {
  charLength,
  enumLabels,
  fitsText,
  hasLoneSurrogate,
  id,
  IDEMPOTENCY_KEY_LENGTH,
  idempotencyKey,
  isId,
  isInput,
  limit,
  withFastPath,
} from './common.js';
import { cursor, keyCursor } from './cursor.js';
import { bothOrNeither, errorMessage, isOptionalToken, optionalToken } from './evaluations.js';
import { isPayload, jsonObject, payload } from './json.js';

/**
 * The agents the platform runs today. Not exhaustive: any lowercase kebab-case name is a valid
 * agent type, so a new agent needs neither a migration nor a release of this library.
 */
export const KNOWN_AGENT_TYPES = enumLabels<KnownAgentType>()([
  'market-research',
  'competitive-analysis',
  'customer-research',
  'financial-modeling',
  'technical-feasibility',
  'regulatory-review',
  'go-to-market',
  'risk-assessment',
]);

/** An agent type (the payloads' own schema, as agent_results_agent_type_format_check: lowercase kebab-case, at most 64 characters). */
export const agentType = agentTypeSchema;

/** agent_results_score_range_check and numeric(5, 2): 0 to 100 with at most two decimals (never rounded silently). */
export const score = z
  .number({ error: 'must be a number' })
  .refine(Number.isFinite, { error: 'must be a finite number' })
  .refine((value) => value >= 0 && value <= 100, { error: 'must be from 0 to 100' })
  .refine((value) => Math.round(value * 100) / 100 === value, { error: 'must have at most two decimals' });

/** One agent run to create: its type alone, or its type and what it is given. */
export const agentRunSpec = z.union([agentType, z.strictObject({ agentType, inputData: payload(agentInputDataSchema).optional() })], {
  error: 'must be an agent type or { agentType, inputData }',
});

/** The most agent runs one evaluation may be given in one call. */
export const MAX_AGENT_RUNS = 50;

/**
 * `createAgentRuns` input: at least one run, each agent type once; `start` creates them running.
 * With a token (`workerId`, `attempt`) the runs are written for that attempt and take over the
 * runs of earlier attempts; `rerunCompleted` (only with a token) takes over completed ones too.
 */
export const createAgentRunsSchema = z
  .strictObject({
    evaluationId: id,
    start: z.boolean({ error: 'must be true or false' }).optional(),
    ...optionalToken,
    rerunCompleted: z.boolean({ error: 'must be true or false' }).optional(),
    runs: z
      .array(agentRunSpec)
      .min(1, { error: 'must list at least one agent run' })
      .max(MAX_AGENT_RUNS, { error: `must list at most ${MAX_AGENT_RUNS} agent runs` }),
  })
  .superRefine((value, ctx) => {
    bothOrNeither(value, ctx);
    if (value.rerunCompleted !== undefined && value.attempt === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['rerunCompleted'],
        message: 'needs a token (workerId and attempt): only a new attempt re-runs',
      });
    const seen = new Set<string>();
    value.runs.forEach((run, index) => {
      const type = typeof run === 'string' ? run : run.agentType;
      if (seen.has(type)) ctx.addIssue({ code: 'custom', path: ['runs', index], message: 'repeats an agent type listed before it' });
      seen.add(type);
    });
  });

/** `listAgentResults` input: an evaluation's agent results, by agent type, a page at a time. */
export const listAgentResultsSchema = z.strictObject({ evaluationId: id, limit, cursor: keyCursor(agentType).optional() });

/** One completion of `completeAgentRuns`: a run's id, its output (required), insights and score (optional). */
export const agentRunCompletion = z.strictObject({
  id,
  outputData: payload(agentOutputDataSchema),
  insights: payload(agentInsightsSchema).nullable().optional(),
  score: score.nullable().optional(),
  idempotencyKey: idempotencyKey().optional(),
});

/** Whether `value` is a score `score` accepts. */
const isScore = (value: unknown): boolean =>
  typeof value === 'number' && value >= 0 && value <= 100 && Math.round(value * 100) / 100 === value;

/** `completeAgentRun` input: a completion, with the worker's token (or none, for an owner's write). */
export const completeAgentRunSchema = agentRunCompletion.extend(optionalToken).superRefine(bothOrNeither);
withFastPath(completeAgentRunSchema, (input) =>
  isInput(input, COMPLETION_KEYS) &&
  isId(input.id) &&
  isPayload(input.outputData, agentOutputDataSchema) &&
  (input.insights == null || isPayload(input.insights, agentInsightsSchema)) &&
  (input.score == null || isScore(input.score)) &&
  (input.idempotencyKey === undefined || fitsText(input.idempotencyKey, IDEMPOTENCY_KEY_LENGTH.min, IDEMPOTENCY_KEY_LENGTH.max)) &&
  isOptionalToken(input.workerId, input.attempt)
    ? (input as z.output<typeof completeAgentRunSchema>)
    : undefined,
);
const COMPLETION_KEYS = new Set(['id', 'outputData', 'insights', 'score', 'idempotencyKey', 'workerId', 'attempt']);

/** `completeAgentRuns` input: at least one completion, at most MAX_AGENT_RUNS, each run once; one token for all. */
export const completeAgentRunsSchema = z
  .strictObject({
    completions: z
      .array(agentRunCompletion)
      .min(1, { error: 'must list at least one completion' })
      .max(MAX_AGENT_RUNS, { error: `must list at most ${MAX_AGENT_RUNS} completions` })
      .superRefine((completions, ctx) => {
        const seen = new Set<string>();
        completions.forEach((completion, index) => {
          if (seen.has(completion.id))
            ctx.addIssue({ code: 'custom', path: [index, 'id'], message: 'repeats an agent result listed before it' });
          seen.add(completion.id);
        });
      }),
    ...optionalToken,
  })
  .superRefine(bothOrNeither);

/** `startAgentRun` input: the worker's token, or none (an owner's write). */
export const startAgentRunSchema = z.strictObject({ id, ...optionalToken }).superRefine(bothOrNeither);

/** `failAgentRun` input. */
export const failAgentRunSchema = z.strictObject({ id, errorMessage, ...optionalToken }).superRefine(bothOrNeither);

/** Text inside a JSON query: what jsonpath and jsonb can carry (no NUL, no lone surrogate). */
const jsonText = (max: number) =>
  z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
    if (value.includes('\u0000')) ctx.addIssue({ code: 'custom', message: 'must not contain the NUL character (\\u0000)' });
    if (hasLoneSurrogate(value)) ctx.addIssue({ code: 'custom', message: 'must be well-formed Unicode (no lone surrogate)' });
    if (charLength(value) > max) ctx.addIssue({ code: 'custom', message: `must be at most ${max} characters` });
  });

/** Filters shared by the JSONB finders. */
const finderFilters = {
  evaluationId: id.optional(),
  agentType: agentType.optional(),
  limit,
  cursor: cursor.optional(),
};

/** `findAgentResultsByInsights` input: `contains` is matched with `insights @> contains`. */
export const findByInsightsSchema = z.strictObject({
  contains: jsonObject(16 * 1024).refine((value) => Object.keys(value).length > 0, { error: 'must name at least one key' }),
  ...finderFilters,
});

/**
 * `findAgentResultsByOutput` input: the value at `path` in output_data equals `equals`. Arrays on
 * the way are searched element by element (jsonpath lax mode), so `['findings', 'topic']` finds
 * any finding with that topic.
 */
export const findByOutputSchema = z.strictObject({
  path: z
    .array(jsonText(200).refine((key) => key !== '', { error: 'must not be empty' }))
    .min(1, { error: 'must name at least one key' })
    .max(16, { error: 'must be at most 16 keys deep' }),
  equals: z.union([jsonText(1000), z.number().refine(Number.isFinite, { error: 'must be a finite number' }), z.boolean(), z.null()], {
    error: 'must be a string, a finite number, a boolean or null',
  }),
  ...finderFilters,
});

/** What `createAgentRuns` accepts as its runs. */
export type AgentRunSpec = z.input<typeof agentRunSpec>;
/** `createAgentRuns`'s options: `start`, and a worker's token with `rerunCompleted`. */
export type CreateAgentRunsOptions = Pick<z.input<typeof createAgentRunsSchema>, 'start' | 'workerId' | 'attempt' | 'rerunCompleted'>;
/** `startAgentRun`'s and `completeAgentRuns`' token: `{ workerId, attempt }`, or nothing for an owner's write. */
export type AgentRunToken = Omit<z.input<typeof startAgentRunSchema>, 'id'>;
/** One completion `completeAgentRuns` accepts: the run's id and what `completeAgentRun` accepts. */
export type AgentRunCompletion = z.input<typeof agentRunCompletion>;
/** What `listAgentResults` accepts besides the evaluation id. */
export type ListAgentResultsInput = Omit<z.input<typeof listAgentResultsSchema>, 'evaluationId'>;
/** What `completeAgentRun` accepts besides the agent result id. */
export type CompleteAgentRunInput = Omit<z.input<typeof completeAgentRunSchema>, 'id'>;
/** What `failAgentRun` accepts besides the agent result id. */
export type FailAgentRunInput = Omit<z.input<typeof failAgentRunSchema>, 'id'>;
/** What `findAgentResultsByInsights` accepts. */
export type FindByInsightsInput = z.input<typeof findByInsightsSchema>;
/** What `findAgentResultsByOutput` accepts. */
export type FindByOutputInput = z.input<typeof findByOutputSchema>;
