/**
 * Idempotency keys (migration 20261201090000): a client that lost its connection after a write
 * cannot tell whether it committed; retrying with the same key returns the first outcome. The
 * same key with a different request is a conflict, never a second write.
 */
import { ConflictError } from '../errors.js';

/** The key was used before, for a request that differs from this one. */
export function keyReused(table: string, constraint?: string): ConflictError {
  return new ConflictError({ table, fields: ['idempotencyKey'], ...(constraint ? { constraint } : {}) });
}
