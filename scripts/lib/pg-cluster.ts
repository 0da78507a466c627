/**
 * A private PostgreSQL 15 cluster for the fault suite (test/faults/, through
 * test/support/cluster.ts) and the replica benchmark (scripts/bench/contenders/replica.ts): initdb into a temporary
 * folder, started with `pg_ctl` on a free loopback port, restarted (`-m fast` or `-m immediate`)
 * and stopped at will, and deleted afterwards. Nothing else on the machine is touched: the cluster
 * listens on 127.0.0.1 only, has no Unix socket, and its superuser has a random password.
 *
 * The fault tests kill backends and restart the server, which they may only do to a server they
 * own; the run's shared server (global-setup.ts) is never used for that.
 *
 * ```ts
 * const reason = clusterUnavailable();            // a string when the PostgreSQL 15 tools are missing
 * const cluster = await startCluster({ name: 'kills' });
 * const target = await cluster.migratedDatabase(); // the project's migrations, by the project's migrator
 * await cluster.restart('immediate');
 * await cluster.destroy();
 * ```
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { toConnectionUrl, type ConnectionSettings } from '../../src/connection.js';
import { createMigrator } from '../../src/migrate/index.js';
import { freePort } from './embedded.js';
import { connectionFor, createDatabaseNamed, pgConfig } from './server.js';

const execFileAsync = promisify(execFile);

/** Where the Debian packages put the PostgreSQL 15 server tools; `PG15_BIN` overrides it. */
export const PG15_BIN = process.env.PG15_BIN?.trim() || '/usr/lib/postgresql/15/bin';
const TOOLS = ['initdb', 'pg_ctl', 'postgres', 'pg_basebackup'] as const;
const SUPERUSER = 'postgres';

/**
 * Why no private cluster can be started here (the PostgreSQL 15 server tools are missing, or
 * running as root without a `postgres` OS user), or undefined when one can.
 */
export function clusterUnavailable(): string | undefined {
  const missing = TOOLS.filter((tool) => !existsSync(path.join(PG15_BIN, tool)));
  if (missing.length > 0) {
    return `the PostgreSQL 15 server tools are not installed (${missing.join(', ')} missing in ${PG15_BIN}; set PG15_BIN, or apt-get install postgresql-15)`;
  }
  if (isRoot() && osUser() === undefined) return 'running as root, and there is no postgres OS user to run the server as';
  return undefined;
}

/** A database on the cluster, migrated with the project's migrations. */
export interface ClusterDatabase {
  name: string;
  /** Superuser (the tables' owner) settings for it; the password is non-enumerable. */
  connection: ConnectionSettings;
  /** The same as a `postgres://` URL, with the password. */
  url: string;
}

/** What `startCluster()` returns. */
export interface Cluster {
  readonly host: string;
  readonly port: number;
  /** The superuser on the maintenance database `postgres` (password non-enumerable). */
  readonly admin: ConnectionSettings;
  /** The data directory (inside a temporary folder deleted by `destroy()`). */
  readonly dataDir: string;
  /** Creates a database and applies the project's migrations to it with `createMigrator`. */
  migratedDatabase(prefix?: string): Promise<ClusterDatabase>;
  /** Runs one statement on a short-lived superuser connection to `database` (default `postgres`). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[], database?: string): Promise<R[]>;
  /** `pg_ctl restart -m <mode> -w`: resolves once the server accepts connections again. */
  restart(mode: 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl stop -m <mode> -w`. */
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl start -w` after `stop()`. */
  start(): Promise<void>;
  /** The last lines of the server log (for failure messages). */
  logTail(lines?: number): Promise<string>;
  /** Stops the server (immediate) and deletes the temporary folder. Idempotent. */
  destroy(): Promise<void>;
}

/** Options for `startCluster()`. */
export interface StartClusterOptions {
  /** Names the temporary folder (`dl-fault-<name>-...`). */
  name?: string;
  /** Extra `postgresql.conf` settings. */
  settings?: Record<string, string | number>;
  /**
   * Make a hot standby of this running cluster instead of a new one: `pg_basebackup -R -X stream`
   * (its `primary_conninfo` and `standby.signal`), then started on a port of its own. The standby
   * shares the primary's superuser and password. See scripts/lib/pg-replication.ts.
   */
  standbyOf?: Cluster;
}

// Clusters not yet destroyed: stopped synchronously should the test process exit without cleanup.
const live = new Set<{ dataDir: string; root: string }>();
let exitHookInstalled = false;

/**
 * initdb (scram-sha-256, a random superuser password, no fsync), then `pg_ctl start` on a free
 * port of 127.0.0.1. As root, every server tool runs as the `postgres` OS user.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const unavailable = clusterUnavailable();
  if (unavailable) throw new Error(`cannot start a private PostgreSQL 15 cluster: ${unavailable}`);
  const slug = (options.name ?? 'cluster').toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const root = await mkdtemp(path.join(os.tmpdir(), `dl-fault-${slug}-`));
  const user = isRoot() ? osUser() : undefined;
  if (user) await chown(root, user.uid, user.gid);
  await chmod(root, 0o700);
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'server.log');
  const entry = { dataDir, root };
  live.add(entry);
  let standbyAutoConf = '';
  installExitHook();

  const primary = options.standbyOf;
  const password = primary?.admin.password ?? randomBytes(18).toString('base64url');
  const pwFile = path.join(root, 'pwfile');
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (user) await chown(pwFile, user.uid, user.gid);

  const run = (tool: string, args: string[], timeoutMs = 120_000, env?: NodeJS.ProcessEnv) => runTool(tool, args, timeoutMs, env);
  const pgCtl = (args: string[]) => run('pg_ctl', ['-D', dataDir, '-l', logFile, '-t', '60', ...args]);

  let port = 0;
  try {
    if (primary) {
      // The password goes by environment, never on a command line; -R writes it into primary_conninfo.
      await rm(pwFile, { force: true });
      await run(
        'pg_basebackup',
        ['-h', primary.host, '-p', String(primary.port), '-U', SUPERUSER, '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
        120_000,
        { ...process.env, PGPASSWORD: password },
      );
      // The copied postgresql.auto.conf holds the primary's port; the standby gets its own below.
      const autoConf = path.join(dataDir, 'postgresql.auto.conf');
      standbyAutoConf = (await readFile(autoConf, 'utf8'))
        .split('\n')
        .filter((line) => !/^\s*port\s*=/.test(line) && line.trim() !== '')
        .map((line) => `${line}\n`)
        .join('');
    } else
      await run('initdb', [
        '-D',
        dataDir,
        '-U',
        SUPERUSER,
        `--pwfile=${pwFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ]);
    await rm(pwFile, { force: true });
    const settings: Record<string, string | number> = {
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: "''",
      max_connections: 200,
      // fsync off: the suite crashes the server (restart -m immediate), never the OS, whose page
      // cache keeps every write, so nothing acknowledged can be lost to it. synchronous_commit
      // stays on: off, an immediate restart loses commits already acknowledged (the WAL still in
      // PostgreSQL's buffers), which is exactly what the suite checks never happens.
      fsync: 'off',
      synchronous_commit: 'on',
      full_page_writes: 'off',
      shared_buffers: "'64MB'",
      log_min_messages: 'warning',
      log_line_prefix: "'%m [%p] %a '",
      ...options.settings,
    };
    if (!primary)
      await appendFile(
        path.join(dataDir, 'postgresql.conf'),
        `\n# test/support/cluster.ts\n${Object.entries(settings)
          .map(([key, value]) => `${key} = ${value}`)
          .join('\n')}\n`,
      );
    // A free port can be taken between probing and binding: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      await writeFile(path.join(dataDir, 'postgresql.auto.conf'), `${standbyAutoConf}port = ${port}\n`);
      if (user) await chown(path.join(dataDir, 'postgresql.auto.conf'), user.uid, user.gid);
      try {
        await pgCtl(['-w', 'start']);
        break;
      } catch (error) {
        const tail = await readFile(logFile, 'utf8').catch(() => '');
        if (attempt >= 3 || !/could not bind|Address already in use/i.test(tail)) throw error;
      }
    }
  } catch (error) {
    const tail = await readFile(logFile, 'utf8').catch(() => '');
    await stopQuietly(dataDir);
    live.delete(entry);
    await rm(root, { recursive: true, force: true });
    throw new Error(
      `could not start a private PostgreSQL 15 cluster: ${messageOf(error)}${tail ? `\nserver log:\n${lastLines(tail, 20)}` : ''}`,
      {
        cause: error,
      },
    );
  }

  const host = '127.0.0.1';
  const admin: ConnectionSettings = { host, port, user: SUPERUSER, database: 'postgres' };
  Object.defineProperty(admin, 'password', { value: password, enumerable: false });
  let destroyed: Promise<void> | undefined;

  const query = async <R extends pg.QueryResultRow>(text: string, values?: unknown[], database = 'postgres'): Promise<R[]> => {
    const client = new pg.Client({
      ...pgConfig(connectionFor(admin, database)),
      connectionTimeoutMillis: 10_000,
      application_name: 'dl-fault-admin',
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  return {
    host,
    port,
    admin,
    dataDir,
    query,
    migratedDatabase: async (prefix = 'faults') => {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      await createDatabaseNamed(admin, name);
      const connection = connectionFor(admin, name);
      await createMigrator({ connection, lockTimeoutMs: 5_000, statementTimeoutMs: 60_000, lockWaitMs: 30_000 }).up();
      return { name, connection, url: toConnectionUrl(connection) };
    },
    restart: async (mode) => {
      await pgCtl(['-w', '-m', mode, 'restart']);
    },
    stop: async (mode = 'fast') => {
      await pgCtl(['-w', '-m', mode, 'stop']);
    },
    start: async () => {
      await pgCtl(['-w', 'start']);
    },
    logTail: async (lines = 30) => lastLines(await readFile(logFile, 'utf8').catch(() => ''), lines),
    destroy: () =>
      (destroyed ??= (async () => {
        await stopQuietly(dataDir);
        live.delete(entry);
        await rm(root, { recursive: true, force: true });
      })()),
  };
}

async function runTool(tool: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<void> {
  const [command, argv] = asPostgres(path.join(PG15_BIN, tool), args);
  try {
    await execFileAsync(command, argv, { timeout: timeoutMs, cwd: os.tmpdir(), ...(env ? { env } : {}) });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(
      `${tool} ${args.filter((a) => !a.startsWith('--pwfile')).join(' ')} failed: ${(stderr || stdout || messageOf(error)).trim()}`,
      {
        cause: error,
      },
    );
  }
}

async function stopQuietly(dataDir: string): Promise<void> {
  if (!existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  await runTool('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000).catch(() => undefined);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const { dataDir, root } of live) {
      try {
        if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
          const [command, argv] = asPostgres(path.join(PG15_BIN, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '20', 'stop']);
          execFileSync(command, argv, { stdio: 'ignore', timeout: 25_000, cwd: os.tmpdir() });
        }
        execFileSync('rm', ['-rf', root], { stdio: 'ignore' });
      } catch {
        // best effort: the process is exiting
      }
    }
  });
}

/** PostgreSQL refuses to run as root: as root, run the tool as the postgres OS user. */
function asPostgres(binary: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', SUPERUSER, '--', binary, ...args]] : [binary, args];
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function osUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

function lastLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
