/**
 * vitest globalSetup: once per run, acquire a server (TEST_DATABASE_URL, Testcontainers or an
 * embedded PostgreSQL), create and migrate the template database every test file clones, and
 * provide both to the test files. With `TEST_DATABASE_POOLER=pgbouncer` it also starts a PgBouncer
 * in transaction mode in front of the server (or takes `TEST_POOLER_URL`, a pooler that serves
 * every database of it), and the test files' handles go through it while admin work stays direct.
 * Teardown drops every database of this run (and only this run), then stops what we started.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TestProject } from 'vitest/node';
import { acquireServer, adminQuery, connectionFor, createDatabaseNamed, dropDatabaseNamed, quoteIdent } from '../../scripts/lib/server.js';
import { toConnectionUrl } from '../../src/connection.js';
import type { Logger } from '../../src/logger.js';
import { createMigrator } from '../../src/migrate/index.js';
import { runDatabasePattern, templateName } from './names.js';
import { startPgBouncer, type PgBouncer } from './pgbouncer.js';

const notes: Logger = {
  error: (obj, msg) => console.error(`[test db] error: ${msg ?? ''}${errText(obj)}`),
  warn: (obj, msg) => console.error(`[test db] ${msg ?? ''}${errText(obj)}`),
  info: () => {},
  debug: () => {},
};

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  // Lowercase base36 time + random: sortable, unique across concurrent runs on a shared server.
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const server = await acquireServer({ purpose: 'tests', logger: notes });
  const template = templateName(runId);

  let bouncer: PgBouncer | undefined;

  const teardown = async (): Promise<void> => {
    try {
      await bouncer?.stop();
      // Anything of this run that a crashed test file left behind; never another run's databases.
      const leftovers = await adminQuery<{ datname: string }>(
        server.admin,
        `SELECT datname FROM pg_database WHERE datname LIKE $1 ESCAPE '\\' AND datname <> $2`,
        [runDatabasePattern(runId), template],
      );
      for (const { datname } of leftovers) await dropDatabaseNamed(server.admin, datname);
      await adminQuery(server.admin, `ALTER DATABASE ${quoteIdent(template)} WITH IS_TEMPLATE false`).catch(() => undefined);
      await dropDatabaseNamed(server.admin, template);
    } finally {
      await server.stop();
    }
  };

  try {
    await createDatabaseNamed(server.admin, template);
    // Says whose it is, should a killed run (no teardown) leave it on a shared server.
    const owner = `vitest run ${runId}: pid ${process.pid} on ${hostname()}, started ${new Date().toISOString()}`;
    await adminQuery(server.admin, `COMMENT ON DATABASE ${quoteIdent(template)} IS ${quoteLiteral(owner)}`);
    await createMigrator({
      connection: connectionFor(server.admin, template),
      lockTimeoutMs: 5_000,
      statementTimeoutMs: 60_000,
      lockWaitMs: 30_000,
    }).up();
    // Nobody may connect to the template (a session on it would block every clone); IS_TEMPLATE
    // lets a CREATEDB role that does not own it clone it too.
    await adminQuery(server.admin, `ALTER DATABASE ${quoteIdent(template)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
  } catch (error) {
    await teardown().catch((cleanup: unknown) => notes.error({ err: cleanup }, 'cleanup after a failed setup failed'));
    throw error;
  }

  let poolerUrl = '';
  try {
    poolerUrl = process.env.TEST_POOLER_URL?.trim() ?? '';
    const pooler = process.env.TEST_DATABASE_POOLER?.trim() ?? '';
    if (poolerUrl === '' && pooler !== '') {
      if (pooler !== 'pgbouncer') throw new Error(`TEST_DATABASE_POOLER must be pgbouncer (got "${pooler}")`);
      bouncer = await startPgBouncer({ server: server.admin, poolMode: 'transaction' });
      poolerUrl = `postgres://${bouncer.host}:${bouncer.port}`;
    }
  } catch (error) {
    await teardown().catch((cleanup: unknown) => notes.error({ err: cleanup }, 'cleanup after a failed setup failed'));
    throw error;
  }

  project.provide('dlAdminUrl', toConnectionUrl(server.admin));
  project.provide('dlPoolerUrl', poolerUrl);
  project.provide('dlTemplate', template);
  project.provide('dlRunId', runId);
  const through = poolerUrl ? `; test files through the transaction pooler at ${poolerUrl}` : '';
  console.error(`[test db] ${server.description}; template ${template} migrated in ${Date.now() - started} ms${through}`);
  return teardown;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function errText(obj: object): string {
  const err = (obj as { err?: unknown }).err;
  return err instanceof Error ? ` (${err.message})` : '';
}
