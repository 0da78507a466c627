/**
 * Finds a PostgreSQL server for tests and codegen, and hands out throwaway databases on it.
 *
 * Order: `TEST_DATABASE_URL` (an existing server; never stopped, only our own databases dropped),
 * else Testcontainers PostgreSQL when a Docker engine answers, else an ephemeral embedded
 * PostgreSQL. `TEST_DATABASE_PROVIDER=embedded|testcontainers` skips the detection.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseConnectionUrl, type Env } from '../../src/config.js';
import { describeConnection, type ConnectionSettings } from '../../src/connection.js';
import { connectError } from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { startEmbedded } from './embedded.js';
import { ServerError, type PostgresServer } from './postgres-server.js';

/** Options for `acquireServer()`. */
export interface AcquireServerOptions {
  /** What the server is for (`tests`, `codegen`): names temp dirs and `application_name`. */
  purpose: string;
  /** Default `process.env`. */
  env?: Env;
  /** Why a provider was skipped goes to `info`/`warn`; server output to `debug`. */
  logger?: Logger;
}

/**
 * Acquires a server: `TEST_DATABASE_URL`, else Testcontainers (when a Docker engine answers),
 * else an ephemeral embedded PostgreSQL. Call `stop()` when done.
 *
 * @example
 * ```ts
 * const server = await acquireServer({ purpose: 'codegen' });
 * try {
 *   await withThrowawayDatabase(server, 'dl_codegen', async (connection) => { ... });
 * } finally {
 *   await server.stop();
 * }
 * ```
 */
export async function acquireServer(options: AcquireServerOptions): Promise<PostgresServer> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  const url = env.TEST_DATABASE_URL?.trim();
  if (url) return externalServer(url, env, options.purpose);

  const provider = env.TEST_DATABASE_PROVIDER?.trim() || 'auto';
  if (!['auto', 'embedded', 'testcontainers'].includes(provider)) {
    throw new ServerError(`TEST_DATABASE_PROVIDER must be auto, embedded or testcontainers (got "${provider}")`);
  }
  if (provider !== 'embedded') {
    const docker = provider === 'testcontainers' ? 'maybe' : await probeDocker(env);
    if (docker !== 'no') {
      try {
        return await testcontainersServer(env);
      } catch (error) {
        if (provider === 'testcontainers') {
          throw new ServerError(`could not start PostgreSQL with Testcontainers: ${messageOf(error)}`, { cause: error });
        }
        logger.warn({ err: error }, 'Testcontainers could not start PostgreSQL; using an embedded PostgreSQL instead');
      }
    } else {
      logger.info({}, 'no Docker engine answers; using an embedded PostgreSQL');
    }
  }

  const slug =
    options.purpose
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 20) || 'server';
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `dl-pg-${slug}-`));
  return startEmbedded({ dataDir, persistent: false, logger });
}

async function externalServer(url: string, env: Env, purpose: string): Promise<PostgresServer> {
  const admin = parseConnectionUrl(url, 'TEST_DATABASE_URL', env);
  const timeoutMs = 5_000;
  const client = new pg.Client({ ...pgConfig(admin), connectionTimeoutMillis: timeoutMs, application_name: `dl-${purpose}` });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    const failure = connectError(error, describeConnection(admin), timeoutMs);
    failure.message = `TEST_DATABASE_URL: ${failure.message}`;
    throw failure;
  }
  try {
    const { rows } = await client.query<{ version: string; num: number; superuser: boolean; createdb: boolean }>(
      `SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS num,
              rolsuper AS superuser, rolcreatedb AS createdb
         FROM pg_roles WHERE rolname = current_user`,
    );
    const row = rows[0];
    if (!row) throw new ServerError(`TEST_DATABASE_URL: cannot read the role of ${describeConnection(admin)}`);
    if (row.num < 130_000) {
      throw new ServerError(`TEST_DATABASE_URL: PostgreSQL ${row.version} is too old; 13 or newer is required`);
    }
    if (!row.superuser && !row.createdb) {
      throw new ServerError(`TEST_DATABASE_URL: role "${admin.user}" may not create databases (needs CREATEDB or superuser)`);
    }
    return {
      kind: 'external',
      admin,
      description: `PostgreSQL ${row.version} at ${describeConnection(admin)} (TEST_DATABASE_URL)`,
      stop: async () => {},
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether a Docker engine answers, within about a second: 'yes' (it answered /_ping), 'no' (no
 * socket, or nothing answered), or 'maybe' (configured in a way only Testcontainers can check).
 */
export async function probeDocker(env: Env): Promise<'yes' | 'no' | 'maybe'> {
  const host = env.DOCKER_HOST?.trim();
  if (host) {
    if (host.startsWith('unix://')) return (await ping({ socketPath: host.slice('unix://'.length) })) ? 'yes' : 'no';
    const tcp = /^tcp:\/\/([^:/]+):(\d+)/.exec(host);
    if (tcp && !env.DOCKER_TLS_VERIFY) return (await ping({ host: tcp[1], port: Number(tcp[2]) })) ? 'yes' : 'no';
    return 'maybe';
  }
  if (existsSync(path.join(os.homedir(), '.testcontainers.properties'))) return 'maybe';
  const runtimeDir = env.XDG_RUNTIME_DIR ?? (process.getuid ? `/run/user/${process.getuid()}` : undefined);
  const sockets = [
    '/var/run/docker.sock',
    path.join(os.homedir(), '.docker', 'run', 'docker.sock'),
    path.join(os.homedir(), '.docker', 'desktop', 'docker.sock'),
    ...(runtimeDir ? [path.join(runtimeDir, 'docker.sock'), path.join(runtimeDir, 'podman', 'podman.sock')] : []),
  ].filter((socket) => existsSync(socket));
  for (const socketPath of sockets) if (await ping({ socketPath })) return 'yes';
  return 'no';
}

function ping(target: { socketPath: string } | { host: string | undefined; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ ...target, path: '/_ping', timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

async function testcontainersServer(env: Env): Promise<PostgresServer> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const image = env.POSTGRES_IMAGE?.trim() || 'postgres:15';
  const password = randomBytes(18).toString('base64url');
  const container = await new PostgreSqlContainer(image)
    .withUsername('postgres')
    .withPassword(password)
    .withDatabase('postgres')
    // A throwaway server: durability off makes CREATE DATABASE ... TEMPLATE fast.
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'])
    .start();
  const admin: ConnectionSettings = { host: container.getHost(), port: container.getPort(), user: 'postgres', database: 'postgres' };
  Object.defineProperty(admin, 'password', { value: password, enumerable: false });
  let stopping: Promise<void> | undefined;
  return {
    kind: 'testcontainers',
    admin,
    description: `${image} in a Testcontainers container at ${admin.host}:${admin.port}`,
    stop: () => (stopping ??= container.stop().then(() => undefined)),
  };
}

/**
 * Creates a database with a unique name (`<prefix>_<time>_<random>`), runs `fn` with settings for
 * it, and drops it (`WITH (FORCE)`, so lingering sessions do not keep it alive) however `fn` ends.
 *
 * @example
 * ```ts
 * const tables = await withThrowawayDatabase(server, 'dl_codegen', async (connection) => {
 *   await createMigrator({ connection }).up();
 *   return listTables(connection);
 * });
 * ```
 */
export async function withThrowawayDatabase<T>(
  server: PostgresServer,
  prefix: string,
  fn: (connection: ConnectionSettings) => Promise<T>,
): Promise<T> {
  const name = uniqueDatabaseName(prefix);
  await createDatabaseNamed(server.admin, name);
  let result: T;
  try {
    result = await fn(connectionFor(server.admin, name));
  } catch (error) {
    await dropDatabaseNamed(server.admin, name).catch(() => undefined); // keep fn's error, the interesting one
    throw error;
  }
  await dropDatabaseNamed(server.admin, name);
  return result;
}

/** `<prefix>_<base36 time>_<8 hex>`; the prefix must be a plain lowercase identifier. */
export function uniqueDatabaseName(prefix: string): string {
  if (!/^[a-z_][a-z0-9_]{0,39}$/.test(prefix)) {
    throw new ServerError(`database name prefix "${prefix}" must be lowercase letters, digits and _ (at most 40)`);
  }
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** The same server and credentials, another database (keeps the password non-enumerable). */
export function connectionFor(settings: ConnectionSettings, database: string): ConnectionSettings {
  const copy: ConnectionSettings = { host: settings.host, port: settings.port, user: settings.user, database };
  if (settings.password !== undefined) Object.defineProperty(copy, 'password', { value: settings.password, enumerable: false });
  return copy;
}

/** node-postgres client settings for `settings` (including the non-enumerable password). */
export function pgConfig(settings: ConnectionSettings): pg.ClientConfig {
  return { host: settings.host, port: settings.port, user: settings.user, database: settings.database, password: settings.password };
}

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Runs statements on one short-lived admin connection. */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  admin: ConnectionSettings,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ ...pgConfig(admin), connectionTimeoutMillis: 10_000, application_name: 'dl-admin' });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectError(error, describeConnection(admin), 10_000);
  }
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `CREATE DATABASE name [TEMPLATE template]`. */
export async function createDatabaseNamed(admin: ConnectionSettings, name: string, template?: string): Promise<void> {
  await adminQuery(admin, `CREATE DATABASE ${quoteIdent(name)}${template ? ` TEMPLATE ${quoteIdent(template)}` : ''}`);
}

/** `DROP DATABASE IF EXISTS name WITH (FORCE)` (PostgreSQL 13+). */
export async function dropDatabaseNamed(admin: ConnectionSettings, name: string): Promise<void> {
  await adminQuery(admin, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
