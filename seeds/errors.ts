/** The one error class of the seed runner and its sets. */
import { DataLayerError } from '../src/errors.js';

/**
 * A seed run was refused or failed on purpose: unknown set, a recorded version that cannot be
 * upgraded, a production or non-development database without --force, a failed validation check.
 * `code`: SEED_SET_UNKNOWN, SEED_VERSION_REFUSED, SEED_GUARD, SEED_CHECKS_FAILED, SEED_SCHEMA_MISSING,
 * SEED_POOLER_REFUSED (a transaction pooler, where the seed lock would not hold), SEED_DATA_CONFLICT (a
 * row of the set breaks a constraint because of a row already there).
 */
export class SeedError extends DataLayerError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
