/**
 * Refusing a transaction pooler (PgBouncer in transaction or statement mode, and alike): there a
 * client's statements run on whichever server session is free, so a session advisory lock (the
 * migration lock, the seed lock) neither excludes another client nor stays with its holder. Seen
 * through PgBouncer: four concurrent migrators applied the same file twice and left the lock
 * orphaned on a pooled server session.
 */
import type pg from 'pg';

type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * The refusal, for the error each command throws (`what`: "migrate", "seed").
 *
 * @example
 * ```ts
 * throw new MigrationError(poolerRefusal('migrate', evidence), { code: 'MIGRATION_POOLER' });
 * ```
 */
export function poolerRefusal(what: string, evidence: string): string {
  return (
    `refusing to ${what} through a transaction pooler (${evidence}): its advisory lock belongs to a server session, ` +
    'which a transaction pooler hands to other clients between statements, so two runs could apply the same change ' +
    'and the lock could be left behind on a pooled session. Set DATABASE_MIGRATION_URL to a direct connection to the ' +
    "server (for example its port 5432 rather than PgBouncer's 6432)."
  );
}

const pid = async (client: Queryable): Promise<number> =>
  (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

/**
 * Says how `a` is seen to be pooled, or undefined for a direct session. `b` is a second client
 * to the same address. On a direct connection two clients never share a backend and a client's
 * backend never changes; behind a transaction pooler `b`'s transaction gets the server session
 * `a` just released (PgBouncer reuses the most recent one), or `a` moves to another one while `b`
 * holds it. Statement pooling refuses the `BEGIN` outright.
 *
 * @example
 * ```ts
 * const evidence = await transactionPoolerEvidence(client, probe);
 * if (evidence) throw new MigrationError(poolerRefusal('migrate', evidence), { code: 'MIGRATION_POOLER' });
 * ```
 */
export async function transactionPoolerEvidence(a: Queryable, b: Queryable): Promise<string | undefined> {
  const first = await pid(a);
  try {
    await b.query('BEGIN');
  } catch (error) {
    return `a transaction was refused: ${(error as Error).message}`;
  }
  try {
    const other = await pid(b);
    if (other === first) return `two clients were served by the same server session (backend pid ${first})`;
    const again = await pid(a);
    if (again !== first) return `the backend pid changed between two statements of one client (${first}, then ${again})`;
    return undefined;
  } finally {
    await b.query('COMMIT').catch(() => undefined);
  }
}
