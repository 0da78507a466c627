/**
 * The migration lock: a session-level advisory lock held on the migration connection for a whole
 * `up`/`down`/`redo`, so concurrent migrators run one after another and each sees the ledger the
 * previous one left. Advisory locks are per database, so one server can host many projects.
 */
import type pg from 'pg';
import { TimeoutError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Two int4 keys: 'migr' and 'data' in ASCII. Shown in pg_locks as classid/objid with objsubid 2. */
export const LOCK_KEY: readonly [number, number] = [0x6d696772, 0x64617461];

export interface LockHolder {
  pid: number;
  applicationName: string;
  state: string | null;
  backendStart: Date | null;
  clientAddr: string | null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sessions currently holding the migration lock in this database. */
export async function lockHolders(client: pg.ClientBase): Promise<LockHolder[]> {
  const { rows } = await client.query<{
    pid: number;
    application_name: string;
    state: string | null;
    backend_start: Date | null;
    client_addr: string | null;
  }>(
    `SELECT a.pid, a.application_name, a.state, a.backend_start, host(a.client_addr) AS client_addr
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2`,
    [LOCK_KEY[0], LOCK_KEY[1]],
  );
  return rows.map((r) => ({
    pid: r.pid,
    applicationName: r.application_name,
    state: r.state,
    backendStart: r.backend_start,
    clientAddr: r.client_addr,
  }));
}

export function describeHolders(holders: readonly LockHolder[]): string {
  if (holders.length === 0) return 'the holder could not be identified (it may have just released the lock)';
  return holders
    .map(
      (h) =>
        `pid ${h.pid} (application_name "${h.applicationName}"${h.clientAddr ? `, from ${h.clientAddr}` : ''}${h.backendStart ? `, connected since ${h.backendStart.toISOString()}` : ''})`,
    )
    .join(', ');
}

/**
 * Takes the migration lock, retrying `pg_try_advisory_lock` with jittered backoff (50 ms doubling
 * to 1 s) rather than blocking in `pg_advisory_lock`, so the wait is bounded by `waitMs` and the
 * error can say who holds the lock.
 */
export async function acquireMigrationLock(client: pg.ClientBase, waitMs: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + waitMs;
  let delay = 50;
  let announced = false;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [LOCK_KEY[0], LOCK_KEY[1]]);
    if (rows[0]?.locked) return;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const holders = await lockHolders(client);
      throw new TimeoutError(
        `another migration run has held the migration lock for more than ${waitMs} ms (MIGRATION_LOCK_WAIT_MS); ` +
          `held by ${describeHolders(holders)}. Wait for it to finish, or stop it with SELECT pg_terminate_backend(<pid>).`,
      );
    }
    if (!announced) {
      announced = true;
      logger.info({ holders: await lockHolders(client) }, 'waiting for another migration run to release the migration lock');
    }
    await sleep(Math.min(remaining, delay * (0.5 + Math.random())));
    delay = Math.min(delay * 2, 1000);
  }
}

/** Releases the lock. Closing the connection would release it too; this keeps the release prompt. */
export async function releaseMigrationLock(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_KEY[0], LOCK_KEY[1]]);
}
