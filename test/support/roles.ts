/**
 * LOGIN roles in the platform's group roles (migration 20261125110000), for tests that act
 * through the application or worker role: uniquely named, connected to the calling file's
 * database, closed and dropped after the file.
 */
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { adminQuery, quoteIdent } from '../../scripts/lib/server.js';
import { toConnectionUrl } from '../../src/connection.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import type { Role } from '../../src/schema/roles.js';
import { adminConnection, type UsedTestDatabase } from './database.js';

export type GroupRole = 'ai_validation_app' | 'ai_validation_worker';

/** `connectAs(group, max, role)`: see `useRoleConnections`. */
export type ConnectAs = <R extends Role = 'owner'>(group: GroupRole, max?: number, role?: R) => Promise<Database<R>>;

/**
 * Returns `connectAs(group, max, role)`: a new LOGIN role in `group` and a pool of `max`
 * connections as it, made with `createDatabase({ role })` (default `owner`: every calling path,
 * for tests of their refusals). Call it after `useTestDatabase()`: its `afterAll` then runs first
 * (hooks unwind as a stack).
 *
 * @example
 * ```ts
 * const t = useTestDatabase();
 * const connectAs = useRoleConnections(t);
 * const app = await connectAs('ai_validation_app');
 * ```
 */
export function useRoleConnections(t: UsedTestDatabase): ConnectAs {
  const logins: string[] = [];
  const handles: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.allSettled(handles.map((handle) => handle.close()));
    for (const name of logins) await adminQuery(adminConnection(), `DROP ROLE IF EXISTS ${quoteIdent(name)}`);
  });
  return async <R extends Role = 'owner'>(group: GroupRole, max = 2, role?: R) => {
    const name = `dl_${group === 'ai_validation_app' ? 'app' : 'worker'}_${randomBytes(5).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await adminQuery(adminConnection(), `CREATE ROLE ${quoteIdent(name)} LOGIN PASSWORD '${password}' IN ROLE ${group}`);
    logins.push(name);
    // Through the run's pooler when there is one, as useTestDatabase's handle.
    const { host, port, database } = t.testDatabase.app.connection;
    const handle = createDatabase<R>({
      connectionString: toConnectionUrl({ host, port, database, user: name, password }),
      env: {},
      pool: { max, pooler: t.testDatabase.app.pooler },
      role: role ?? null,
    });
    handles.push(handle);
    return handle;
  };
}
