/**
 * Behind a transaction pooler the timeouts cannot be startup parameters: every transaction sets
 * them (`SET LOCAL`, pool.ts), and a statement outside a transaction runs with whatever the server
 * session has, which is the role's or database's default (`ALTER ROLE ... SET statement_timeout`)
 * as long as no client leaks a session-level `SET`. Checked once, on the pool's first connection,
 * so that an operator learns at start when single statements would run without a timeout.
 */
import type pg from 'pg';
import type { PoolSettings } from '../config.js';
import type { Logger } from '../logger.js';

/** One timeout as the server session has it outside a transaction. */
export interface SessionTimeout {
  name: 'statement_timeout' | 'idle_in_transaction_session_timeout';
  /** Milliseconds; 0 = none. */
  ms: number;
  /** `pg_settings.source`: `user` (ALTER ROLE), `database`, `default`, `configuration file`, or `session` (a `SET` left on the server session). */
  source: string;
}

const SQL = `
  SELECT name, setting::int AS ms, source, current_user AS role
    FROM pg_catalog.pg_settings
   WHERE name IN ('statement_timeout', 'idle_in_transaction_session_timeout')
   ORDER BY name DESC`;

/**
 * Reads the session's timeouts on `client` and logs what applies: a warning when statements
 * outside a transaction would run without a statement timeout although one is configured, or when
 * a session-level setting was left on the pooled server session. Never throws.
 *
 * @example
 * ```ts
 * pool.once('connect', (client) => void checkPoolerTimeouts(client, settings, logger));
 * ```
 */
export async function checkPoolerTimeouts(
  client: Pick<pg.ClientBase, 'query'>,
  settings: PoolSettings,
  logger: Logger,
): Promise<SessionTimeout[]> {
  let rows: (SessionTimeout & { role: string })[];
  try {
    rows = (await client.query<SessionTimeout & { role: string }>(SQL)).rows;
  } catch (error) {
    logger.debug({ err: error }, 'could not read the server session timeouts behind the pooler');
    return [];
  }
  const statement = rows.find((row) => row.name === 'statement_timeout');
  const role = rows[0]?.role ?? 'the role';
  const leaked = rows.filter((row) => row.source === 'session');
  if (leaked.length > 0) {
    logger.warn(
      { settings: leaked.map(({ name, ms }) => ({ name, ms })) },
      `behind the transaction pooler, a server session carries a session-level ${leaked.map((row) => row.name).join(' and ')} ` +
        'that some client SET outside a transaction: it applies to every client that server session serves; ' +
        'use SET LOCAL (or set_config(..., true)) inside transactions',
    );
  }
  const facts = { statementTimeoutMs: statement?.ms, source: statement?.source, configuredMs: settings.statementTimeoutMs };
  if (statement && settings.statementTimeoutMs > 0 && statement.ms === 0) {
    logger.warn(
      facts,
      `behind a transaction pooler (DATABASE_POOLER=transaction) the timeouts are set in each transaction, but a statement ` +
        `outside a transaction runs with role "${role}"'s own statement_timeout, which is 0 (none): set it for the role, ` +
        `ALTER ROLE "${role}" SET statement_timeout = '${settings.statementTimeoutMs}ms' (docs/poolers.md)`,
    );
  } else if (statement && statement.ms !== settings.statementTimeoutMs) {
    logger.info(
      facts,
      `behind the transaction pooler, statements outside a transaction run with statement_timeout ${statement.ms} ms ` +
        `(${statement.source}); transactions with DATABASE_STATEMENT_TIMEOUT_MS (${settings.statementTimeoutMs} ms)`,
    );
  } else {
    logger.debug(facts, 'behind the transaction pooler, the role default statement_timeout matches DATABASE_STATEMENT_TIMEOUT_MS');
  }
  return rows.map(({ name, ms, source }) => ({ name, ms, source }));
}
