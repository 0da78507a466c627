/**
 * The seed-set registry: names on the command line -> sets. Sets are loaded on demand, so the
 * CLI does not pay for the load generator when seeding dev.
 */
import { SeedError } from '../src/errors.js';
import type { SeedSet } from './types.js';

export type { Progress, SeedContext, SeedRunResult, SeedSet } from './types.js';
export { createRandom, Random, uuidFrom } from './random.js';

const registry: Record<string, () => Promise<SeedSet>> = {
  dev: async () => (await import('./dev.js')).devSet,
  load: async () => pickSet(await import(LOAD_MODULE), 'loadSet'),
};
// A variable specifier keeps the typecheck independent of seeds/sets/load.ts (written separately);
// it must export `loadSet` (or a default) implementing SeedSet.
const LOAD_MODULE = './sets/load.js';

function pickSet(module: Record<string, unknown>, exportName: string): SeedSet {
  const candidate = (module[exportName] ?? module.default) as SeedSet | undefined;
  if (!candidate || typeof candidate.run !== 'function') {
    throw new SeedError('SEED_SET_INVALID', `the seed module does not export "${exportName}" (a SeedSet)`);
  }
  return candidate;
}

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
