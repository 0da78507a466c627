/**
 * Per-file test databases on the run's server (see global-setup.ts): clones of the migrated
 * template, or empty ones, each dropped when the file is done.
 *
 * ```ts
 * const t = useTestDatabase();               // a migrated clone + a small pool, for this file
 * it('inserts', async () => { await t.db.insertInto('users')... });
 * ```
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { connectionFor, createDatabaseNamed, dropDatabaseNamed, uniqueDatabaseName } from '../../scripts/lib/server.js';
import { parseConnectionUrl, type PoolSettings } from '../../src/config.js';
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
  /** Drops it (`WITH (FORCE)`: open sessions are cut). Idempotent. */
  drop(): Promise<void>;
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
    drop: () => (dropping ??= dropDatabaseNamed(admin, name)),
  };
}

/** Options for `useTestDatabase()`. */
export interface UseTestDatabaseOptions {
  /** Clone the migrated template (default) or start empty. */
  migrated?: boolean;
  /** Pool settings over the test defaults (`max: 4`; everything else the library's defaults). */
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

  beforeAll(async () => {
    testDatabase = await createTestDatabase({ migrated: options.migrated ?? true });
    database = createDatabase({
      connectionString: testDatabase.url,
      env: {},
      pool: { max: 4, ...options.pool },
      ...(options.logger ? { logger: options.logger } : {}),
    });
  });

  afterAll(async () => {
    try {
      await database?.close({ timeoutMs: 5_000 });
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
