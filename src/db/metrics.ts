/**
 * Metrics for `database.stats()`: pool gauges and a query duration histogram with fixed buckets,
 * cumulative like Prometheus' `le` buckets, so exporters copy the figures without re-bucketing.
 */
import type pg from 'pg';

/** Upper bounds (ms, inclusive) of the query duration buckets; the implicit last bucket is +Inf. */
export const QUERY_DURATION_BUCKETS_MS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

/** The pool right now: connections open, idle, checkouts queued for a connection, and the limit. */
export interface PoolGauges {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

/**
 * A cumulative histogram: `buckets[i].count` queries took at most `buckets[i].le` ms; `count` is
 * every query (the +Inf bucket) and `sum` their total duration in ms.
 */
export interface DurationHistogram {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** Records durations into `QUERY_DURATION_BUCKETS_MS`. */
export function createHistogram(bounds: readonly number[] = QUERY_DURATION_BUCKETS_MS) {
  // Per-bucket (non-cumulative) counts; the snapshot accumulates them.
  const counts = new Array<number>(bounds.length).fill(0);
  let sum = 0;
  let count = 0;
  return {
    observe(durationMs: number): void {
      count++;
      sum += durationMs;
      const i = bounds.findIndex((le) => durationMs <= le);
      if (i >= 0) counts[i]!++;
    },
    snapshot(): DurationHistogram {
      let running = 0;
      const buckets = bounds.map((le, i) => ({ le, count: (running += counts[i]!) }));
      return { buckets, sum: Math.round(sum * 1000) / 1000, count };
    },
  };
}

/** The pool's gauges; `max` is the configured limit. */
export function poolGauges(pool: pg.Pool, max: number): PoolGauges {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max };
}
