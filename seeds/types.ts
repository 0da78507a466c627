/**
 * The seed-set contract. A set is a named, versioned, deterministic generator of rows; the
 * runner (seeds/runner.ts) decides whether it runs (seed_history), serialises runs (advisory
 * lock), hands it a context, records what it wrote, and runs the validation checks afterwards.
 */
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { DB } from '../src/schema/generated.js';
import type { Logger } from '../src/logger.js';
import type { CheckOptions } from './checks.js';
import type { Random } from './random.js';

/** Counts by a long-running step; the CLI draws a bar on a terminal, plain lines otherwise. */
export interface Progress {
  /** Starts a step of `total` units (rows), e.g. `progress.start('agent_results', 160_000)`. */
  start(label: string, total: number): void;
  /** Adds `n` done units to the current step. */
  tick(n: number): void;
  /** Ends the current step (prints its rate). */
  done(): void;
}

/** What a set's `run()` receives. */
export interface SeedContext {
  /**
   * Where to write. For a `transactional` set this is the transaction the runner opened (the
   * history row is written in it too, so a failed run leaves nothing); otherwise the pool's Kysely.
   */
  db: Kysely<DB>;
  /** The pool behind `db`, for COPY and other raw pg work (check out a client, release it). */
  pool: pg.Pool;
  /** The requested scale (1 unless `--scale`); sets that do not scale get 1. */
  scale: number;
  /** Seeded from the set's `seed`: the same stream on every run. Use `random.fork(label)` per table. */
  random: Random;
  logger: Logger;
  progress: Progress;
  /** Aborted on Ctrl+C: stop between batches. */
  signal?: AbortSignal;
}

/** What a set reports back; recorded in seed_history. */
export interface SeedRunResult {
  /** Rows written per table, keyed by SQL table name (`users`, `business_ideas`, ...). */
  rows: Record<string, number>;
  /**
   * A digest of the generated data (or of the set definition), so two runs can be compared
   * without dumping tables. Optional; recorded as NULL when absent.
   */
  checksum?: string;
}

/** A seed set. */
export interface SeedSet {
  /** Lowercase name used on the command line and in seed_history (`dev`, `load`). */
  name: string;
  /** Bump when the generated data changes. */
  version: number;
  /** One line for `--help`. */
  description: string;
  /** The PRNG seed; `ctx.random` is `createRandom(seed)`. */
  seed: string;
  /** Whether `--scale` means anything; when false the runner insists on scale 1. */
  scalable: boolean;
  /**
   * Run inside one transaction with the history row (all or nothing). Bulk sets that manage
   * their own batches/COPY set this false.
   */
  transactional: boolean;
  /**
   * What to do when an older version of this set is recorded: `apply` (run() brings the data up
   * to this version, e.g. by upserting fixed ids) or `refuse` (the user must clean first).
   */
  onOlderVersion: 'apply' | 'refuse';
  /** Validation options the runner passes to `runChecks()` after the set ran. */
  checks?: CheckOptions;
  run(ctx: SeedContext): Promise<SeedRunResult>;
}
