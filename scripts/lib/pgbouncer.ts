/**
 * A private PgBouncer in front of a test server: its own config file, log and free port in a
 * temporary folder, stopped (and the folder removed) by `stop()`. Clients log in without a
 * password (`auth_type = trust`); PgBouncer looks every other role up through the admin role
 * (`auth_user`), so roles a test creates connect too, and logs in to the server as them (the
 * server must trust it, as the local and CI servers do, or take the admin's password).
 *
 * Used by the harness (`TEST_DATABASE_POOLER=pgbouncer`, global-setup.ts), the pooler tests and
 * the bench. Debian's package (`apt-get install pgbouncer`, 1.18 here) is what .ci/run installs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toConnectionUrl, type ConnectionSettings } from '../../src/connection.js';
import { freePort } from './embedded.js';

/** The pgbouncer binary, or undefined when none is installed. */
export const PGBOUNCER: string | undefined = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'].find(
  (path) => spawnSync(path, ['--version']).status === 0,
);

/** Options for `startPgBouncer()`. */
export interface PgBouncerOptions {
  /** The server behind it, as a superuser (its user is PgBouncer's `auth_user`). */
  server: ConnectionSettings;
  /** `pool_mode` for the wildcard entry (every database of the server). Default `transaction`. */
  poolMode?: 'transaction' | 'session' | 'statement';
  /** Server connections per database and user (`default_pool_size`). Default 10. */
  poolSize?: number;
  /** Named entries besides the wildcard: alias -> `{ database, poolMode }`. */
  aliases?: Record<string, { database: string; poolMode: 'transaction' | 'session' | 'statement' }>;
  /**
   * More roles and their passwords for `auth_file`, for a server that does not trust PgBouncer: it
   * logs in as them with these (the admin's is written already).
   */
  users?: Record<string, string>;
  /** `ignore_startup_parameters` (default none: a client that sends `statement_timeout` is refused, as by default). */
  ignoreStartupParameters?: readonly string[];
}

/** A running PgBouncer. */
export interface PgBouncer {
  host: string;
  port: number;
  /** `connection` (a database on the server) through PgBouncer: same user, database and password. */
  through(connection: ConnectionSettings): ConnectionSettings;
  /** The same as a URL. */
  urlFor(connection: ConnectionSettings): string;
  /** PgBouncer's log so far (for a failing test's message). */
  log(): string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

async function listening(port: number, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode} before listening: ${log().slice(-2000)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port} within ${timeoutMs} ms: ${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The uid/gid of the postgres OS user when we are root (PgBouncer refuses to run as root). */
function unprivileged(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  return Number.isInteger(uid) && uid > 0 ? { uid, gid: id('-g') } : undefined;
}

/**
 * Starts PgBouncer on a free port of 127.0.0.1 in front of `options.server`.
 *
 * @example
 * ```ts
 * const bouncer = await startPgBouncer({ server: adminConnection() });
 * const database = createDatabase({ connectionString: bouncer.urlFor(testDatabase.connection), pool: { pooler: 'transaction' } });
 * await bouncer.stop();
 * ```
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  if (!PGBOUNCER) throw new Error('no pgbouncer binary (apt-get install pgbouncer)');
  const { server } = options;
  const port = await freePort();
  const work = mkdtempSync(join(tmpdir(), 'dl-pgbouncer-'));
  chmodSync(work, 0o777);
  const logFile = join(work, 'pgbouncer.log');
  const host = server.host;
  const target = `host=${host} port=${server.port}`;
  const aliases = Object.entries(options.aliases ?? {}).map(
    ([alias, { database, poolMode }]) => `${alias} = ${target} dbname=${database} pool_mode=${poolMode}`,
  );
  writeFileSync(
    join(work, 'pgbouncer.ini'),
    [
      '[databases]',
      ...aliases,
      `* = ${target}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      "unix_socket_dir = ''",
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      'auth_type = trust',
      `auth_file = ${join(work, 'users.txt')}`,
      `auth_user = ${server.user}`,
      `logfile = ${logFile}`,
      `default_pool_size = ${options.poolSize ?? 10}`,
      'max_client_conn = 500',
      // Per-file databases come and go: idle server connections to them are closed soon.
      'server_idle_timeout = 5',
      ...(options.ignoreStartupParameters?.length ? [`ignore_startup_parameters = ${options.ignoreStartupParameters.join(',')}`] : []),
      '',
    ].join('\n'),
  );
  const password = typeof server.password === 'string' ? server.password : '';
  const quote = (text: string) => `"${text.replace(/"/g, '""')}"`;
  const users = [[server.user, password], ...Object.entries(options.users ?? {})];
  writeFileSync(join(work, 'users.txt'), users.map(([user, secret]) => `${quote(user!)} ${quote(secret!)}\n`).join(''));
  for (const file of ['pgbouncer.ini', 'users.txt']) chmodSync(join(work, file), 0o644);
  const child = spawn(PGBOUNCER, [join(work, 'pgbouncer.ini')], { stdio: 'ignore', ...unprivileged() });
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(work, { recursive: true, force: true });
    })());
  try {
    await listening(port, child, 10_000, log);
  } catch (error) {
    await stop();
    throw error;
  }
  const through = (connection: ConnectionSettings): ConnectionSettings => {
    const settings: ConnectionSettings = { ...connection, host: '127.0.0.1', port };
    if (connection.password !== undefined) Object.defineProperty(settings, 'password', { value: connection.password, enumerable: false });
    return settings;
  };
  return { host: '127.0.0.1', port, through, urlFor: (connection) => toConnectionUrl(through(connection)), log, stop };
}
