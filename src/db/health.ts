/**
 * `database.health()`: is the server answering, how fast, which version, how busy is the pool, and
 * does the schema match this code's migrations. Bounded by a timeout, cheap enough to poll every
 * few seconds (one ping per call, shared by concurrent callers; the ledger is read at most once
 * per `migrationsTtlMs`), and free of secrets.
 */
import pg from 'pg';
import { type PoolSettings } from '../config.js';
import { describeConnection, type ConnectionSettings } from '../connection.js';
import { connectError } from '../errors.js';
import type { Logger } from '../logger.js';
import { loadMigrations, type MigrationFile } from '../migrate/files.js';
import { migrationStates, readLedger, type LedgerRow } from '../migrate/ledger.js';
import { defaultMigrationsDir } from '../migrate/paths.js';
import { poolGauges, type PoolGauges } from './metrics.js';
import { sessionOptions } from './pool.js';
import type { ReplicaHealth, Router } from './replicas.js';

/** Migration state as the health check sees it. */
export interface MigrationHealth {
  /** Files applied unchanged. */
  applied: number;
  /** Files not applied yet. */
  pending: number;
  /** Files edited after they were applied (checksum differs). */
  changed: number;
  /** Ledger rows whose file is gone (this code is older than the database). */
  missing: number;
  /** The newest applied migration, or null. */
  latest: string | null;
  /** Set when the state could not be read; the counts are then zero. */
  error?: string;
}

/** What `database.health()` returns. Safe to serve as is: it holds no connection string or secret. */
export interface HealthReport {
  /**
   * `ok`: answering, schema in step with the migration files (and every replica serving reads).
   * `degraded`: answering, but migrations are pending, changed or missing, or their state could
   * not be read, or a replica is down, lagging or not a standby (its reads go elsewhere; `ready`
   * is not affected). `down`: no answer within the timeout, a failed connection, the primary URL
   * leads to a hot standby (writes would fail), or the handle is closed.
   */
  status: 'ok' | 'degraded' | 'down';
  /** Whether to route traffic here: answering, and no pending, changed or missing migration. */
  ready: boolean;
  /** Round trip of the ping in ms (null when down). */
  latencyMs: number | null;
  /** `server_version` (null when down). */
  serverVersion: string | null;
  pool: PoolGauges;
  migrations: MigrationHealth;
  /** Why it is down or degraded, with connection strings and the password removed. */
  error?: string;
  /** With replicas configured: each standby's status, role and replay lag (docs/replicas.md). */
  replicas?: ReplicaHealth[];
  /** When the check ran (ISO 8601). */
  checkedAt: string;
}

/** Options for health checks (`createDatabase({ health })`, `database.health(options)`). */
export interface HealthOptions {
  /** Give up and report `down` after this long (ms). Default 2000. */
  timeoutMs?: number;
  /** Reuse the migration state this long (ms). Default 10000. */
  migrationsTtlMs?: number;
  /** The migration files to compare with. Default: the package's `migrations/`. */
  migrationsDir?: string;
  /** Set false to skip the migration state (counts are then zero, `migrations.error` says so, status stays ok). Default true. */
  checkMigrations?: boolean;
}

/** What the health check needs from `createDatabase()`. */
export interface HealthDependencies {
  pool: pg.Pool;
  poolSettings: PoolSettings;
  connection: ConnectionSettings;
  /** Read the ledger through this connection when the pool's role may not (least privilege). */
  migrationConnection: ConnectionSettings;
  isClosed: () => boolean;
  logger: Logger;
  /** The replica router, when replicas are configured. */
  replicas?: Pick<Router, 'check'>;
}

const DEFAULT_TIMEOUT_MS = 2000;
const INSUFFICIENT_PRIVILEGE = '42501';
const DEFAULT_MIGRATIONS_TTL_MS = 10_000;

/** Builds `database.health()`. */
export function createHealthCheck(deps: HealthDependencies, defaults?: HealthOptions | null) {
  const redact = redactor(deps.connection, deps.migrationConnection);
  let ping: Promise<{ serverVersion: string; latencyMs: number; standby: boolean }> | undefined;
  const filesByDir = new Map<string, MigrationFile[]>(); // parsed once per folder
  let cached: { at: number; dir: string; value: MigrationHealth } | undefined;
  let reading: Promise<MigrationHealth> | undefined;

  // One ping at a time: while the server hangs, callers share the attempt instead of piling up checkouts.
  const pingOnce = () =>
    (ping ??= (async () => {
      const started = performance.now();
      const { rows } = await deps.pool.query<{ version: string; standby: boolean }>(
        "SELECT current_setting('server_version') AS version, pg_catalog.pg_is_in_recovery() AS standby",
      );
      return { serverVersion: rows[0]!.version, standby: rows[0]!.standby, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    })().finally(() => (ping = undefined)));

  const migrationFiles = (dir: string): MigrationFile[] => {
    let files = filesByDir.get(dir);
    if (!files) filesByDir.set(dir, (files = loadMigrations(dir)));
    return files;
  };

  const ledgerRows = async (timeoutMs: number): Promise<LedgerRow[]> => {
    try {
      return await readLedger(deps.pool);
    } catch (error) {
      if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE || sameTarget(deps.connection, deps.migrationConnection))
        throw error;
    }
    // The application role may not read the ledger; the migration role (DATABASE_MIGRATION_URL) may.
    const client = new pg.Client({ ...sessionOptions(deps.migrationConnection, deps.poolSettings), connectionTimeoutMillis: timeoutMs });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await readLedger(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const migrationState = async (options: Required<HealthOptions>): Promise<MigrationHealth> => {
    if (!options.checkMigrations) return { ...EMPTY, error: 'not checked (checkMigrations: false)' };
    if (cached && cached.dir === options.migrationsDir && performance.now() - cached.at < options.migrationsTtlMs) return cached.value;
    reading ??= (async () => {
      try {
        const rows = await ledgerRows(options.timeoutMs);
        const value = summarise(migrationFiles(options.migrationsDir), rows);
        cached = { at: performance.now(), dir: options.migrationsDir, value };
        return value;
      } catch (error) {
        deps.logger.warn({ err: redact(message(error)) }, 'health: could not read the migration state');
        return { ...EMPTY, error: `could not read the migration state: ${redact(message(error))}` };
      }
    })().finally(() => (reading = undefined));
    return reading;
  };

  return async function health(overrides?: HealthOptions | null): Promise<HealthReport> {
    const options: Required<HealthOptions> = {
      timeoutMs: DEFAULT_TIMEOUT_MS,
      migrationsTtlMs: DEFAULT_MIGRATIONS_TTL_MS,
      migrationsDir: '',
      checkMigrations: true,
      ...defaults,
      ...overrides,
    };
    if (!options.migrationsDir) options.migrationsDir = defaultMigrationsDir();
    const reportOf = (fields: Partial<HealthReport> & Pick<HealthReport, 'status'>): HealthReport => ({
      ready: false,
      latencyMs: null,
      serverVersion: null,
      pool: poolGauges(deps.pool, deps.poolSettings.max),
      migrations: cached?.value ?? { ...EMPTY, error: 'not checked: the server did not answer' },
      checkedAt: new Date().toISOString(),
      ...fields,
    });
    if (deps.isClosed()) return reportOf({ status: 'down', error: 'the database handle is closed (close() was called)' });

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    });
    // The standbys are checked beside the primary, within the same bound.
    const replicaCheck = deps.replicas?.check(options.timeoutMs);
    const report = async (fields: Partial<HealthReport> & Pick<HealthReport, 'status'>): Promise<HealthReport> => {
      if (!replicaCheck) return reportOf(fields);
      const replicas = (await replicaCheck).map((replica) => (replica.error ? { ...replica, error: redact(replica.error) } : replica));
      const failing = replicas.filter((replica) => replica.status !== 'ok');
      if (failing.length === 0 || fields.status !== 'ok') return reportOf({ ...fields, replicas });
      return reportOf({
        ...fields,
        status: 'degraded',
        replicas,
        error: `replicas not serving reads (the primary serves them): ${failing.map((r) => `${r.node} ${r.status}`).join(', ')}`,
      });
    };
    try {
      const answered = await Promise.race([pingOnce().catch((error: unknown) => ({ error })), timeout]);
      if (answered === 'timeout') {
        // A saturated pool looks like a silent server from here; say which it is.
        const { waiting, total, max } = poolGauges(deps.pool, deps.poolSettings.max);
        const error =
          waiting > 0 && total >= max
            ? `no pool connection became free within ${options.timeoutMs} ms (${total} of ${max} in use, ${waiting} checkouts waiting)`
            : `the server did not answer within ${options.timeoutMs} ms`;
        return report({ status: 'down', error });
      }
      if ('error' in answered) {
        const error = connectError(answered.error, describeConnection(deps.connection), deps.poolSettings.connectionTimeoutMs);
        return report({ status: 'down', error: redact(error.message) });
      }
      const { standby, ...server } = answered;
      if (standby) {
        return report({
          status: 'down',
          ...server,
          error:
            `${describeConnection(deps.connection)} (DATABASE_URL) is a hot standby (pg_is_in_recovery() is true), so every write ` +
            'would fail: point DATABASE_URL at the primary, and list standbys in DATABASE_REPLICA_URLS',
        });
      }
      const migrations = await Promise.race([migrationState(options), timeout]);
      if (migrations === 'timeout') {
        return report({
          status: 'degraded',
          ...server,
          migrations: { ...EMPTY, error: `the migration state was not read within ${options.timeoutMs} ms` },
          error: 'the migration state could not be read',
        });
      }
      const outOfStep = migrations.pending + migrations.changed + migrations.missing > 0;
      // Skipped on purpose (checkMigrations: false) is not a problem; unreadable is.
      const status = outOfStep || (migrations.error && options.checkMigrations) ? 'degraded' : 'ok';
      return report({
        status,
        ready: !outOfStep,
        ...server,
        migrations,
        ...(outOfStep
          ? { error: `migrations out of step: ${migrations.pending} pending, ${migrations.changed} changed, ${migrations.missing} missing` }
          : migrations.error && options.checkMigrations
            ? { error: migrations.error }
            : {}),
      });
    } finally {
      clearTimeout(timer);
    }
  };
}

const EMPTY: MigrationHealth = { applied: 0, pending: 0, changed: 0, missing: 0, latest: null };

/** The migration states counted, and the newest applied migration (rows are ordered by name). */
function summarise(files: readonly MigrationFile[], rows: readonly LedgerRow[]): MigrationHealth {
  const counts = { ...EMPTY, latest: rows.at(-1)?.name ?? null };
  for (const { state } of migrationStates(files, rows)) counts[state]++;
  return counts;
}

function sameTarget(a: ConnectionSettings, b: ConnectionSettings): boolean {
  return describeConnection(a) === describeConnection(b);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Removes URLs (which may carry credentials) and the configured passwords from a message. */
function redactor(...connections: ConnectionSettings[]): (text: string) => string {
  const secrets = connections.map((c) => c.password).filter((p): p is string => typeof p === 'string' && p.length > 0);
  return (text) => {
    let out = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]*[^\s"'<>:,.;)]/gi, '<database>');
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
}
