/**
 * The `load` seed set: synthetic data in bulk for performance work. At scale 1 about 1,000
 * users, 10,000 ideas, 20,000 evaluations and 160,000 agent results (8 agents per evaluation),
 * linear in `--scale` (0.005 to 1000). Generated lazily and streamed with COPY in one transaction
 * (seeds/load/load.ts), so memory stays flat at any scale. Deterministic: the same seed and scale
 * give the same rows, byte for byte, on every run (the checksum recorded in seed_history shows it).
 *
 * `npm run seed -- --set load --scale 0.5`
 */
import { SeedError } from '../errors.js';
import { loadCounts, MAX_SCALE, MIN_SCALE } from '../load/generate.js';
import { LOAD_SEED, loadLoadSet } from '../load/load.js';
import type { SeedSet } from '../types.js';

export const loadSet: SeedSet = {
  name: 'load',
  // Bump whenever generate.ts or phrases.ts changes what is generated.
  version: 1,
  description: `bulk synthetic data for performance work: 1,000 users, 10,000 ideas, 20,000 evaluations, 160,000 agent results per unit of --scale (${MIN_SCALE}..${MAX_SCALE})`,
  seed: LOAD_SEED,
  scalable: true,
  // It runs its own transaction on a client of its own (COPY needs the raw connection).
  transactional: false,
  // Its ids are random per row: a new version cannot be laid over an old one.
  onOlderVersion: 'refuse',
  checks: { everyStatus: true },
  async run(ctx) {
    try {
      loadCounts(ctx.scale);
    } catch (error) {
      throw new SeedError('SEED_SCALE_INVALID', `the load set ${(error as Error).message}`, { cause: error });
    }
    const client = await ctx.pool.connect();
    try {
      const result = await loadLoadSet(client, {
        scale: ctx.scale,
        seed: ctx.random.seed,
        logger: ctx.logger,
        progress: ctx.progress,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      // Fresh statistics, so the first queries against the new rows get sensible plans.
      await client.query('ANALYZE users, business_ideas, evaluations, agent_results');
      ctx.logger.info({ auditTriggers: result.auditTriggers, durationMs: Math.round(result.durationMs) }, 'load set written');
      return { rows: result.rows, checksum: result.checksum };
    } finally {
      client.release();
    }
  },
};

export default loadSet;
