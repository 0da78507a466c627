/**
 * Behind PgBouncer in transaction mode (a private one, two server connections), with
 * `pooler: 'transaction'` (DATABASE_POOLER): the library connects where the default configuration
 * is refused, every transaction runs with the configured timeouts and nothing a transaction sets
 * (user, actor, timeouts) reaches another client's transaction on the same server session, under
 * hundreds of interleaved transactions over more clients than server connections. The start check
 * warns when statements outside a transaction would run without a timeout. Skipped without the
 * pgbouncer binary (.ci/run installs it).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, quoteIdent } from '../../scripts/lib/server.js';
import type { PoolSettings } from '../../src/config.js';
import { toConnectionUrl } from '../../src/connection.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { ConfigError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { createWorker } from '../../src/queue/worker.js';
import { adminConnection, createTestDatabase, type TestDatabase } from '../support/database.js';
import { PGBOUNCER, startPgBouncer, type PgBouncer } from '../support/pgbouncer.js';

/** Server connections PgBouncer keeps per database and user: fewer than the clients below. */
const SERVER_CONNECTIONS = 2;

interface Entry {
  level: 'warn' | 'info' | 'debug' | 'error';
  msg: string;
}

function capture(): { logger: Logger; entries: Entry[] } {
  const entries: Entry[] = [];
  const at =
    (level: Entry['level']) =>
    (_obj: object, msg?: string): void => {
      entries.push({ level, msg: msg ?? '' });
    };
  return { logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, entries };
}

describe.skipIf(!PGBOUNCER)('through PgBouncer in transaction mode (skipped: no pgbouncer binary)', () => {
  let testDb: TestDatabase;
  let bouncer: PgBouncer;
  const handles: Database[] = [];
  const roles: string[] = [];
  /** The server's own timeouts for the harness role (what a session has without SET). */
  let baseline: { st: string; idle: string };
  // Roles for the start check: one without a statement_timeout of its own, one with (30 s).
  const bare = `dl_pooler_${randomBytes(4).toString('hex')}`;
  const tuned = `dl_pooler_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');

  beforeAll(async () => {
    testDb = await createTestDatabase();
    for (const role of [bare, tuned]) {
      await adminQuery(adminConnection(), `CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD '${password}'`);
      roles.push(role);
    }
    await adminQuery(adminConnection(), `ALTER ROLE ${quoteIdent(tuned)} SET statement_timeout = '30s'`);
    // Their passwords in PgBouncer's auth_file: a server that does not trust PgBouncer (the embedded one) takes them.
    bouncer = await startPgBouncer({
      server: adminConnection(),
      poolSize: SERVER_CONNECTIONS,
      users: { [bare]: password, [tuned]: password },
    });
    baseline = (
      await adminQuery<{ st: string; idle: string }>(
        testDb.connection,
        "select current_setting('statement_timeout') as st, current_setting('idle_in_transaction_session_timeout') as idle",
      )
    )[0]!;
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(handles.map((handle) => handle.close({ timeoutMs: 2_000 })));
    await bouncer?.stop();
    await testDb?.drop();
    for (const role of roles) await adminQuery(adminConnection(), `DROP ROLE IF EXISTS ${quoteIdent(role)}`);
  });

  const open = (pool: Partial<PoolSettings> = {}, options: { logger?: Logger; user?: string } = {}): Database => {
    const connection = { ...bouncer.through(testDb.connection), ...(options.user ? { user: options.user, password } : {}) };
    const database = createDatabase({
      connectionString: toConnectionUrl(connection),
      env: {},
      pool: { max: 2, pooler: 'transaction', ...pool },
      ...(options.logger ? { logger: options.logger } : {}),
    });
    handles.push(database);
    return database;
  };

  const setting = (name: string) => sql<{ value: string | null }>`select current_setting(${name}, true) as value`;

  it('the default configuration is refused (its timeouts are startup parameters); DATABASE_POOLER=transaction connects', async () => {
    const direct = createDatabase({ connectionString: bouncer.urlFor(testDb.connection), env: {}, pool: { max: 1 } });
    handles.push(direct);
    await expect(sql`select 1`.execute(direct.db)).rejects.toThrow(/unsupported startup parameter: statement_timeout/);

    const pooled = createDatabase({
      connectionString: bouncer.urlFor(testDb.connection),
      env: { DATABASE_POOLER: 'transaction' },
      pool: { max: 1 },
    });
    handles.push(pooled);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(pooled.db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('every transaction runs with the configured timeouts (SET LOCAL with its BEGIN); statements outside one with the role default', async () => {
    const database = open({ statementTimeoutMs: 1234, idleInTransactionTimeoutMs: 5678 });
    const inside = await database.transaction(database.db, async (trx) => ({
      statement: (await setting('statement_timeout').execute(trx)).rows[0]?.value,
      idle: (await setting('idle_in_transaction_session_timeout').execute(trx)).rows[0]?.value,
    }));
    expect(inside).toEqual({ statement: '1234ms', idle: '5678ms' });
    const serializable = await database.transaction(
      database.db,
      async (trx) => (await setting('statement_timeout').execute(trx)).rows[0]?.value,
      {
        isolationLevel: 'serializable',
      },
    );
    expect(serializable).toBe('1234ms');
    const asUser = await database.withUser(randomUUID(), async (trx) => (await setting('statement_timeout').execute(trx)).rows[0]?.value);
    expect(asUser).toBe('1234ms');
    // Outside a transaction: the server session's own value (the role's or server's default).
    expect((await setting('statement_timeout').execute(database.db)).rows[0]?.value).toBe(baseline.st);
  });

  it('a statement past the timeout inside a transaction is cancelled by the server (57014)', async () => {
    const database = open({ statementTimeoutMs: 200 });
    const error = await database
      .transaction(database.db, (trx) => sql`select pg_sleep(2)`.execute(trx))
      .then(
        () => undefined,
        (e: unknown) => e as { cause?: { code?: string } },
      );
    expect(error?.cause?.code).toBe('57014');
  });

  it('a transaction left idle past the idle-in-transaction timeout is ended by the server', async () => {
    const database = open({ idleInTransactionTimeoutMs: 200, statementTimeoutMs: 5_000 });
    const outcome = await database
      .transaction(database.db, async (trx) => {
        await sql`select 1`.execute(trx);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await sql`select 1`.execute(trx);
      })
      .then(
        () => 'committed',
        (error: unknown) => (error as Error).message,
      );
    expect(outcome).not.toBe('committed');
    // The pooler is left working: the next transaction runs.
    expect(await database.transaction(database.db, async (trx) => (await sql<{ one: number }>`select 1 as one`.execute(trx)).rows)).toEqual(
      [{ one: 1 }],
    );
  });

  it('warns at start when statements outside a transaction run with no statement_timeout, and not once the role has one', async () => {
    const warned = capture();
    const first = open({ statementTimeoutMs: 30_000 }, { logger: warned.logger, user: bare });
    await sql`select 1`.execute(first.db);
    const warnings = warned.entries.filter((e) => e.level === 'warn').map((e) => e.msg);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`runs with role "${bare}"'s own statement_timeout, which is 0 (none)`);
    expect(warnings[0]).toContain(`ALTER ROLE "${bare}" SET statement_timeout = '30000ms'`);

    const quiet = capture();
    const second = open({ statementTimeoutMs: 30_000 }, { logger: quiet.logger, user: tuned });
    await sql`select 1`.execute(second.db);
    expect(quiet.entries.filter((e) => e.level === 'warn')).toEqual([]);
    expect((await setting('statement_timeout').execute(second.db)).rows[0]?.value).toBe('30s');
  });

  it('named prepared statements stay off behind the pooler unless poolerPreparedStatements', async () => {
    const database = open({ max: 4 });
    // Every query (many texts, many times) on two shared server sessions; none leaves a statement there.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        sql`select ${i}::int as n, count(*) as c from users where email = ${`x${i}@example.com`}`.execute(database.owner),
      ),
    );
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(database.db);
    expect(rows[0]?.n).toBe(0);
  });

  it('the queue worker refuses to LISTEN through the pooler, naming a direct URL', () => {
    const database = open();
    const refusal = (() => {
      try {
        createWorker({ database, handler: () => Promise.reject(new Error('never runs')) });
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as ConfigError).message).toMatch(/listen.*transaction pooler.*cannot carry LISTEN.*listen: \{ connectionString \}/s);
  });

  it('settings made in one transaction never reach another client on the same server session, under load', async () => {
    const CLIENTS = 8; // handles, each with its own pool of 2: 16 client connections over SERVER_CONNECTIONS
    const ROUNDS = 40;
    const clients = Array.from({ length: CLIENTS }, (_, i) => ({
      i,
      userId: randomUUID(),
      actorId: randomUUID(),
      statementTimeoutMs: 20_001 + i, // not whole seconds: current_setting shows them in ms
      idleMs: 40_001 + i,
      database: open({ max: 2, statementTimeoutMs: 20_001 + i, idleInTransactionTimeoutMs: 40_001 + i }),
    }));
    const served = new Map<number, Set<number>>(); // backend pid -> clients it served
    const mismatches: string[] = [];
    const note = (pid: number, i: number) => {
      const set = served.get(pid) ?? new Set<number>();
      set.add(i);
      served.set(pid, set);
    };
    const read = sql<{ pid: number; user: string | null; actor: string | null; st: string; idle: string }>`
      select pg_backend_pid() as pid, current_setting('app.user_id', true) as user, current_setting('app.actor_id', true) as actor,
             current_setting('statement_timeout') as st, current_setting('idle_in_transaction_session_timeout') as idle`;

    const round = async (client: (typeof clients)[number], r: number): Promise<void> => {
      const { database, i } = client;
      const inside = await database.withUser(
        client.userId,
        async (trx) => {
          const before = (await read.execute(trx)).rows[0]!;
          // Held open a moment, so other clients' transactions interleave on the other server session.
          await sql`select pg_sleep(0.002)`.execute(trx);
          const after = (await read.execute(trx)).rows[0]!;
          return [before, after];
        },
        { actorId: client.actorId },
      );
      for (const row of inside) {
        note(row.pid, i);
        const expected = { user: client.userId, actor: client.actorId, st: `${client.statementTimeoutMs}ms`, idle: `${client.idleMs}ms` };
        const seen = { user: row.user, actor: row.actor, st: row.st, idle: row.idle };
        if (JSON.stringify(seen) !== JSON.stringify(expected)) mismatches.push(`client ${i} round ${r} inside: ${JSON.stringify(seen)}`);
      }
      // Outside a transaction nothing of any client's transaction is left on the server session.
      const outside = (await read.execute(database.db)).rows[0]!;
      note(outside.pid, i);
      if (outside.user || outside.actor || outside.st !== baseline.st || outside.idle !== baseline.idle)
        mismatches.push(`client ${i} round ${r} outside: ${JSON.stringify(outside)}`);
    };
    // Each client runs two rounds at a time (its pool's size): 16 concurrent streams.
    await Promise.all(
      clients.flatMap((client) =>
        [0, 1].map(async (stream) => {
          for (let r = stream; r < ROUNDS; r += 2) await round(client, r);
        }),
      ),
    );
    expect(mismatches).toEqual([]);
    // The load really went through shared server sessions: at most SERVER_CONNECTIONS backends, each serving many clients.
    expect(served.size).toBeGreaterThan(0);
    expect(served.size).toBeLessThanOrEqual(SERVER_CONNECTIONS);
    expect(Math.max(...[...served.values()].map((set) => set.size))).toBe(CLIENTS);
  }, 120_000);

  it('(the check above can fail) a session-level set_config does reach the next client of the server session', async () => {
    const [a, b] = [open({ max: 1 }), open({ max: 1 })];
    await sql`select set_config('app.user_id', 'leaked', false)`.execute(a.db);
    // PgBouncer hands the most recently released server session to the next client.
    const seen = new Set<string | null>();
    for (let k = 0; k < 10; k++) seen.add((await setting('app.user_id').execute(b.db)).rows[0]?.value ?? null);
    expect(seen.has('leaked')).toBe(true);
    await sql`select set_config('app.user_id', '', false)`.execute(a.db);
  });
});
