/**
 * The seed-set registry: names on the command line -> sets. Sets are loaded on demand, so the
 * CLI does not pay for the load generator when seeding dev.
 */
import { SeedError } from './errors.js';
import type { SeedSet } from './types.js';

export { SeedError } from './errors.js';
export type { Progress, SeedContext, SeedRunResult, SeedSet } from './types.js';
export { createRandom, Random, uuidFrom } from './random.js';

const registry: Record<string, () => Promise<SeedSet>> = {
  dev: async () => (await import('./dev.js')).devSet,
  load: async () => (await import('./sets/load.js')).loadSet,
};

/** The registered set names, in registration order. */
export function seedSetNames(): string[] {
  return Object.keys(registry);
}

/**
 * Loads a registered seed set by name.
 *
 * @example
 * ```ts
 * const set = await getSeedSet('dev');
 * await runSeedSet(database, set);
 * ```
 */
export async function getSeedSet(name: string): Promise<SeedSet> {
  const load = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (!load) throw new SeedError('SEED_SET_UNKNOWN', `unknown seed set "${name}" (known: ${seedSetNames().join(', ')})`);
  return load();
}

export { runSeedSet, formatRows, SEED_LOCK_KEY, type RunSeedOptions, type SeedOutcome, type SeedTarget } from './runner.js';
export {
  runChecks,
  formatChecks,
  SEEDED_TABLES,
  type CheckCause,
  type CheckOptions,
  type CheckReport,
  type CheckResult,
} from './checks.js';
export { createProgress, silentProgress, type ProgressOptions } from './progress.js';
export { assertDevelopmentTarget, isDevelopmentDatabaseName, DEVELOPMENT_DATABASE_NAME } from './guards.js';
export { cleanDatabase } from './clean.js';
export { createFactories, type Factories } from './factories.js';
