/**
 * Through PgBouncer: in transaction mode `up` and the seed runner refuse before taking their
 * session advisory lock (it would not hold there), naming DATABASE_MIGRATION_URL; in session mode
 * (a server session per client, like a direct connection) `up` runs. Skipped where the
 * `pgbouncer` binary is absent (.ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devSet } from '../../seeds/dev.js';
import { runSeedSet } from '../../seeds/runner.js';
import { createDatabase } from '../../src/db/database.js';
import { createMigrator } from '../../src/migrate/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { PGBOUNCER, startPgBouncer, type PgBouncer } from '../support/pgbouncer.js';
import { appliedNames, createScratchDatabase, migrationsDir, rejection, sql, type MigrationsDir, type ScratchDatabase } from './support.js';

describe.skipIf(!PGBOUNCER)('through PgBouncer (skipped: no pgbouncer binary)', () => {
  let db: ScratchDatabase;
  let seeded: TestDatabase;
  let dir: MigrationsDir;
  let bouncer: PgBouncer;
  let port: number;
  const url = (database: string, user = db.connection.user) => `postgres://${user}@127.0.0.1:${port}/${database}`;

  beforeAll(async () => {
    [db, seeded] = await Promise.all([createScratchDatabase(), createTestDatabase()]);
    dir = migrationsDir({ '20260101000000_create_a.sql': sql('CREATE TABLE a (id int);', 'DROP TABLE a;') });
    bouncer = await startPgBouncer({
      server: db.connection,
      poolSize: 4,
      aliases: {
        tx: { database: db.name, poolMode: 'transaction' },
        session: { database: db.name, poolMode: 'session' },
        seed_tx: { database: seeded.name, poolMode: 'transaction' },
      },
      // The migrator sets its timeouts as startup parameters, which PgBouncer passes on only if told to ignore them.
      ignoreStartupParameters: [
        'extra_float_digits',
        'options',
        'statement_timeout',
        'idle_in_transaction_session_timeout',
        'lock_timeout',
      ],
    });
    port = bouncer.port;
  }, 60_000);

  afterAll(async () => {
    await bouncer?.stop();
    await Promise.all([db?.drop(), seeded?.drop()]);
    dir?.cleanup();
  });

  const migrator = (database: string) =>
    createMigrator({
      connection: { ...db.connection, host: '127.0.0.1', port, database },
      migrationsDir: dir.path,
      lockWaitMs: 5000,
      connectionCheckIntervalMs: 0,
    });

  it('up in transaction mode is refused before the lock, naming DATABASE_MIGRATION_URL; nothing is applied', async () => {
    const error = await rejection(migrator('tx').up());
    expect(error.code).toBe('MIGRATION_POOLER');
    expect(error.message).toMatch(
      /^refusing to migrate through a transaction pooler \((two clients were served by the same server session|the backend pid changed)/,
    );
    expect(error.message).toContain('Set DATABASE_MIGRATION_URL to a direct connection');
    expect(await appliedNames(db)).toEqual([]);
    const locks = await db.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(locks).toEqual([]);
  }, 60_000);

  it('up in session mode runs (a server session per client, as direct)', async () => {
    expect((await migrator('session').up()).map((r) => r.name)).toEqual(['20260101000000_create_a']);
    expect(await appliedNames(db)).toEqual(['20260101000000_create_a']);
  }, 60_000);

  it('the seed runner refuses the same way', async () => {
    const database = createDatabase({ connectionString: url('seed_tx'), env: { DATABASE_PREPARED_STATEMENTS: 'false' }, pool: { max: 2 } });
    try {
      const error = await rejection(runSeedSet(database, devSet, { checks: false }));
      expect(error.code).toBe('SEED_POOLER_REFUSED');
      expect(error.message).toContain('refusing to seed through a transaction pooler');
      expect(error.message).toContain('DATABASE_MIGRATION_URL');
    } finally {
      await database.close();
    }
  }, 60_000);
});
