/**
 * Kysely's log hook -> a pino-compatible logger and query counters. Parameter values are logged
 * only when explicitly enabled: they hold user data.
 */
import type { LogEvent } from 'kysely';
import type { Logger } from '../logger.js';
import { createHistogram, type DurationHistogram } from './metrics.js';

/** Query counters since `createDatabase()`. */
export interface QueryStats {
  queries: number;
  errors: number;
  slowQueries: number;
  /** Every query's duration (failures included), cumulative buckets in ms. */
  queryDurationMs: DurationHistogram;
}

export interface QueryLogSettings {
  /** Queries that take at least this long are logged at warn level (0 = every query). */
  slowQueryMs: number;
  /** Include parameter values in log entries. Off by default. */
  logParameters: boolean;
}

/** The `log` hook to give Kysely, and a snapshot of its counters. */
export function createQueryLog(logger: Logger, settings: QueryLogSettings) {
  const stats = { queries: 0, errors: 0, slowQueries: 0 };
  const durations = createHistogram();
  const log = (event: LogEvent): void => {
    stats.queries++;
    durations.observe(event.queryDurationMillis);
    const durationMs = Math.round(event.queryDurationMillis * 10) / 10;
    const entry: Record<string, unknown> = { durationMs, sql: event.query.sql };
    if (settings.logParameters) entry.parameters = event.query.parameters;
    if (event.level === 'error') {
      stats.errors++;
      // The mapped error's message is value-free, but its cause (the pg error) quotes values in
      // `message` and `detail`, and loggers such as pino serialise causes: keep it out unless enabled.
      logger.debug({ ...entry, err: settings.logParameters ? event.error : withoutCause(event.error) }, 'query failed');
    }
    if (durationMs >= settings.slowQueryMs) {
      stats.slowQueries++;
      logger.warn(entry, `slow query (${durationMs} ms)`);
    } else if (event.level === 'query') {
      logger.debug(entry, 'query');
    }
  };
  return { log, stats: (): QueryStats => ({ ...stats, queryDurationMs: durations.snapshot() }) };
}

/** An error as a plain log field without its `cause`: name, message, codes and stack. */
function withoutCause(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  const sqlState = (error.cause as { code?: unknown } | undefined)?.code;
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof sqlState === 'string' ? { sqlState } : {}),
    stack: error.stack,
  };
}
