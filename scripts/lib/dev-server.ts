/**
 * The development database for the CLI (`npm start`, `npm run db:serve`, `npm run seed`): the
 * configured server when DATABASE_URL or PG* say so, else the persistent embedded PostgreSQL
 * under `.data/postgres` (EMBEDDED_POSTGRES_DIR) with the database `ai_validation_platform`.
 */
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { devSet } from '../../seeds/dev.js';
import { runSeedSet, type SeedOutcome } from '../../seeds/runner.js';
import { type Config, type Env } from '../../src/config.js';
import { describeConnection, toConnectionUrl, type ConnectionSettings } from '../../src/connection.js';
import { createDatabase } from '../../src/db/database.js';
import { connectError, PgErrorCode } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { createMigrator, type MigrationResult } from '../../src/migrate/index.js';
import { passwordFileFor, startEmbedded } from './embedded.js';
import { ServerError } from './postgres-server.js';
import type { PostgresServer } from './postgres-server.js';
import { adminQuery, connectionFor, pgConfig, quoteIdent } from './server.js';

/** The database the embedded development server holds. */
export const DEV_DATABASE = 'ai_validation_platform';
/** The embedded server's port unless EMBEDDED_POSTGRES_PORT says otherwise. */
export const DEFAULT_EMBEDDED_PORT = 54320;

/** A running embedded development server and the settings for its application database. */
export interface EmbeddedDevServer {
  server: PostgresServer;
  /** Superuser settings for `ai_validation_platform` (password non-enumerable). */
  connection: ConnectionSettings;
  dataDir: string;
  /** Where the generated password is kept (mode 0600). */
  passwordFile: string;
}

/** `EMBEDDED_POSTGRES_DIR`, default `.data/postgres`, resolved against the working directory. */
export function embeddedDataDir(env: Env): string {
  return path.resolve(env.EMBEDDED_POSTGRES_DIR?.trim() || path.join('.data', 'postgres'));
}

/** `EMBEDDED_POSTGRES_PORT`, default 54320. */
export function embeddedPort(env: Env): number {
  const text = env.EMBEDDED_POSTGRES_PORT?.trim();
  if (!text) return DEFAULT_EMBEDDED_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) {
    throw new ServerError(`EMBEDDED_POSTGRES_PORT must be a port number between 1 and 65535 (got "${text}")`);
  }
  return port;
}

/**
 * Starts (or reuses, when `npm run db:serve` is already running) the embedded development server
 * and creates `ai_validation_platform` on it when missing.
 *
 * `strictPort` (db:serve): listen on EMBEDDED_POSTGRES_PORT or fail; otherwise (one-shot commands)
 * that port when free, else any free port.
 *
 * @example
 * ```ts
 * const dev = await startEmbeddedDevServer({ env: process.env, strictPort: false });
 * try { console.log(describeConnection(dev.connection)); } finally { await dev.server.stop(); }
 * ```
 */
export async function startEmbeddedDevServer(options: { env: Env; strictPort: boolean; logger?: Logger }): Promise<EmbeddedDevServer> {
  const dataDir = embeddedDataDir(options.env);
  const preferred = embeddedPort(options.env);
  const port = options.strictPort || (await isPortFree(preferred)) ? preferred : undefined;
  const server = await startEmbedded({
    dataDir,
    persistent: true,
    ...(port ? { port } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  try {
    const found = await adminQuery(server.admin, 'SELECT 1 FROM pg_database WHERE datname = $1', [DEV_DATABASE]);
    if (found.length === 0) await adminQuery(server.admin, `CREATE DATABASE ${quoteIdent(DEV_DATABASE)}`);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { server, connection: connectionFor(server.admin, DEV_DATABASE), dataDir, passwordFile: passwordFileFor(dataDir) };
}

/**
 * Makes sure the configured database exists: when the server says it does not (3D000), creates it
 * through the maintenance database `postgres` with the same credentials. Returns whether it did.
 */
export async function ensureDatabaseExists(connection: ConnectionSettings, timeoutMs = 5_000): Promise<boolean> {
  const client = new pg.Client({ ...pgConfig(connection), connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return false;
  } catch (error) {
    if ((error as { code?: string }).code !== PgErrorCode.invalidCatalogName) {
      throw connectError(error, describeConnection(connection), timeoutMs);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  try {
    await adminQuery(connectionFor(connection, 'postgres'), `CREATE DATABASE ${quoteIdent(connection.database)}`);
  } catch (error) {
    throw new ServerError(
      `database "${connection.database}" does not exist and could not be created as "${connection.user}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  return true;
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1' }, () => probe.close(() => resolve(true)));
  });
}

/** What `prepareDevDatabase()` did, and the row count of every table afterwards. */
export interface PreparedDatabase {
  migrations: MigrationResult[];
  seed: SeedOutcome;
  tables: { table: string; rows: number }[];
}

/**
 * Applies pending migrations (through `config.migrationConnection`), loads the development data
 * set (idempotent), and counts the rows of every table in the public schema.
 */
export async function prepareDevDatabase(config: Config, progress: Logger): Promise<PreparedDatabase> {
  const migrations = await createMigrator({ connection: config.migrationConnection, ...config.migrations, logger: progress }).up();
  const database = createDatabase({ config, pool: { max: 2 } });
  try {
    const seed = await runSeedSet(database, devSet, { logger: progress });
    const { rows } = await database.pool.query<{ table: string }>(
      `SELECT tablename AS table FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
    );
    const tables: PreparedDatabase['tables'] = [];
    for (const { table } of rows) {
      const counted = await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.${quoteIdent(table)}`);
      tables.push({ table, rows: counted.rows[0]?.n ?? 0 });
    }
    return { migrations, seed, tables };
  } finally {
    await database.close();
  }
}

/** `postgres://user:****@host:port/db` when there is a password, else `describeConnection()`. */
export function maskedUrl(settings: ConnectionSettings): string {
  const plain = describeConnection(settings);
  return settings.password === undefined ? plain : plain.replace('@', ':****@');
}

/** The summary block `npm start` and `npm run db:serve` print. */
export function formatSummary(prepared: PreparedDatabase): string {
  const lines: string[] = [];
  const applied = prepared.migrations.length;
  lines.push(
    applied === 0 ? 'Migrations: up to date' : `Migrations: applied ${applied} (${prepared.migrations.map((m) => m.name).join(', ')})`,
  );
  const { rows, checks } = prepared.seed;
  lines.push(
    prepared.seed.status === 'skipped'
      ? `Development data: already present (dev v${prepared.seed.version}, left as is)`
      : `Development data: ${prepared.seed.status === 'upgraded' ? `upgraded from v${prepared.seed.previousVersion} to v${prepared.seed.version}:` : 'loaded'} ` +
          `${rows.users} users, ${rows.business_ideas} ideas, ${rows.evaluations} evaluations, ${rows.agent_results} agent results`,
  );
  if (checks) {
    const failed = checks.results.filter((r) => !r.ok);
    lines.push(
      failed.length === 0
        ? `Checks: all ${checks.results.length} passed`
        : `Checks: ${failed.length} FAILED (${failed.map((r) => r.name).join('; ')})`,
    );
  }
  const width = Math.max(5, ...prepared.tables.map((t) => t.table.length));
  lines.push(
    '',
    `${'TABLE'.padEnd(width)}  ROWS`,
    ...prepared.tables.map((t) => `${t.table.padEnd(width)}  ${String(t.rows).padStart(4)}`),
  );
  return lines.join('\n');
}

/** Migration progress ("applying ...") as plain lines on stdout; warnings on stderr. */
export const progressLogger: Logger = {
  info: (_obj, msg) => {
    if (msg) console.log(`  ${msg}`);
  },
  warn: (obj, msg) => console.error(`warning: ${msg ?? ''}${errorSuffix(obj)}`),
  error: (obj, msg) => console.error(`error: ${msg ?? ''}${errorSuffix(obj)}`),
  debug: () => {},
};

function errorSuffix(obj: object): string {
  const err = (obj as { err?: unknown }).err;
  return err instanceof Error ? ` (${err.message})` : '';
}

/** The database a development command works on, how to reach it, and how to let it go. */
export interface DevTarget {
  /** `loadConfig()` output pointing at the target database. */
  config: Config;
  /** Set when the target is the embedded server. */
  embedded?: EmbeddedDevServer;
  /** Lines telling a human how to connect (never the password itself). */
  connectHelp(port?: number): string[];
  /** Stops the embedded server when we started it. */
  release(): Promise<void>;
}

/**
 * DATABASE_URL / PG* when configured (creating the database when it is missing), else the
 * embedded development server.
 */
export async function openDevTarget(env: Env, options: { strictPort: boolean }): Promise<DevTarget> {
  const { isDatabaseConfigured, loadConfig } = await import('../../src/config.js');
  if (isDatabaseConfigured(env)) {
    const config = loadConfig(env);
    console.log(`Database: ${maskedUrl(config.connection)} (from DATABASE_URL / PG*)`);
    if (await ensureDatabaseExists(config.migrationConnection)) console.log(`Created database "${config.migrationConnection.database}"`);
    return {
      config,
      connectHelp: () => [`  DATABASE_URL=${maskedUrl(config.connection)}`, `  psql "${describeConnection(config.connection)}"`],
      release: async () => {},
    };
  }

  const dataDir = displayPath(embeddedDataDir(env));
  console.log(`DATABASE_URL is not set: using the embedded PostgreSQL in ${dataDir}`);
  const embedded = await startEmbeddedDevServer({ env, strictPort: options.strictPort });
  console.log(`Server: ${embedded.server.description}`);
  // loadConfig still validates the pool and MIGRATION_* variables.
  const config = loadConfig({ ...env, DATABASE_URL: toConnectionUrl(embedded.connection), DATABASE_MIGRATION_URL: undefined });
  const passwordFile = displayPath(embedded.passwordFile);
  return {
    config,
    embedded,
    connectHelp: (port = embedded.connection.port) => {
      const settings = { ...embedded.connection, port };
      Object.defineProperty(settings, 'password', { value: embedded.connection.password, enumerable: false });
      return [
        `  DATABASE_URL=${maskedUrl(settings)}`,
        `  (the password is in ${passwordFile}, readable only by you)`,
        `  PGPASSWORD="$(cat ${passwordFile})" psql -h 127.0.0.1 -p ${port} -U ${settings.user} ${settings.database}`,
      ];
    },
    release: () => embedded.server.stop(),
  };
}

/** Relative to the working directory when inside it, else absolute. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
