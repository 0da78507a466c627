/**
 * A claim's lease as the worker loop carries it: the run, and the token every write made for the
 * run must carry. Everything a claim's token flows into is built here, once per claim, so the
 * token can grow (an attempt number as a fencing token) without touching the loop.
 */
import { InvalidTransitionError, NotFoundError } from '../errors.js';
import type { Evaluation } from '../repositories/evaluations.js';

/**
 * The token of a claim: spread it into every write made for the run (`renewLease`,
 * `releaseLease`, `completeEvaluation`, `failEvaluation`, and the agent runs' writes), so that a
 * write from a worker that no longer holds the run is refused.
 */
export interface LeaseToken {
  /** The worker that claimed the run. */
  readonly workerId: string;
}

/** A claimed run and its token. */
export interface Lease {
  /** The evaluation's id. */
  readonly id: string;
  /** Spread into every write for the run: `{ ...lease.token, results }`. */
  readonly token: LeaseToken;
}

/**
 * The lease of `evaluation`, just claimed by `workerId`.
 *
 * @example
 * ```ts
 * const lease = leaseOf(await evaluations.claimNext(database.worker, workerId), workerId);
 * await evaluations.completeEvaluation(database.worker, lease.id, { ...lease.token, results });
 * ```
 */
export function leaseOf(evaluation: Evaluation, workerId: string): Lease {
  return { id: evaluation.id, token: { workerId } };
}

/**
 * Whether a refused worker write means the run is no longer this claim's: another worker holds
 * it, or it is no longer analyzing (an `InvalidTransitionError`), or it is out of the worker's
 * sight (a `NotFoundError`: row-level security shows workers only pending and analyzing runs).
 */
export function leaseLost(error: unknown): boolean {
  return (
    (error instanceof InvalidTransitionError && error.entity === 'evaluation') ||
    (error instanceof NotFoundError && error.entity === 'evaluation')
  );
}
