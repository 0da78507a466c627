/**
 * A claim's lease as the worker loop carries it: the run, and the token every write made for the
 * run must carry (the worker and the attempt: the fencing token). Everything a claim's token flows
 * into is built here, once per claim.
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
  /** The attempt the claim started: a write made for an attempt that is no longer current is refused (`StaleAttemptError`). */
  readonly attempt: number;
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
  return { id: evaluation.id, token: { workerId, attempt: evaluation.attempt } };
}

/**
 * Whether a refused worker write means the run is no longer this claim's: its attempt ended
 * (`StaleAttemptError`), another worker holds it, or it is no longer analyzing (an
 * `InvalidTransitionError`, of which `StaleAttemptError` is one), or it is out of the worker's
 * sight (a `NotFoundError`: row-level security shows workers only pending and analyzing runs).
 */
export function leaseLost(error: unknown): boolean {
  return (
    (error instanceof InvalidTransitionError && error.entity === 'evaluation') ||
    (error instanceof NotFoundError && error.entity === 'evaluation')
  );
}
