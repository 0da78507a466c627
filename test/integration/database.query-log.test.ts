/**
 * The query log (src/db/query-log.ts through createDatabase): slow queries at warn with duration
 * and SQL, parameter values only when enabled, counters in stats(), and silence by default.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDatabase, type CreateDatabaseOptions, type Database } from '../../src/db/database.js';
import { ConflictError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { createTestUser, uniqueEmail } from '../support/factories.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();

type LogFn = (obj: object, msg?: string) => void;

function spyLogger() {
  return { error: vi.fn<LogFn>(), warn: vi.fn<LogFn>(), info: vi.fn<LogFn>(), debug: vi.fn<LogFn>() } satisfies Logger;
}

const opened: Database[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});

function open(options: CreateDatabaseOptions = {}): Database {
  const database = createDatabase({ connectionString: t.testDatabase.url, env: {}, pool: { max: 2 }, ...options });
  opened.push(database);
  return database;
}

/**
 * Every string reachable from what the logger received, following own properties whether
 * enumerable or not (so an error's `cause`, `detail` and `stack` too): what any serializer could print.
 */
function everythingLogged(logger: ReturnType<typeof spyLogger>): string {
  const seen = new Set<unknown>();
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') out.push(value);
    else if (typeof value === 'number' || typeof value === 'bigint') out.push(String(value));
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    for (const key of Object.getOwnPropertyNames(value)) walk((value as Record<string, unknown>)[key]);
  };
  for (const fn of [logger.error, logger.warn, logger.info, logger.debug]) walk(fn.mock.calls);
  return out.join('\n');
}

const CANARY = 'PARAM-CANARY-7f3a';

describe('the query log', () => {
  it('logs a slow query at warn with its duration and SQL, but no parameter values', async () => {
    const logger = spyLogger();
    const database = open({ logger, slowQueryMs: 100 });
    await sql`select ${CANARY}::text as fast`.execute(database.db);
    expect(logger.warn).not.toHaveBeenCalled();

    await sql`select pg_sleep(0.15), ${CANARY}::text as slow`.execute(database.db);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    const [entry, message] = logger.warn.mock.calls[0]!;
    expect(entry).toEqual({ durationMs: expect.any(Number), sql: 'select pg_sleep(0.15), $1::text as slow' });
    expect((entry as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(100);
    expect(message).toMatch(/^slow query \(\d+(\.\d)? ms\)$/);
    // Faster queries go to debug, also without values.
    expect(logger.debug).toHaveBeenCalledWith({ durationMs: expect.any(Number), sql: 'select $1::text as fast' }, 'query');
    expect(everythingLogged(logger)).not.toContain(CANARY);
  });

  it('keeps parameter values out of failed-query entries, including the error and its cause', async () => {
    const logger = spyLogger();
    const database = open({ logger });
    const email = uniqueEmail(CANARY.toLowerCase());
    await createTestUser(database.db, { email });
    await expect(createTestUser(database.db, { email })).rejects.toBeInstanceOf(ConflictError);
    await expect(database.db.selectFrom('users').selectAll().where('id', '=', CANARY).execute()).rejects.toThrow();
    expect(logger.debug).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.objectContaining({ type: 'ConflictError', code: 'CONFLICT', sqlState: '23505' }) }),
      'query failed',
    );
    const logged = everythingLogged(logger);
    expect(logged).toContain('users_email_key'); // the failure itself is described...
    expect(logged.toLowerCase()).not.toContain(CANARY.toLowerCase()); // ...but never the values
  });

  it('includes parameter values when logParameters is on (option or DATABASE_LOG_PARAMETERS)', async () => {
    const logger = spyLogger();
    const database = open({ logger, slowQueryMs: 0, logParameters: true });
    await sql`select ${CANARY}::text as value`.execute(database.db);
    expect(logger.warn).toHaveBeenCalledWith(
      { durationMs: expect.any(Number), sql: 'select $1::text as value', parameters: [CANARY] },
      expect.stringMatching(/^slow query/),
    );

    const fromEnv = spyLogger();
    const database2 = createDatabase({
      env: { DATABASE_URL: t.testDatabase.url, DATABASE_SLOW_QUERY_MS: '0', DATABASE_LOG_PARAMETERS: 'true' },
      logger: fromEnv,
      pool: { max: 1 },
    });
    opened.push(database2);
    await sql`select ${CANARY}::text as value`.execute(database2.db);
    expect(fromEnv.warn).toHaveBeenCalledWith(expect.objectContaining({ parameters: [CANARY] }), expect.any(String));

    // With values allowed, a failure is logged with the error itself (cause included).
    await expect(database.db.selectFrom('users').select('id').where('id', '=', CANARY).execute()).rejects.toThrow();
    const failed = logger.debug.mock.calls.find(([, message]) => message === 'query failed');
    expect(failed?.[0]).toMatchObject({ parameters: [CANARY], err: expect.any(Error) });
    expect(((failed?.[0] as { err: Error }).err.cause as Error).message).toContain(CANARY);
  });

  it('stats() counts queries, errors and slow queries', async () => {
    const database = open({ logger: spyLogger(), slowQueryMs: 100 });
    expect(database.stats()).toMatchObject({ queries: 0, errors: 0, slowQueries: 0 });
    await sql`select 1`.execute(database.db);
    await sql`select 2`.execute(database.db);
    await expect(sql`select 1 / 0`.execute(database.db)).rejects.toThrow();
    await sql`select pg_sleep(0.12)`.execute(database.db);
    expect(database.stats()).toMatchObject({ queries: 4, errors: 1, slowQueries: 1 });
    // BEGIN and COMMIT are statements too.
    await database.transaction(database.db, (trx) => sql`select 3`.execute(trx));
    expect(database.stats()).toMatchObject({ queries: 7, errors: 1, slowQueries: 1 });
    // A snapshot, not a live view.
    const snapshot = database.stats();
    await sql`select 4`.execute(database.db);
    expect(snapshot.queries).toBe(7);
    expect(database.stats().queries).toBe(8);
  });

  it('is silent by default: nothing on the console, even for slow and failing queries', async () => {
    const spies = [
      vi.spyOn(console, 'log'),
      vi.spyOn(console, 'info'),
      vi.spyOn(console, 'warn'),
      vi.spyOn(console, 'error'),
      vi.spyOn(console, 'debug'),
      vi.spyOn(process.stderr, 'write'),
      vi.spyOn(process.stdout, 'write'),
    ];
    try {
      const database = open({ slowQueryMs: 0 });
      await sql`select pg_sleep(0.01), ${CANARY}::text`.execute(database.db);
      await expect(sql`select 1 / 0`.execute(database.db)).rejects.toThrow();
      expect(database.stats()).toMatchObject({ queries: 2, errors: 1, slowQueries: 2 });
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
