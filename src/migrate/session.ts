/**
 * The migrator's own server sessions: how they are named, so that a waiting migrator can tell a
 * live lock holder from a dead one (lock.ts), and the settings that make the server notice a dead
 * client instead of running its statement, and holding its locks, to the end.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from '../logger.js';

/** Who a migrator process is, as far as another process on the same machine can check it. */
export interface ProcessIdentity {
  pid: number;
  /** The host name, reduced to `[A-Za-z0-9._-]`, for people reading `pg_stat_activity`. */
  host: string;
  /**
   * 8 hex digits of sha256(host name, kernel boot id, pid namespace): equal only for processes
   * that see the same process table. Undefined where `/proc` cannot be read (not Linux).
   */
  hostTag?: string;
  /** The process's start time in clock ticks since boot, base 36 (`/proc/<pid>/stat`), so a reused pid is told apart. */
  startTag?: string;
}

/** PostgreSQL truncates `application_name` to NAMEDATALEN - 1 bytes. */
export const APPLICATION_NAME_MAX = 63;
const PREFIX = 'data-layer migrate (pid ';
const PATTERN = /^data-layer migrate \(pid (\d+) on (.*?)(?:, ([0-9a-f]{8})\.([0-9a-z]+))?\)$/;

let self: ProcessIdentity | undefined;

/** This process's identity (computed once). */
export function processIdentity(): ProcessIdentity {
  self ??= identityOf(process.pid);
  return self;
}

function identityOf(pid: number): ProcessIdentity {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '_') || 'unknown';
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = readlinkSync('/proc/self/ns/pid');
    const startTicks = procStat(pid)?.startTicks;
    if (!bootId || startTicks === undefined) return { pid, host };
    const hostTag = createHash('sha256').update(`${hostname()}\n${bootId}\n${pidNamespace}`).digest('hex').slice(0, 8);
    return { pid, host, hostTag, startTag: startTicks.toString(36) };
  } catch {
    return { pid, host };
  }
}

/** State and start time of a process from `/proc/<pid>/stat`, or undefined when it cannot be read. */
function procStat(pid: number): { state: string; startTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ... starttime(22) ...": comm may hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]);
  if (!fields[0] || !Number.isSafeInteger(startTicks)) return undefined;
  return { state: fields[0], startTicks };
}

/**
 * `data-layer migrate (pid 4242 on build-7, 1a2b3c4d.5k2x9)`: the main migration session's
 * `application_name`, at most 63 bytes (the host name is shortened to fit; the tags decide, the
 * name is for people). Without `/proc`, `data-layer migrate (pid 4242 on build-7)`.
 */
export function migratorApplicationName(identity: ProcessIdentity = processIdentity()): string {
  const tags = identity.hostTag && identity.startTag ? `, ${identity.hostTag}.${identity.startTag}` : '';
  const room = APPLICATION_NAME_MAX - `${PREFIX}${identity.pid} on ${tags})`.length;
  return `${PREFIX}${identity.pid} on ${identity.host.slice(0, Math.max(1, room))}${tags})`;
}

/** The identity in a migrator's `application_name`, or undefined when it is not one. */
export function parseMigratorApplicationName(name: string): ProcessIdentity | undefined {
  const m = PATTERN.exec(name);
  if (!m) return undefined;
  return { pid: Number(m[1]), host: m[2]!, hostTag: m[3], startTag: m[4] };
}

/** What a waiting migrator can tell about the process behind a session. */
export interface Liveness {
  /** `dead` only when this machine's process table proves the migrator process is gone. */
  verdict: 'alive' | 'dead' | 'unknown';
  /** Why, in words: "process 4242 on this host no longer exists". */
  reason: string;
}

/**
 * Whether the migrator process named by a session's `application_name` is still running. Only a
 * migrator session whose tags say it runs on this machine, in this pid namespace, since this boot,
 * can be found `dead`: its pid no longer exists, is a zombie, or now belongs to a process that
 * started at another time (the pid was reused). Anything else (another host or container, no
 * `/proc`, not a migrator session) is `unknown`, never `dead`.
 */
export function holderLiveness(applicationName: string, me: ProcessIdentity = processIdentity()): Liveness {
  const holder = parseMigratorApplicationName(applicationName);
  if (!holder || holder.pid < 1) return { verdict: 'unknown', reason: 'it is not a data-layer migrator session' };
  if (!holder.hostTag || !me.hostTag) {
    return { verdict: 'unknown', reason: `its process ${holder.pid} on ${holder.host} cannot be checked from here (no /proc)` };
  }
  if (holder.hostTag !== me.hostTag) {
    return { verdict: 'unknown', reason: `its process ${holder.pid} runs on another host or container (${holder.host})` };
  }
  let exists = true;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    exists = (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  if (!exists) return { verdict: 'dead', reason: `its process ${holder.pid} on this host no longer exists` };
  const stat = procStat(holder.pid);
  // It exists but cannot be inspected (a /proc mounted with hidepid, say): it may well be alive.
  if (!stat) return { verdict: 'unknown', reason: `its process ${holder.pid} exists on this host but cannot be inspected` };
  if (stat.state === 'Z' || stat.state === 'X') return { verdict: 'dead', reason: `its process ${holder.pid} on this host has exited` };
  if (stat.startTicks.toString(36) !== holder.startTag) {
    return { verdict: 'dead', reason: `its process ${holder.pid} on this host is gone (the pid now belongs to a process started later)` };
  }
  return { verdict: 'alive', reason: `its process ${holder.pid} is running on this host` };
}

/** Settings of the migrator's sessions (see `MigratorOptions.connectionCheckIntervalMs`). */
export interface SessionSettings {
  /** `client_connection_check_interval` (ms, PostgreSQL 14+); 0 leaves the server's setting. */
  connectionCheckIntervalMs: number;
}

/**
 * Server-side TCP keepalives for the migrator's sessions (seconds): a client whose host vanished
 * (no FIN or RST ever arrives) is found dead after about idle + interval * count = 25 s, instead
 * of the operating system's default of two hours. Unix-socket sessions ignore them.
 */
const KEEPALIVES = { tcp_keepalives_idle: '10', tcp_keepalives_interval: '5', tcp_keepalives_count: '3' };

/**
 * Makes the server notice quickly when the migrator dies: `client_connection_check_interval`
 * (PostgreSQL 14+; the server then polls the socket during a long statement and ends the session,
 * rolling back its transaction and releasing the migration lock, instead of running the statement
 * to its end) and server-side TCP keepalives. On older servers, or where a setting is refused
 * (a platform without the check), it carries on without it.
 */
export async function prepareSession(client: pg.ClientBase, settings: SessionSettings, logger: Logger): Promise<void> {
  const { rows } = await client.query<{ version: number }>("SELECT current_setting('server_version_num')::int AS version");
  const version = rows[0]?.version ?? 0;
  try {
    await client.query(
      `SELECT ${Object.keys(KEEPALIVES)
        .map((name, i) => `set_config('${name}', $${i + 1}, false)`)
        .join(', ')}`,
      Object.values(KEEPALIVES),
    );
  } catch (err) {
    logger.debug({ err }, 'could not set TCP keepalives on the migration session');
  }
  if (settings.connectionCheckIntervalMs <= 0) return;
  if (version < 140000) {
    logger.debug({ version }, 'client_connection_check_interval needs PostgreSQL 14 or newer; carrying on without it');
    return;
  }
  try {
    await client.query("SELECT set_config('client_connection_check_interval', $1, false)", [String(settings.connectionCheckIntervalMs)]);
  } catch (err) {
    logger.warn(
      { err },
      'the server refused client_connection_check_interval: a killed migrator session may outlive it until its statement ends',
    );
  }
}
