/**
 * `migrate wait` and `up --wait`: connect until the server answers, for a bounded time, so a
 * deploy step started with the database (docker compose, a CI service) does not race it.
 */
import pg from 'pg';
import { connectionOptions, describeConnection, type ConnectionSettings } from '../connection.js';
import { connectError, MigrationError, PgErrorCode } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';

export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** Pause between attempts (ms). Default 500. */
  intervalMs?: number;
  /** Each failed attempt's reason goes to `logger.debug`, and one line to `logger.info` when waiting starts. */
  logger?: Logger;
}

/** Failures that waiting cannot fix: the server answered, and refused these credentials. */
const PERMANENT = new Set<string>([PgErrorCode.invalidPassword, PgErrorCode.invalidAuthorization]);

/**
 * Resolves once `SELECT 1` succeeds on `connection` (returns the milliseconds waited); throws a
 * `MigrationError` (code `MIGRATION_WAIT_TIMEOUT`) with the last failure when `timeoutMs` passes,
 * or at once when the server rejects the credentials.
 *
 * @example
 * ```ts
 * await waitForServer(config.migrationConnection, { timeoutMs: 60_000 });
 * ```
 */
export async function waitForServer(connection: ConnectionSettings, options: WaitOptions): Promise<number> {
  const logger = options.logger ?? silentLogger;
  const interval = options.intervalMs ?? 500;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let announced = false;
  for (;;) {
    const remaining = deadline - Date.now();
    const client = new pg.Client({
      ...connectionOptions(connection),
      connectionTimeoutMillis: Math.max(1, Math.min(5_000, remaining)),
      application_name: 'data-layer migrate wait',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return Date.now() - started;
    } catch (error) {
      const failure = connectError(error, describeConnection(connection), Math.min(5_000, remaining));
      const code = (error as { code?: string }).code;
      if (code && PERMANENT.has(code)) throw failure;
      logger.debug({ err: failure }, 'the server does not answer yet');
      if (!announced) {
        logger.info({}, `waiting up to ${options.timeoutMs} ms for ${describeConnection(connection)} (${failure.message})`);
        announced = true;
      }
      if (Date.now() + interval >= deadline) {
        throw new MigrationError(`the server did not answer within ${options.timeoutMs} ms; last attempt: ${failure.message}`, {
          code: 'MIGRATION_WAIT_TIMEOUT',
          cause: failure,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, interval));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
