/**
 * Input schemas for the evaluations repository. They mirror the CHECK constraints on
 * `evaluations` (migrations/20261124120100_add_indexes_and_constraints.sql and
 * 20261125090100_evaluation_leases_and_agent_result_indexes.sql), so the constraints are the second line.
 */
import { z } from 'zod';
import { evaluationResultsSchema } from '../schema/json.js';
import type { EvaluationPriority, EvaluationStatus } from '../schema/generated.js';
import { boundedText, enumLabels, fitsText, id, idempotencyKey, isId, isInput, limit, withFastPath } from './common.js';
import { isPayload, payload } from './json.js';
import { cursor } from './cursor.js';

/** Every evaluation status, in the enum's order. */
export const EVALUATION_STATUSES = enumLabels<EvaluationStatus>()(['pending', 'analyzing', 'completed', 'failed', 'dead']);
/** Every priority, lowest first (the work queue serves high first). */
export const EVALUATION_PRIORITIES = enumLabels<EvaluationPriority>()(['low', 'normal', 'high']);

export const evaluationStatus = z.enum(EVALUATION_STATUSES, { error: `must be one of ${EVALUATION_STATUSES.join(', ')}` });
export const evaluationPriority = z.enum(EVALUATION_PRIORITIES, { error: `must be one of ${EVALUATION_PRIORITIES.join(', ')}` });

/** The lease a claim gets when none is asked for: five minutes. */
export const DEFAULT_LEASE_SECONDS = 300;
/** The longest lease: one day. A worker that needs longer renews. */
export const MAX_LEASE_SECONDS = 86_400;

/** evaluations_claimed_by_format_check: 1 to 200 characters, not counting surrounding spaces. */
export const workerId = boundedText(1, 200);

/** A lease length in whole seconds, 1 to 86400. */
export const leaseSeconds = z
  .number({ error: 'must be a number of seconds' })
  .int({ error: 'must be a whole number of seconds' })
  .min(1, { error: 'must be at least 1 second' })
  .max(MAX_LEASE_SECONDS, { error: `must be at most ${MAX_LEASE_SECONDS} seconds (renew the lease instead)` });

/** Why a run failed. No CHECK in the table; bounded here so a stack dump cannot grow without limit. */
export const errorMessage = boundedText(1, 10_000);

/** The retry budget a run gets when none is asked for, by priority (`max_attempts`). */
export const DEFAULT_MAX_ATTEMPTS: Readonly<Record<EvaluationPriority, number>> = { low: 3, normal: 5, high: 8 };
/** The largest retry budget (evaluations_max_attempts_range_check). */
export const MAX_MAX_ATTEMPTS = 100;
/** The first retry's backoff: a run failed for the first time waits 5 to 10 seconds. */
export const RETRY_BACKOFF_BASE_SECONDS = 10;
/** The longest backoff, however many times the run failed: 30 minutes to an hour. */
export const RETRY_BACKOFF_CAP_SECONDS = 3600;

/** evaluations_max_attempts_range_check: 1 to 100 attempts. */
export const maxAttempts = z
  .number({ error: 'must be a number of attempts' })
  .int({ error: 'must be a whole number of attempts' })
  .min(1, { error: 'must be at least 1 attempt' })
  .max(MAX_MAX_ATTEMPTS, { error: `must be at most ${MAX_MAX_ATTEMPTS} attempts` });

/** An attempt number, as claimNext returned it (`evaluation.attempt`): a non-negative int4. */
export const attempt = z
  .number({ error: 'must be the attempt number the claim returned' })
  .int({ error: 'must be a whole number' })
  .min(0, { error: 'must be at least 0' })
  .max(2_147_483_647, { error: 'must be at most 2147483647' });

/** The fencing token of a worker's write: the worker and the attempt its claim started. */
export const fencingToken = { workerId, attempt };

/** An optional fencing token: both fields or neither (neither is an owner's or operator's write). */
export const optionalToken = { workerId: workerId.optional(), attempt: attempt.optional() };

/** Whether `workerId` and `attempt` are an optional token `optionalToken` and `bothOrNeither` accept: both valid, or both absent. */
export function isOptionalToken(workerId: unknown, attempt: unknown): boolean {
  if (workerId === undefined && attempt === undefined) return true;
  return fitsText(workerId, 1, 200) && isAttempt(attempt);
}

/** Whether `value` is an attempt number `attempt` accepts (zod's int() is a safe integer). */
function isAttempt(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 2_147_483_647;
}

/** Refuses half a token, naming the missing field. */
export function bothOrNeither(value: { workerId?: unknown; attempt?: unknown }, ctx: z.RefinementCtx): void {
  if (value.workerId !== undefined && value.attempt === undefined)
    ctx.addIssue({ code: 'custom', path: ['attempt'], message: 'is required with workerId (the attempt the claim returned)' });
  if (value.attempt !== undefined && value.workerId === undefined)
    ctx.addIssue({ code: 'custom', path: ['workerId'], message: 'is required with attempt' });
}

/** `createEvaluation` input. `maxAttempts` defaults by priority (DEFAULT_MAX_ATTEMPTS). */
export const createEvaluationSchema = z.strictObject({
  businessIdeaId: id,
  priority: evaluationPriority.default('normal'),
  maxAttempts: maxAttempts.optional(),
  idempotencyKey: idempotencyKey().optional(),
});

/** `listEvaluationsByIdea` input. */
export const listEvaluationsByIdeaSchema = z.strictObject({ businessIdeaId: id, limit, cursor: cursor.optional() });

/** `listEvaluationsByStatus` input. */
export const listEvaluationsByStatusSchema = z.strictObject({ status: evaluationStatus, limit, cursor: cursor.optional() });

/** `claimNext` input. */
export const claimNextSchema = withFastPath(
  z.strictObject({ workerId, leaseSeconds: leaseSeconds.default(DEFAULT_LEASE_SECONDS) }),
  (input) => {
    if (!isInput(input, CLAIM_KEYS) || !fitsText(input.workerId, 1, 200)) return undefined;
    const lease = input.leaseSeconds === undefined ? DEFAULT_LEASE_SECONDS : input.leaseSeconds;
    if (!Number.isSafeInteger(lease) || (lease as number) < 1 || (lease as number) > MAX_LEASE_SECONDS) return undefined;
    return { workerId: input.workerId, leaseSeconds: lease as number };
  },
);
const CLAIM_KEYS = new Set(['workerId', 'leaseSeconds']);

/** `completeEvaluation` input. With a token (`workerId` and `attempt`), only that attempt of that worker may complete. */
export const completeEvaluationSchema = z
  .strictObject({ id, results: payload(evaluationResultsSchema), ...optionalToken })
  .superRefine(bothOrNeither);
withFastPath(completeEvaluationSchema, (input) =>
  isInput(input, COMPLETION_KEYS) &&
  isId(input.id) &&
  isPayload(input.results, evaluationResultsSchema) &&
  isOptionalToken(input.workerId, input.attempt)
    ? (input as z.output<typeof completeEvaluationSchema>)
    : undefined,
);
const COMPLETION_KEYS = new Set(['id', 'results', 'workerId', 'attempt']);

/** `failEvaluation` input. With a token, the worker's failure is retried by policy; without, an operator ends the run. */
export const failEvaluationSchema = z.strictObject({ id, errorMessage, ...optionalToken }).superRefine(bothOrNeither);

/** `renewLease` input. */
export const renewLeaseSchema = z.strictObject({ id, ...fencingToken, leaseSeconds: leaseSeconds.default(DEFAULT_LEASE_SECONDS) });

/** `releaseLease` input. */
export const releaseLeaseSchema = z.strictObject({ id, ...fencingToken });

/** `retryEvaluation` input: optionally a new retry budget. */
export const retryEvaluationSchema = z.strictObject({ id, maxAttempts: maxAttempts.optional() });

/** What `createEvaluation` accepts besides the idea id. */
export type CreateEvaluationInput = Omit<z.input<typeof createEvaluationSchema>, 'businessIdeaId'>;
/** What `listEvaluationsByIdea` and `listEvaluationsByStatus` accept. */
export type ListEvaluationsInput = Omit<z.input<typeof listEvaluationsByIdeaSchema>, 'businessIdeaId'>;
/** What `claimNext` accepts besides the worker id. */
export type ClaimNextInput = Omit<z.input<typeof claimNextSchema>, 'workerId'>;
/** What `completeEvaluation` accepts besides the evaluation id. */
export type CompleteEvaluationInput = Omit<z.input<typeof completeEvaluationSchema>, 'id'>;
/** What `failEvaluation` accepts besides the evaluation id. */
export type FailEvaluationInput = Omit<z.input<typeof failEvaluationSchema>, 'id'>;
/** What `renewLease` accepts besides the evaluation id. */
export type RenewLeaseInput = Omit<z.input<typeof renewLeaseSchema>, 'id'>;
/** What `releaseLease` accepts besides the evaluation id. */
export type ReleaseLeaseInput = Omit<z.input<typeof releaseLeaseSchema>, 'id'>;
/** What `retryEvaluation` accepts besides the evaluation id. */
export type RetryEvaluationInput = Omit<z.input<typeof retryEvaluationSchema>, 'id'>;
/** A worker's fencing token: the worker and the attempt its claim returned (`evaluation.attempt`). */
export interface FencingToken {
  workerId: string;
  attempt: number;
}
