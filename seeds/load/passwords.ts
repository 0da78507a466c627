/**
 * Password hashes for the load set's users. Real scrypt hashes (the dev set's format), but not
 * one per user: at ~50 ms each, 1,000 users per unit of scale would cost a minute per unit. A
 * small pool of genuine hashes of `LOAD_PASSWORD`, each with its own deterministic salt, is
 * computed once per process and handed out round-robin, so every load user can log in and the
 * hashes look and verify like real ones (users sharing a salt is the only tell).
 */
import { createHash } from 'node:crypto';
import { hashPassword } from '../dev.js';

/** The password of every load-set user. Synthetic data only. */
export const LOAD_PASSWORD = 'load-password';
/** How many distinct hashes the pool holds. */
export const LOAD_HASH_POOL = 8;

let pool: Promise<string[]> | undefined;

/**
 * The pool of scrypt hashes of `LOAD_PASSWORD` (computed on first call, then cached).
 *
 * @example
 * ```ts
 * const hashes = await loadPasswordHashes(); // 8 strings like scrypt$16384$8$1$<salt>$<hash>
 * ```
 */
export function loadPasswordHashes(): Promise<string[]> {
  pool ??= Promise.all(
    Array.from({ length: LOAD_HASH_POOL }, (_, i) =>
      hashPassword(LOAD_PASSWORD, createHash('sha256').update(`ai-validation load seed ${i}`).digest().subarray(0, 16)),
    ),
  ).catch((error: unknown) => {
    pool = undefined;
    throw error;
  });
  return pool;
}
