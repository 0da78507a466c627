/**
 * The migration lock: a session-level advisory lock held on the migration connection for a whole
 * `up`/`down`/`redo`, so concurrent migrators run one after another and each sees the ledger the
 * previous one left. Advisory locks are per database, so one server can host many projects.
 *
 * A migrator killed while it held the lock leaves its server session behind until the server
 * notices (see session.ts). A waiter that can prove from this machine's process table that the
 * holder's migrator process is gone ends that orphaned session instead of waiting it out.
 */
import type pg from 'pg';
import { TimeoutError } from '../errors.js';
import type { Logger } from '../logger.js';
import { holderLiveness, processIdentity, type Liveness, type ProcessIdentity } from './session.js';

/** Two int4 keys: 'migr' and 'data' in ASCII. Shown in pg_locks as classid/objid with objsubid 2. */
export const LOCK_KEY: readonly [number, number] = [0x6d696772, 0x64617461];

export interface LockHolder {
  pid: number;
  applicationName: string;
  state: string | null;
  backendStart: Date | null;
  /** `backend_start` as the server renders it: with the pid, identifies this one session. */
  backendStartText: string | null;
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
    backend_start_text: string | null;
    client_addr: string | null;
  }>(
    `SELECT a.pid, a.application_name, a.state, a.backend_start, a.backend_start::text AS backend_start_text,
            host(a.client_addr) AS client_addr
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
    backendStartText: r.backend_start_text,
    clientAddr: r.client_addr,
  }));
}

export function describeHolders(holders: readonly LockHolder[], liveness?: (holder: LockHolder) => Liveness): string {
  if (holders.length === 0) return 'the holder could not be identified (it may have just released the lock)';
  return holders
    .map((h) => {
      const live = liveness?.(h);
      return (
        `pid ${h.pid} (application_name "${h.applicationName}"${h.clientAddr ? `, from ${h.clientAddr}` : ''}` +
        `${h.backendStart ? `, connected since ${h.backendStart.toISOString()}` : ''}` +
        `${live && live.verdict !== 'unknown' ? `; ${live.reason}` : ''})`
      );
    })
    .join(', ');
}

/**
 * Takes the migration lock, retrying `pg_try_advisory_lock` with jittered backoff (50 ms doubling
 * to 1 s) rather than blocking in `pg_advisory_lock`, so the wait is bounded by `waitMs` and the
 * error can say who holds the lock.
 *
 * Between tries it looks at the holder. When the holder is a data-layer migrator session whose
 * process ran on this machine (same host name, boot and pid namespace, see
 * `holderLiveness`) and that process no longer exists (or its pid now belongs to a process started
 * later), the session is an orphan: its client is dead and cannot use it again. The waiter then
 * ends it with `pg_terminate_backend` (once, matching the pid, its start time and its name, so
 * a new session that reused the pid is never hit), logs that, and takes the lock as soon as the
 * server has ended it. A holder that may be alive (its process exists, it runs elsewhere, it is
 * not a migrator, or it cannot be checked) is waited for, within `waitMs`; so is an orphan the
 * waiter is not permitted to terminate.
 */
export async function acquireMigrationLock(
  client: pg.ClientBase,
  waitMs: number,
  logger: Logger,
  me: ProcessIdentity = processIdentity(),
): Promise<void> {
  const deadline = Date.now() + waitMs;
  let delay = 50;
  let announced = false;
  const tried = new Set<string>();
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [LOCK_KEY[0], LOCK_KEY[1]]);
    if (rows[0]?.locked) return;
    const holders = await lockHolders(client);
    let terminated = false;
    for (const holder of holders) {
      const key = `${holder.pid} ${holder.backendStartText}`;
      if (tried.has(key)) continue;
      const live = holderLiveness(holder.applicationName, me);
      if (live.verdict !== 'dead') continue;
      tried.add(key);
      terminated = (await terminateOrphan(client, holder, live, logger)) || terminated;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const last = await lockHolders(client);
      throw new TimeoutError(
        `another migration run has held the migration lock for more than ${waitMs} ms (MIGRATION_LOCK_WAIT_MS); ` +
          `held by ${describeHolders(last, (h) => holderLiveness(h.applicationName, me))}. ` +
          'Wait for it to finish, or stop it with SELECT pg_terminate_backend(<pid>).',
      );
    }
    if (!announced) {
      announced = true;
      logger.info({ holders }, 'waiting for another migration run to release the migration lock');
    }
    if (terminated) delay = 50; // the server ends it within milliseconds: try again soon
    await sleep(Math.min(remaining, delay * (0.5 + Math.random())));
    delay = Math.min(delay * 2, 1000);
  }
}

/** Ends an orphaned migrator session; false when it was already gone or we may not. */
async function terminateOrphan(client: pg.ClientBase, holder: LockHolder, live: Liveness, logger: Logger): Promise<boolean> {
  const who = `pid ${holder.pid} (application_name "${holder.applicationName}")`;
  try {
    const { rows } = await client.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE pid = $1 AND backend_start::text = $2 AND application_name = $3`,
      [holder.pid, holder.backendStartText, holder.applicationName],
    );
    const terminated = rows[0]?.terminated === true;
    if (terminated) {
      logger.warn(
        { pid: holder.pid, applicationName: holder.applicationName },
        `the migration lock was held by the orphaned session ${who}: ${live.reason}; terminated it with pg_terminate_backend`,
      );
    }
    return terminated;
  } catch (err) {
    // 42501: not a member of its role, or it is a superuser's session.
    logger.warn(
      { err, pid: holder.pid },
      `the migration lock is held by the orphaned session ${who} (${live.reason}), but it could not be terminated; waiting for the server to end it`,
    );
    return false;
  }
}

/** Releases the lock. Closing the connection would release it too; this keeps the release prompt. */
export async function releaseMigrationLock(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_KEY[0], LOCK_KEY[1]]);
}
