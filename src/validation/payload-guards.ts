/**
 * Hand-written checks of the JSONB payload shapes (src/schema/json.ts) for the common case, a
 * payload that is already well-typed: a guard only answers yes or no, allocates nothing and
 * builds no error, where zod's parse builds a copy of the payload and throws it away (payload()
 * stores the value as given). Only a payload a guard refuses is parsed by zod, which says why; so a
 * guard must never accept what its schema refuses, and test/unit/validation.fast-paths.test.ts
 * proves on random payloads that each accepts exactly what its schema accepts. A guard is asked
 * only about a value `jsonProblems` found storable (plain objects and arrays, finite numbers, no
 * undefined), which it may take for granted.
 */
import { z } from 'zod';
import { agentInputDataSchema, agentInsightsSchema, agentOutputDataSchema, evaluationResultsSchema } from '../schema/json.js';

type Guard = (value: unknown) => boolean;
type Fields = Record<string, unknown>;

/** A plain object (its prototype Object.prototype or null), as the schemas' open-ended parts require. */
function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** A plain object with no key but `allowed` (a strict object's unknown key is refused by name). */
function strictObject(value: unknown, allowed: ReadonlySet<string>): value is Fields {
  if (!isPlainObject(value)) return false;
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

const keys = (...names: string[]): ReadonlySet<string> => new Set(names);
const isText = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isFraction = (value: unknown): boolean => isNumber(value) && value >= 0 && value <= 1;
const isPercent = (value: unknown): boolean => isNumber(value) && value >= 0 && value <= 100;
// zod's int() is a safe integer.
const isCount = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;
const isSeverity = (value: unknown): boolean => value === 'low' || value === 'medium' || value === 'high';
const AGENT_TYPE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const isAgentType = (value: unknown): boolean => isText(value) && value.length <= 64 && AGENT_TYPE.test(value);
const ISO_DATE_TIME = z.regexes.datetime({ offset: true });
const isIsoDateTime = (value: unknown): boolean => isText(value) && ISO_DATE_TIME.test(value);
const optional =
  (check: Guard): Guard =>
  (value) =>
    value === undefined || check(value);

function arrayOf(value: unknown, item: Guard): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (!item(value[i])) return false;
  return true;
}

// --- evaluations.results

const AGENT_SCORE = keys('agentType', 'score', 'weight', 'status');
const isAgentScore = (v: unknown): boolean =>
  strictObject(v, AGENT_SCORE) &&
  isAgentType(v.agentType) &&
  (v.score === null || isPercent(v.score)) &&
  isFraction(v.weight) &&
  (v.status === 'completed' || v.status === 'failed');

const RISK = keys('title', 'description', 'severity', 'mitigation', 'source');
const optionalText = optional(isText);
const optionalAgentType = optional(isAgentType);
const isRisk = (v: unknown): boolean =>
  strictObject(v, RISK) &&
  isText(v.title) &&
  optionalText(v.description) &&
  isSeverity(v.severity) &&
  optionalText(v.mitigation) &&
  optionalAgentType(v.source);

const RESULTS = keys(
  'version',
  'overallScore',
  'recommendation',
  'confidence',
  'summary',
  'agentScores',
  'strengths',
  'risks',
  'nextSteps',
  'generatedAt',
);
const RECOMMENDATIONS = keys('strong-go', 'go', 'pivot', 'no-go');
const isEvaluationResults = (v: unknown): boolean =>
  strictObject(v, RESULTS) &&
  v.version === 1 &&
  isPercent(v.overallScore) &&
  isText(v.recommendation) &&
  RECOMMENDATIONS.has(v.recommendation) &&
  isFraction(v.confidence) &&
  isText(v.summary) &&
  arrayOf(v.agentScores, isAgentScore) &&
  arrayOf(v.strengths, isText) &&
  arrayOf(v.risks, isRisk) &&
  arrayOf(v.nextSteps, isText) &&
  isIsoDateTime(v.generatedAt);

// --- agent_results.input_data

const IDEA = keys('title', 'description', 'context');
const optionalOpenObject = optional(isPlainObject);
const isIdeaSnapshot = (v: unknown): boolean =>
  strictObject(v, IDEA) && isText(v.title) && isText(v.description) && optionalOpenObject(v.context);

const INPUT = keys('idea', 'model', 'promptVersion', 'parameters');
const optionalIdea = optional(isIdeaSnapshot);
const isAgentInputData = (v: unknown): boolean =>
  strictObject(v, INPUT) &&
  optionalIdea(v.idea) &&
  optionalText(v.model) &&
  optionalText(v.promptVersion) &&
  optionalOpenObject(v.parameters);

// --- agent_results.output_data

const FINDING = keys('topic', 'statement', 'confidence', 'sourceRefs');
const optionalFraction = optional(isFraction);
const isFinding = (v: unknown): boolean =>
  strictObject(v, FINDING) &&
  isText(v.topic) &&
  isText(v.statement) &&
  optionalFraction(v.confidence) &&
  (v.sourceRefs === undefined || arrayOf(v.sourceRefs, isCount));

const SOURCE = keys('title', 'url', 'retrievedAt');
const optionalIsoDateTime = optional(isIsoDateTime);
const isSource = (v: unknown): boolean =>
  strictObject(v, SOURCE) && isText(v.title) && optionalText(v.url) && optionalIsoDateTime(v.retrievedAt);

const USAGE = keys('inputTokens', 'outputTokens', 'durationMs', 'costUsd');
const isUsage = (v: unknown): boolean =>
  strictObject(v, USAGE) &&
  isCount(v.inputTokens) &&
  isCount(v.outputTokens) &&
  isCount(v.durationMs) &&
  (v.costUsd === undefined || (isNumber(v.costUsd) && v.costUsd >= 0));

const OUTPUT = keys('version', 'summary', 'findings', 'sources', 'usage', 'details');
const optionalUsage = optional(isUsage);
const isAgentOutputData = (v: unknown): boolean =>
  strictObject(v, OUTPUT) &&
  v.version === 1 &&
  isText(v.summary) &&
  arrayOf(v.findings, isFinding) &&
  (v.sources === undefined || arrayOf(v.sources, isSource)) &&
  optionalUsage(v.usage) &&
  optionalOpenObject(v.details);

// --- agent_results.insights

const INSIGHT = keys('kind', 'title', 'detail', 'impact', 'confidence');
const INSIGHT_KINDS = keys('strength', 'weakness', 'opportunity', 'threat', 'recommendation');
const optionalSeverity = optional(isSeverity);
const isInsight = (v: unknown): boolean =>
  strictObject(v, INSIGHT) &&
  isText(v.kind) &&
  INSIGHT_KINDS.has(v.kind) &&
  isText(v.title) &&
  optionalText(v.detail) &&
  optionalSeverity(v.impact) &&
  optionalFraction(v.confidence);

function isMetrics(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  for (const key in v) {
    // zod's record passes an own __proto__ key over unchecked (jsonProblems has checked it is JSON).
    if (key === '__proto__') continue;
    const value = v[key];
    if (!isText(value) && !isNumber(value)) return false;
  }
  return true;
}

const INSIGHTS = keys('version', 'items', 'metrics');
const isAgentInsights = (v: unknown): boolean =>
  strictObject(v, INSIGHTS) && v.version === 1 && arrayOf(v.items, isInsight) && (v.metrics === undefined || isMetrics(v.metrics));

/** Each payload schema's guard. */
const guards = new Map<z.ZodType, Guard>([
  [evaluationResultsSchema, isEvaluationResults],
  [agentInputDataSchema, isAgentInputData],
  [agentOutputDataSchema, isAgentOutputData],
  [agentInsightsSchema, isAgentInsights],
]);

/**
 * The guard of a payload schema of src/schema/json.ts, or undefined for any other schema (which
 * zod alone checks).
 *
 * @example
 * ```ts
 * const quick = shapeGuard(agentOutputDataSchema);
 * const fits = quick?.(output) || agentOutputDataSchema.safeParse(output).success;
 * ```
 */
export function shapeGuard(schema: z.ZodType): Guard | undefined {
  return guards.get(schema);
}
