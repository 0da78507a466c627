/**
 * This project's repositories as the `repo` contender runs them, but through a PgBouncer in
 * transaction mode that the benchmark starts in front of its server (its own config file and port,
 * `default_pool_size` = the benchmark's pool size), with `pooler: 'transaction'`
 * (DATABASE_POOLER): no startup parameters, the timeouts set with each BEGIN, unnamed statements.
 * The point reads and the evaluation workload; not the LISTEN-woken queue worker, which needs a
 * direct connection (docs/poolers.md). Skipped without the pgbouncer binary.
 */
import { PGBOUNCER, startPgBouncer } from '../../lib/pgbouncer.js';
import { repository } from './repository.js';
import type { Contender, ContenderContext } from './types.js';

/** The `repo-pgbouncer` contender, or why it cannot run here. */
export async function repositoryThroughPgBouncer(context: ContenderContext): Promise<Contender | { skipped: string }> {
  if (!('pooler' in context.config.pool)) return { skipped: 'this version of the library has no pooler setting' };
  if (!PGBOUNCER) return { skipped: 'no pgbouncer binary (apt-get install pgbouncer)' };
  const bouncer = await startPgBouncer({ server: context.connection, poolMode: 'transaction', poolSize: context.config.pool.max });
  try {
    const connection = bouncer.through(context.connection);
    const made = repository({
      ...context,
      config: { ...context.config, connection, pool: { ...context.config.pool, pooler: 'transaction' } },
    });
    const driver = { ...made.driver };
    delete driver.startQueueWorker; // LISTEN needs a direct connection
    return {
      driver,
      // The client sees PgBouncer's backend keys, not the server's pids: no server CPU is attributed to it.
      settings: `${made.settings}, through PgBouncer in transaction mode (default_pool_size ${context.config.pool.max}), pooler: 'transaction'; server CPU not attributed (PgBouncer's backend keys are not server pids)`,
      close: async () => {
        try {
          await made.close();
        } finally {
          await bouncer.stop();
        }
      },
    };
  } catch (error) {
    await bouncer.stop();
    throw error;
  }
}
