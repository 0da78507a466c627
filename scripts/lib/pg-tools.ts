/**
 * pg_dump / pg_restore for `npm run db:backup` and `npm run db:restore`: the target from the
 * configuration (the migration connection: owner role, direct), the password in the child's
 * PGPASSWORD (never on the command line, where `ps` shows it), and a version check before dumping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { isDatabaseConfigured, loadConfig, type Env } from '../../src/config.js';
import { describeConnection, type ConnectionSettings } from '../../src/connection.js';
import { connectionOptions } from '../../src/connection.js';
import { connectError, DataLayerError } from '../../src/errors.js';

/** A backup or restore was refused or failed; the message says why and what to do. */
export class BackupError extends DataLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKUP_FAILED', message, options);
  }
}

/** The database to back up or restore into, and how to let go of it afterwards. */
export interface BackupTarget {
  connection: ConnectionSettings;
  /** Where it came from, for messages. */
  source: string;
  release(): Promise<void>;
}

/**
 * DATABASE_MIGRATION_URL, else DATABASE_URL / PG* (the owner role: the app role cannot read
 * every table); with none configured, the embedded development server (started, then stopped).
 */
export async function resolveTarget(env: Env): Promise<BackupTarget> {
  if (isDatabaseConfigured(env)) {
    const config = loadConfig(env);
    const source = env.DATABASE_MIGRATION_URL?.trim() ? 'DATABASE_MIGRATION_URL' : 'DATABASE_URL / PG*';
    return { connection: config.migrationConnection, source, release: async () => undefined };
  }
  const { startEmbeddedDevServer } = await import('./dev-server.js');
  const dev = await startEmbeddedDevServer({ env, strictPort: false });
  return { connection: dev.connection, source: 'the embedded development server', release: () => dev.server.stop() };
}

/** The major version of a local client tool (`pg_dump (PostgreSQL) 15.20 ...` -> 15). */
export async function toolMajor(tool: 'pg_dump' | 'pg_restore'): Promise<number> {
  const { code, stdout, stderr } = await run(tool, ['--version'], process.env).catch((error: unknown) => {
    throw new BackupError(
      `${tool} was not found (${(error as Error).message}); install the PostgreSQL client tools (e.g. the postgresql-client package) and put them on PATH`,
      { cause: error },
    );
  });
  const major = /\(PostgreSQL\)\s+(\d+)/.exec(stdout)?.[1];
  if (code !== 0 || !major) throw new BackupError(`could not tell the version of ${tool}: ${(stdout + stderr).trim()}`);
  return Number(major);
}

/** The server's major version and full version string. */
export async function serverVersion(connection: ConnectionSettings): Promise<{ major: number; version: string }> {
  const client = new pg.Client({ ...clientSettings(connection), connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect().catch((error: unknown) => Promise.reject(connectError(error, describeConnection(connection), 10_000)));
    const { rows } = await client.query<{ num: string; version: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version",
    );
    return { major: Math.floor(Number(rows[0]!.num) / 10_000), version: rows[0]!.version };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** pg_dump refuses (and a dump would be unreliable) when the server is newer than the tool. */
export function checkDumpVersion(toolMajorVersion: number, server: { major: number; version: string }, target: string): void {
  if (toolMajorVersion < server.major) {
    throw new BackupError(
      `the local pg_dump is PostgreSQL ${toolMajorVersion}, older than the server at ${target} (PostgreSQL ${server.version}); ` +
        `pg_dump can only dump servers of its own major version or older. Install the PostgreSQL ${server.major} client tools ` +
        `(e.g. postgresql-client-${server.major}) and put them first on PATH. Nothing was written.`,
    );
  }
}

/**
 * The environment for pg_dump / pg_restore: ours without any PG* or DATABASE_* variable, plus
 * libpq's PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD and the TLS settings for `connection`.
 */
export async function toolEnv(connection: ConnectionSettings, base: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) if (!/^(PG|DATABASE_)/.test(key)) env[key] = value;
  env.PGHOST = connection.host;
  env.PGPORT = String(connection.port);
  env.PGUSER = connection.user;
  env.PGDATABASE = connection.database;
  env.PGAPPNAME = 'data-layer backup';
  const password = connection.password ?? (connection.passwordProvider ? await connection.passwordProvider() : undefined);
  if (password !== undefined) env.PGPASSWORD = password;
  const tls = connection.ssl;
  if (tls && tls.mode !== 'disable') {
    env.PGSSLMODE = tls.mode;
    if (tls.caFile) env.PGSSLROOTCERT = tls.caFile;
  } else {
    env.PGSSLMODE = 'disable';
  }
  return env;
}

/** pg_dump arguments: custom format (compressed, selective restore), no password prompt. */
export function dumpArgs(file: string): string[] {
  return ['--format=custom', '--no-password', `--file=${file}`];
}

/**
 * pg_restore arguments: drop what the archive holds before recreating it, leave ownership to the
 * connecting role, stop at the first error, all in one transaction (all or nothing).
 */
export function restoreArgs(file: string, database: string): string[] {
  return ['--clean', '--if-exists', '--no-owner', '--single-transaction', '--exit-on-error', '--no-password', `--dbname=${database}`, file];
}

/** The tools `run()` started that are still running: stopped by `stopRunningTools()` on a signal. */
const runningTools = new Set<ChildProcess>();

/** Runs a tool to completion, collecting its output. */
export function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    runningTools.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      runningTools.delete(child);
      reject(error);
    });
    child.on('close', (code) => {
      runningTools.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Stops the pg_dump / pg_restore processes `run()` started (SIGTERM, waiting up to 5 s for each):
 * a shutdown hook of the npm scripts, so an interrupted backup or restore leaves no tool behind
 * (pg_restore's single transaction is rolled back by the server).
 */
export async function stopRunningTools(): Promise<void> {
  await Promise.all(
    [...runningTools].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(resolve, 5_000).unref();
          child.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

function clientSettings(connection: ConnectionSettings): pg.ClientConfig {
  return { ...connectionOptions(connection), application_name: 'data-layer backup' };
}
