/**
 * Kysely's log hook -> a pino-compatible logger and query counters. Parameter values are logged
 * only when explicitly enabled: they hold user data.
 */
import type { LogEvent } from 'kysely';
import type { Logger } from '../logger.js';

/** Query counters since `createDatabase()`. */
export interface QueryStats {
  queries: number;
  errors: number;
  slowQueries: number;
}

export interface QueryLogSettings {
  /** Queries that take at least this long are logged at warn level (0 = every query). */
  slowQueryMs: number;
  /** Include parameter values in log entries. Off by default. */
  logParameters: boolean;
}

export function createQueryLog(logger: Logger, settings: QueryLogSettings) {
  const stats: QueryStats = { queries: 0, errors: 0, slowQueries: 0 };
  const log = (event: LogEvent): void => {
    stats.queries++;
    const durationMs = Math.round(event.queryDurationMillis * 10) / 10;
    const entry: Record<string, unknown> = { durationMs, sql: event.query.sql };
    if (settings.logParameters) entry.parameters = event.query.parameters;
    if (event.level === 'error') {
      stats.errors++;
      logger.debug({ ...entry, err: event.error }, 'query failed');
    }
    if (durationMs >= settings.slowQueryMs) {
      stats.slowQueries++;
      logger.warn(entry, `slow query (${durationMs} ms)`);
    } else if (event.level === 'query') {
      logger.debug(entry, 'query');
    }
  };
  return { log, stats: (): QueryStats => ({ ...stats }) };
}
