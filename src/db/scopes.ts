/**
 * The owner and worker paths (`database.owner`, `database.worker`; see
 * repositories/executor.ts), each checked once against the role the handle connects as. Through
 * a role that row-level security filters, the owner path would see none of the business ideas,
 * evaluations or agent results, and the worker path through a role that is neither a worker nor
 * the owner would see none either: the first query on such a path is refused with a
 * `ConfigError` that says which path to use instead, rather than returning nothing.
 */
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { ConfigError } from '../errors.js';

/** The group role of the evaluation workers (migration 20261125110000). */
export const WORKER_ROLE = 'ai_validation_worker';

const ROLE_SQL = `
  SELECT current_user AS role,
         COALESCE((SELECT pg_catalog.pg_has_role(r.oid, 'USAGE') FROM pg_catalog.pg_roles r WHERE r.rolname = $1), false) AS worker,
         ARRAY(SELECT c.relname::text
                 FROM pg_catalog.pg_class c
                WHERE c.relnamespace = 'public'::pg_catalog.regnamespace
                  AND c.relname IN ('business_ideas', 'evaluations', 'agent_results')
                  AND c.relrowsecurity
                  AND (c.relforcerowsecurity OR NOT pg_catalog.pg_has_role(c.relowner, 'USAGE'))
                  AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user)
                ORDER BY c.relname) AS filtered`;

interface RoleFacts {
  role: string;
  worker: boolean;
  filtered: string[];
}

/** Why `scope` cannot work through the connected role, or undefined when it can. */
function refusal(scope: 'owner' | 'worker', { role, worker, filtered }: RoleFacts): string | undefined {
  if (filtered.length === 0 || (scope === 'worker' && worker)) return undefined;
  const seen = `role "${role}" is filtered by row-level security on ${filtered.join(', ')}, so this path would see none of their rows`;
  return scope === 'owner'
    ? `${seen}; connect as the role that owns the tables, or act for a user with database.withUser(userId, fn)`
    : `${seen} (it is not a member of ${WORKER_ROLE}); connect as a worker role, or act for a user with database.withUser(userId, fn)`;
}

/**
 * `pool`, whose first checkout verifies that `scope` works through the connected role. A refusal
 * is remembered (the role does not change); a failure to check (a connection error) is not.
 */
export function scopedPool(pool: PostgresPool, scope: 'owner' | 'worker'): PostgresPool {
  let verified: Promise<void> | undefined;
  // Once verified, a checkout is the pool's own (no extra turn per query).
  let passed = false;
  const verify = async (client: PostgresPoolClient): Promise<void> => {
    const { rows } = await client.query<RoleFacts>(ROLE_SQL, [WORKER_ROLE]);
    const reason = refusal(scope, rows[0]!);
    if (reason) throw new ConfigError([{ variable: `database.${scope}`, message: reason }]);
  };
  return {
    connect: () => (passed ? pool.connect() : checked()),
    end: () => pool.end(),
  };

  async function checked(): Promise<PostgresPoolClient> {
    const client = await pool.connect();
    verified ??= verify(client).then(
      () => {
        passed = true;
      },
      (error: unknown) => {
        if (!(error instanceof ConfigError)) verified = undefined;
        throw error;
      },
    );
    try {
      await verified;
    } catch (error) {
      client.release();
      throw error;
    }
    return client;
  }
}
