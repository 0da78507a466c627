/**
 * A caching wrapper for password providers: one fetch at a time, a time-to-live, and
 * `invalidate()` so the pool can force a refetch after an authentication failure (rotation).
 */
import type { PasswordProvider } from '../connection.js';
import { CredentialsError } from '../errors.js';

export type { PasswordProvider } from '../connection.js';

/** Options for `createCachedPasswordProvider()`. */
export interface CachedPasswordProviderOptions {
  /** How long a fetched password is reused before it is fetched again (default 5 minutes; 0 = every call). */
  cacheTtlMs?: number;
  /** Names the source in error messages, e.g. `AWS Secrets Manager secret "prod/db"` (never the value). */
  description?: string;
}

const DEFAULT_TTL_MS = 5 * 60_000;

/**
 * Wraps `fetchPassword` in a cache. Concurrent callers share one fetch; a failed fetch is not
 * cached; `invalidate()` drops the cached value (and any fetch in flight) so the next call fetches.
 *
 * @example
 * ```ts
 * const passwordProvider = createCachedPasswordProvider(() => vault.read('database/creds/app').then((s) => s.password), {
 *   cacheTtlMs: 60_000,
 *   description: 'Vault database/creds/app',
 * });
 * const database = createDatabase({ passwordProvider });
 * ```
 */
export function createCachedPasswordProvider(
  fetchPassword: () => Promise<string>,
  options: CachedPasswordProviderOptions = {},
): PasswordProvider & { invalidate: () => void } {
  const ttlMs = options.cacheTtlMs ?? DEFAULT_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new RangeError('cacheTtlMs must be a number of milliseconds >= 0');
  const description = options.description ?? 'the password provider';
  let cached: { value: string; expiresAt: number } | undefined;
  let inFlight: Promise<string> | undefined;
  // Bumped by invalidate(), so a fetch that started before it cannot refill the cache with a stale value.
  let generation = 0;

  const fetchFresh = (): Promise<string> => {
    const started = generation;
    const attempt = (async () => {
      let value: unknown;
      try {
        value = await fetchPassword();
      } catch (error) {
        if (error instanceof CredentialsError) throw error;
        throw new CredentialsError(`could not get the database password from ${description}: ${reasonOf(error)}`, { cause: error });
      }
      if (typeof value !== 'string' || value === '') {
        throw new CredentialsError(`${description} returned no password (an empty or non-string value)`);
      }
      if (started === generation) cached = { value, expiresAt: Date.now() + ttlMs };
      return value;
    })();
    inFlight = attempt;
    const clear = (): void => {
      if (inFlight === attempt) inFlight = undefined;
    };
    attempt.then(clear, clear);
    return attempt;
  };

  const provider = (): Promise<string> => {
    if (cached && Date.now() < cached.expiresAt) return Promise.resolve(cached.value);
    return inFlight ?? fetchFresh();
  };
  return Object.assign(provider, {
    invalidate: (): void => {
      generation += 1;
      cached = undefined;
      inFlight = undefined;
    },
  });
}

/** An error's name and message, for messages that must not carry a value (SDK errors do not). */
export function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}
