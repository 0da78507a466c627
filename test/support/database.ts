/**
 * Per-file test databases on the run's server (see global-setup.ts): clones of the migrated
 * template, or empty ones, each dropped when the file is done. In a pooler run
 * (`TEST_DATABASE_POOLER=pgbouncer`) the handles `useTestDatabase()` makes go through the
 * transaction pooler with `pooler: 'transaction'`; creating, cloning and dropping stay direct.
 *
 * ```ts
 * const t = useTestDatabase();               // a migrated clone + a small pool, for this file
 * it('inserts', async () => { await t.db.insertInto('users')... });
 * ```
 */
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { connectionFor, createDatabaseNamed, dropDatabaseNamed, uniqueDatabaseName } from '../../scripts/lib/server.js';
import { parseConnectionUrl, type Pooler, type PoolSettings } from '../../src/config.js';
import { toConnectionUrl, type ConnectionSettings } from '../../src/connection.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import type { Logger } from '../../src/logger.js';
import type { Executor } from '../../src/repositories/executor.js';
import { testDatabasePrefix } from './names.js';

/** A database of its own for a test file. */
export interface TestDatabase {
  name: string;
  /** Superuser settings for this database (password non-enumerable). */
  connection: ConnectionSettings;
  /** The same as a `postgres://` URL, with the password (for child processes and tools). */
  url: string;
  /** How the library's handles reach it in this run: `connection`, or the same through the run's pooler. */
  app: { connection: ConnectionSettings; url: string; pooler: Pooler };
  /** Drops it (`WITH (FORCE)`: open sessions are cut). Idempotent. */
  drop(): Promise<void>;
}

/**
 * Whether this run's handles go through a transaction pooler (`TEST_DATABASE_POOLER=pgbouncer`
 * or `TEST_POOLER_URL`). Readable at collection time, for `skipUnderPooler`.
 */
export const underPooler: boolean = (() => {
  try {
    return ((inject('dlPoolerUrl') as string | undefined) ?? '') !== '';
  } catch {
    return false;
  }
})();

/**
 * `it`, or in a pooler run `it.skip` with `reason` in the test's name. The reason must be a
 * property of transaction pooling (a session advisory lock, LISTEN, a session-level setting, a
 * server session's identity), and the test is listed in docs/poolers.md.
 *
 * @example
 * ```ts
 * skipUnderPooler('pg_terminate_backend of the pool\'s session: the pooler owns the server session')('reconnects', async () => { ... });
 * ```
 */
export function skipUnderPooler(reason: string): typeof it {
  if (!underPooler) return it;
  return ((name: string, ...rest: Parameters<typeof it.skip> extends [unknown, ...infer R] ? R : never) =>
    it.skip(`${name} [skipped through a transaction pooler: ${reason}]`, ...rest)) as unknown as typeof it;
}

/** `describe`, or in a pooler run `describe.skip` with `reason` in its name (see `skipUnderPooler`). */
export function describeUnlessPooler(reason: string): typeof describe {
  if (!underPooler) return describe;
  return ((name: string, ...rest: Parameters<typeof describe.skip> extends [unknown, ...infer R] ? R : never) =>
    describe.skip(`${name} [skipped through a transaction pooler: ${reason}]`, ...rest)) as unknown as typeof describe;
}

/** `connection` as the library's handles reach it in this run (through the pooler, or as it is). */
export function appConnection(connection: ConnectionSettings): TestDatabase['app'] {
  const pooler = underPooler ? parseConnectionUrl(inject('dlPoolerUrl'), 'the harness pooler URL') : undefined;
  if (!pooler) return { connection, url: toConnectionUrl(connection), pooler: 'none' };
  const through: ConnectionSettings = { ...connection, host: pooler.host, port: pooler.port };
  if (connection.password !== undefined) Object.defineProperty(through, 'password', { value: connection.password, enumerable: false });
  return { connection: through, url: toConnectionUrl(through), pooler: 'transaction' };
}

/** Settings for the run's server, as a superuser on its maintenance database. */
export function adminConnection(): ConnectionSettings {
  return parseConnectionUrl(provided('dlAdminUrl'), 'the harness admin URL');
}

/**
 * A new database for the calling test file: a clone of the migrated template (default), or an
 * empty one with `{ migrated: false }`. Drop it in `afterAll`; the run's teardown drops what is left.
 *
 * @example
 * ```ts
 * let testDb: TestDatabase;
 * beforeAll(async () => { testDb = await createTestDatabase(); });
 * afterAll(() => testDb.drop());
 * ```
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const admin = adminConnection();
  const name = uniqueDatabaseName(testDatabasePrefix(provided('dlRunId')));
  await createDatabaseNamed(admin, name, options.migrated === false ? undefined : provided('dlTemplate'));
  const connection = connectionFor(admin, name);
  let dropping: Promise<void> | undefined;
  return {
    name,
    connection,
    url: toConnectionUrl(connection),
    app: appConnection(connection),
    drop: () => (dropping ??= dropDatabaseNamed(admin, name)),
  };
}

/** Options for `useTestDatabase()`. */
export interface UseTestDatabaseOptions {
  /** Clone the migrated template (default) or start empty. */
  migrated?: boolean;
  /**
   * Pool settings over the test defaults (`max: 4`, and in a pooler run `pooler: 'transaction'`;
   * everything else the library's defaults).
   */
  pool?: Partial<PoolSettings>;
  /** Receives pool errors; default: one line on stderr. */
  logger?: Logger;
}

/** What `useTestDatabase()` returns; each getter throws when used outside the file's tests. */
export interface UsedTestDatabase {
  /** The owner's path over this file's database (`database.owner`: the harness connects as a superuser). */
  readonly db: Executor<'owner'>;
  /** The whole handle (`db`, `pool`, `close`). */
  readonly database: Database;
  /**
   * A handle that connects directly even in a pooler run, as `DATABASE_MIGRATION_URL` does in a
   * deployment: for the seed runner, whose session advisory lock a transaction pooler cannot keep
   * (it refuses one). In a direct run it is `database`.
   */
  readonly direct: Database;
  /** The database itself (name, connection, url). */
  readonly testDatabase: TestDatabase;
}

/**
 * Registers `beforeAll`/`afterAll` hooks that give the calling file its own database and a
 * `createDatabase()` handle on it (a small pool, configuration independent of the environment),
 * closed and dropped after the file's tests.
 *
 * @example
 * ```ts
 * const t = useTestDatabase();
 * it('counts users', async () => {
 *   const rows = await t.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).execute();
 *   expect(rows[0]?.n).toBe(0);
 * });
 * ```
 */
export function useTestDatabase(options: UseTestDatabaseOptions = {}): UsedTestDatabase {
  let testDatabase: TestDatabase | undefined;
  let database: Database | undefined;
  let direct: Database | undefined;

  beforeAll(async () => {
    testDatabase = await createTestDatabase({ migrated: options.migrated ?? true });
    database = createDatabase({
      connectionString: testDatabase.app.url,
      env: {},
      pool: { max: 4, pooler: testDatabase.app.pooler, ...options.pool },
      ...(options.logger ? { logger: options.logger } : {}),
    });
    direct =
      testDatabase.app.pooler === 'none'
        ? database
        : createDatabase({
            connectionString: testDatabase.url,
            env: {},
            pool: { max: 4, ...options.pool, pooler: 'none' },
            ...(options.logger ? { logger: options.logger } : {}),
          });
  });

  afterAll(async () => {
    try {
      await Promise.all([database?.close({ timeoutMs: 5_000 }), direct === database ? undefined : direct?.close({ timeoutMs: 5_000 })]);
    } finally {
      await testDatabase?.drop();
    }
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useTestDatabase(): ${what} is only available inside the file's tests and hooks`);
    return value;
  };
  return {
    get db() {
      return ready(database, 'db').owner;
    },
    get database() {
      return ready(database, 'database');
    },
    get direct() {
      return ready(direct, 'direct');
    },
    get testDatabase() {
      return ready(testDatabase, 'testDatabase');
    },
  };
}

function provided<K extends 'dlAdminUrl' | 'dlTemplate' | 'dlRunId'>(key: K): string {
  const value = inject(key);
  if (typeof value !== 'string' || value === '') {
    throw new Error(
      `the test database harness did not run (no "${key}" provided): run tests with vitest.config.ts, whose globalSetup is test/support/global-setup.ts`,
    );
  }
  return value;
}
