/**
 * The migration runner: Umzug drives the order and events; this module supplies the migrations
 * (parsed SQL files), the storage (the ledger), the lock, the integrity checks and the execution
 * of each statement with timeouts and precise error messages.
 */
import pg from 'pg';
import { MigrationError as UmzugMigrationError, Umzug, type UmzugStorage } from 'umzug';
import { describeConnection, type ConnectionSettings } from '../connection.js';
import { connectionOptions, withCredentials } from '../connection.js';
import { connectError, DataLayerError, isServerError, MigrationError, PgErrorCode, QUERY_READ_TIMEOUT_MESSAGE } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { adoptLegacy, type AdoptLegacyResult } from './adopt.js';
import { baseline, refuseUnrecordedSchema, type BaselineResult } from './baseline.js';
import { BlockerWatch, describeBlockers, WatchedFailure, type Blocker } from './blockers.js';
import { convertDbmateLedger, dbmateLedgerRows, isDbmateLedger } from './dbmate.js';
import { FILE_NAME_PATTERN, loadMigrations, type MigrationFile, type MigrationSection } from './files.js';
import {
  DELETE_LEDGER_ROW,
  ensureLedger,
  INSERT_LEDGER_ROW,
  LEDGER_TABLE,
  migrationStates,
  readLedger,
  recordedLintIgnores,
  type LedgerRow,
  type MigrationStatus,
} from './ledger.js';
import { DEFAULT_THRESHOLDS, formatFinding, lintMigrations, tableSizeLookup, type LintReport, type SizeThresholds } from './lint/index.js';
import { loadParser } from './lint/parse.js';
import { acquireMigrationLock, releaseMigrationLock } from './lock.js';
import { poolerRefusal, transactionPoolerEvidence } from './pooler.js';
import { defaultMigrationsDir } from './paths.js';
import {
  DELETE_PROGRESS,
  dropProgressTableIfEmpty,
  ensureProgressTable,
  INSERT_PROGRESS,
  PROGRESS_TABLE,
  readProgress,
  UPDATE_PROGRESS,
  type ProgressRow,
} from './progress.js';
import { migratorApplicationName, prepareSession } from './session.js';
import type { SqlStatement } from './sql-splitter.js';
import { planSection, RERUNNABLE_MARK, type PlannedStatement, type ResumeCheck } from './statements.js';

/** Options for `createMigrator`. */
export interface MigratorOptions {
  /** Where to connect: use `config.migrationConnection` (a direct, owner-role connection). */
  connection: ConnectionSettings;
  /** Folder of `YYYYMMDDHHMMSS_name.sql` files. Default: `defaultMigrationsDir()`. */
  migrationsDir?: string;
  /** `lock_timeout` for each migration statement (ms, 0 = none). Default 5000. */
  lockTimeoutMs?: number;
  /** `statement_timeout` for each migration statement (ms, 0 = none). Default 900000. */
  statementTimeoutMs?: number;
  /**
   * How long to wait for another migrator's advisory lock (ms). Default 300000. A holder whose
   * migrator process is proven gone (it ran on this machine and its pid no longer exists) is not
   * waited for: its orphaned session is terminated (see lock.ts).
   */
  lockWaitMs?: number;
  /**
   * `client_connection_check_interval` of the migrator's sessions (ms, 0 = leave the server's
   * setting). Default 1000: when the migrator dies during a long statement, the server notices
   * within about a second, ends the session (rolling back its transaction) and releases the
   * migration lock, instead of running the statement to its end. Needs PostgreSQL 14 or newer;
   * older servers carry on without it.
   */
  connectionCheckIntervalMs?: number;
  /** Apply pending files that sort before the newest applied one instead of refusing. */
  allowOutOfOrder?: boolean;
  /**
   * Above either size a table is large for the lint that `up` runs first: a blocking statement on
   * it is an error, on a smaller one a note. Default 10,000 rows (`pg_class.reltuples`) or 16 MiB
   * (`pg_total_relation_size`).
   */
  largeTable?: Partial<SizeThresholds>;
  /** Progress lines go to `logger.info`. Default: silent. */
  logger?: Logger;
}

export interface MigrationResult {
  name: string;
  direction: 'up' | 'down';
  durationMs: number;
  /** A resumed `transaction:false` section: how many of its statements an earlier run had completed. */
  resumedAfter?: number;
  /** Dry run only: the SQL that would run. */
  sql?: string;
}

export interface Migrator {
  /** Applies pending migrations: all, up to and including `to`, or the next `step`. */
  up(opts?: { to?: string; step?: number; dryRun?: boolean }): Promise<MigrationResult[]>;
  /**
   * Reverts the last applied migration; or every migration after `to`, so that `to` is the newest
   * one left applied (`0`: revert all); or the last `step`.
   */
  down(opts?: { to?: string | 0; step?: number; dryRun?: boolean }): Promise<MigrationResult[]>;
  /** Reverts and re-applies the last applied migration. */
  redo(opts?: { dryRun?: boolean }): Promise<MigrationResult[]>;
  /**
   * Every migration on disk or in the ledger, with its state, and `started` for a
   * `transaction:false` section a run started and did not finish. Reads only.
   */
  status(): Promise<MigrationStatus[]>;
  /**
   * Lints the pending migrations as `up` would before applying them: in order, graded by the live
   * size of each table they touch. Reads only.
   */
  lint(): Promise<LintReport>;
  /**
   * Records the migrations up to `to` (default: all) as applied without running them, for a
   * database whose schema was built some other way, after checking that it holds what they create
   * (compared with a throwaway database on the same server, migrated to `to`). Refuses with a
   * `BaselineMismatchError` listing what is missing or different. Takes the migration lock;
   * `dryRun` checks and records nothing (no lock).
   */
  baseline(opts?: { to?: string; dryRun?: boolean }): Promise<BaselineResult>;
  /**
   * Brings a database holding the earlier placeholder schema (users, business_evaluations,
   * agent_executions) to the current schema with every row kept: moves the tables into schema
   * `legacy`, applies the migrations, copies the rows with the shipped mapping
   * (migrations/adopt/placeholder.sql). Refuses with a `LegacyAdoptionError` listing the rows that
   * cannot be mapped, nothing changed; a second run reports the adoption and does nothing.
   * Takes the migration lock; `dryRun` only checks.
   */
  adoptLegacy(opts?: { dryRun?: boolean }): Promise<AdoptLegacyResult>;
}

const DEFAULTS = { lockTimeoutMs: 5000, statementTimeoutMs: 900_000, lockWaitMs: 300_000, connectionCheckIntervalMs: 1000 };

/**
 * Creates a migrator. Each call opens and closes its own connection; nothing needs closing.
 *
 * @example
 * ```ts
 * const config = loadConfig();
 * const migrator = createMigrator({ connection: config.migrationConnection, ...config.migrations });
 * await migrator.up();
 * ```
 */
export function createMigrator(options: MigratorOptions): Migrator {
  const settings = {
    connection: options.connection,
    dir: options.migrationsDir ?? defaultMigrationsDir(),
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
    lockWaitMs: options.lockWaitMs ?? DEFAULTS.lockWaitMs,
    connectionCheckIntervalMs: options.connectionCheckIntervalMs ?? DEFAULTS.connectionCheckIntervalMs,
    allowOutOfOrder: options.allowOutOfOrder ?? false,
    logger: options.logger ?? silentLogger,
    largeTable: { ...DEFAULT_THRESHOLDS, ...options.largeTable },
  };
  for (const [key, value] of Object.entries(settings.largeTable)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new MigrationError(`largeTable.${key} must be a number, 0 or more (got ${value})`, { code: 'MIGRATION_OPTIONS' });
    }
  }
  for (const key of ['lockTimeoutMs', 'statementTimeoutMs', 'lockWaitMs', 'connectionCheckIntervalMs'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 0) {
      throw new MigrationError(`${key} must be a whole number of milliseconds, 0 or more (got ${settings[key]})`, {
        code: 'MIGRATION_OPTIONS',
      });
    }
  }
  return {
    up: (opts = {}) => run(settings, 'up', opts),
    down: (opts = {}) => run(settings, 'down', opts),
    redo: (opts = {}) => run(settings, 'redo', opts),
    status: () => status(settings),
    lint: () => lintPending(settings),
    baseline: (opts = {}) => runBaseline(settings, opts),
    adoptLegacy: (opts = {}) => runAdoptLegacy(settings, opts),
  };
}

type Settings = {
  connection: ConnectionSettings;
  dir: string;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  lockWaitMs: number;
  connectionCheckIntervalMs: number;
  allowOutOfOrder: boolean;
  logger: Logger;
  largeTable: SizeThresholds;
};

type Command = 'up' | 'down' | 'redo';
interface RunOptions {
  to?: string | 0;
  step?: number;
  dryRun?: boolean;
}
interface Step {
  migration: MigrationFile;
  direction: 'up' | 'down';
}

async function run(settings: Settings, command: Command, opts: RunOptions): Promise<MigrationResult[]> {
  validateRunOptions(command, opts);
  // Parse every file before connecting: a malformed file stops the run with nothing touched.
  const files = loadMigrations(settings.dir);
  // The parser's WebAssembly loads while we connect: the lint waits for it only if it is slower.
  if (command === 'up') loadParser().catch(() => undefined);
  return withRunSession(settings, !opts.dryRun, (client) => runLocked(settings, client, files, command, opts));
}

/** A run on `client`, which holds the migration lock unless `opts.dryRun`. */
async function runLocked(
  settings: Settings,
  client: pg.Client,
  files: readonly MigrationFile[],
  command: Command,
  opts: RunOptions,
): Promise<MigrationResult[]> {
  // Read the ledger only after the lock is held: another run may just have applied something.
  // The ledger is created only once the run goes ahead: a refusal below (integrity, an unknown
  // "to", an irreversible or interrupted migration) leaves the database untouched.
  const ledger = await ledgerForRun(settings, client, files, !opts.dryRun);
  checkIntegrity(files, ledger, command === 'up' && !settings.allowOutOfOrder);
  const steps = plan(command, files, ledger, opts);
  // A schema built some other way: the first file would fail with 42P07; say what to do instead.
  if (command === 'up' && ledger.length === 0 && steps[0]) await beforeRun(() => refuseUnrecordedSchema(client, steps[0]!.migration));
  for (const s of steps) {
    if (s.direction === 'down' && !s.migration.down) {
      throw new MigrationError(
        `${s.migration.fileName}: cannot revert, the "-- migrate:down" section is missing or empty (the migration is irreversible); nothing was reverted`,
        { file: s.migration.fileName, code: 'MIGRATION_IRREVERSIBLE' },
      );
    }
  }
  const resume = await checkProgress(settings, client, files, ledger, await readProgress(client), command, steps, !opts.dryRun);
  if (command === 'up')
    await beforeRun(() =>
      refuseLintErrors(
        settings,
        client,
        steps.map((s) => s.migration),
      ),
    );
  if (!opts.dryRun) await ensureLedger(client);
  if (opts.dryRun)
    return steps.map((s, i) => ({
      name: s.migration.name,
      direction: s.direction,
      durationMs: 0,
      sql: renderSql(settings, s, i === 0 ? resume : undefined),
    }));
  if (steps.length === 0) {
    settings.logger.info({ command }, command === 'up' ? 'nothing to apply: the database is up to date' : 'nothing to revert');
    return [];
  }
  return await execute(settings, client, steps, resume);
}

/**
 * The session a run works in: the migrator's connection (a transaction pooler refused, through a
 * second connection opened alongside it) holding the migration lock when `lock` is set; the lock
 * released and the connection closed however `fn` ends.
 */
async function withRunSession<T>(settings: Settings, lock: boolean, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const probe = connectProbe(settings);
  let client: pg.Client;
  try {
    client = await connect(settings);
  } catch (error) {
    await probe.then((p) => p.end()).catch(() => undefined);
    throw error;
  }
  let locked = false;
  try {
    await beforeRun(() => refusePooler(client, probe));
    if (lock) {
      await acquireMigrationLock(client, settings.lockWaitMs, settings.logger);
      locked = true;
    }
    return await fn(client);
  } finally {
    if (locked) await releaseMigrationLock(client).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

function validateRunOptions(command: Command, opts: RunOptions): void {
  if (opts.to !== undefined && opts.step !== undefined) {
    throw new MigrationError('use either "to" or "step", not both', { code: 'MIGRATION_OPTIONS' });
  }
  if (opts.step !== undefined && (!Number.isInteger(opts.step) || opts.step < 1)) {
    throw new MigrationError(`step must be a whole number of 1 or more (got ${opts.step})`, { code: 'MIGRATION_OPTIONS' });
  }
  if (command === 'redo' && (opts.to !== undefined || opts.step !== undefined)) {
    throw new MigrationError('redo takes no "to" or "step": it reverts and re-applies the last migration', { code: 'MIGRATION_OPTIONS' });
  }
  if (command === 'up' && opts.to === 0) {
    throw new MigrationError('"to: 0" only makes sense for down', { code: 'MIGRATION_OPTIONS' });
  }
}

async function status(settings: Settings): Promise<MigrationStatus[]> {
  const files = loadMigrations(settings.dir);
  const client = await connect(settings);
  try {
    const states = migrationStates(files, await ledgerOf(client, files));
    let progress: ProgressRow[] = [];
    try {
      progress = await readProgress(client);
    } catch (err) {
      // A role that may read the ledger but not the runner's own schema still gets the states.
      if ((err as { code?: string }).code !== '42501') throw err;
      settings.logger.warn({ err }, `cannot read ${PROGRESS_TABLE}: transaction:false migrations in progress are not shown`);
    }
    return withProgress(states, progress, files);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A check made before anything runs, on the migrator's connection: a silent network there fails
 * the same way as during a statement (a MigrationError that says no answer came), not with
 * node-postgres' bare "Query read timeout".
 */
async function beforeRun(check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (error) {
    if ((error as Error | undefined)?.message !== QUERY_READ_TIMEOUT_MESSAGE) throw error;
    throw new MigrationError(`the checks before running failed:\n${failureLine(error)}\n  Nothing was run.`, {
      cause: error,
      code: 'MIGRATION_FAILED',
    });
  }
}

/** The second connection of the pooler probe, opened while the main one connects. */
async function connectProbe(settings: Settings): Promise<pg.Client> {
  const probe = new pg.Client(migrationSessionOptions(settings, 'data-layer migrate (pooler probe)'));
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return probe;
  } catch (error) {
    await probe.end().catch(() => undefined);
    throw connectError(error, describeConnection(settings.connection), CONNECT_TIMEOUT_MS);
  }
}

/** Refuses to take the session advisory lock through a transaction pooler (see pooler.ts). */
async function refusePooler(client: pg.Client, connected: Promise<pg.Client>): Promise<void> {
  const probe = await connected;
  try {
    const evidence = await transactionPoolerEvidence(client, probe);
    if (evidence) throw new MigrationError(poolerRefusal('migrate', evidence), { code: 'MIGRATION_POOLER' });
  } finally {
    await probe.end().catch(() => undefined);
  }
}

async function lintPending(settings: Settings): Promise<LintReport> {
  const files = loadMigrations(settings.dir);
  const client = await connect(settings);
  try {
    const applied = new Set((await ledgerOf(client, files)).map((row) => row.name));
    return await lintMigrations(
      files.filter((f) => !applied.has(f.name)),
      { mode: 'run', sizes: tableSizeLookup(client), thresholds: settings.largeTable },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The lint `up` runs before anything: errors stop the run with nothing applied, warnings are
 * logged. A finding is accepted only in its file (`-- migrate:lint-ignore <rule> <reason>`), so
 * there is no flag to skip this: the reason travels with the file and into the ledger.
 */
async function refuseLintErrors(settings: Settings, client: pg.Client, migrations: readonly MigrationFile[]): Promise<void> {
  if (migrations.length === 0) return;
  const report = await lintMigrations(migrations, {
    mode: 'run',
    sizes: tableSizeLookup(client),
    thresholds: settings.largeTable,
    onParseError: 'skip',
  });
  const live = report.findings.filter((f) => f.ignored === undefined);
  for (const f of live.filter((f) => f.severity === 'warning')) {
    settings.logger.warn({ rule: f.rule, file: f.file, line: f.line }, `lint: ${f.file}:${f.line} ${f.rule}: ${f.message}`);
  }
  const errors = live.filter((f) => f.severity === 'error');
  if (errors.length === 0) return;
  throw new MigrationError(
    `the lint found ${errors.length} dangerous statement${errors.length === 1 ? '' : 's'} in the pending migrations; nothing was applied:\n` +
      errors.map((f) => formatFinding(f).replace(/^/gm, '  ')).join('\n') +
      `\nFix the statement, or accept the finding in the file with a line "-- migrate:lint-ignore <rule> <reason>" just before it ` +
      `(the reason is recorded in ${LEDGER_TABLE}).`,
    { file: errors[0]!.file, code: 'MIGRATION_LINT' },
  );
}

/** The applied migrations: the ledger, or a dbmate ledger read as one (see dbmate.ts). Reads only. */
async function ledgerOf(client: pg.Client, files: readonly MigrationFile[]): Promise<LedgerRow[]> {
  return (await isDbmateLedger(client)) ? dbmateLedgerRows(client, files) : readLedger(client);
}

/** The ledger a run goes by, a dbmate ledger converted first when the run may write (it holds the lock). */
async function ledgerForRun(settings: Settings, client: pg.Client, files: readonly MigrationFile[], write: boolean): Promise<LedgerRow[]> {
  if (write && (await isDbmateLedger(client))) await convertDbmateLedger(client, files, settings.logger);
  return write ? readLedger(client) : ledgerOf(client, files);
}

/** `baseline()`: the connection, pooler check and lock of a run, then baseline.ts with a scratch database to compare with. */
async function runBaseline(settings: Settings, opts: { to?: string; dryRun?: boolean }): Promise<BaselineResult> {
  if (opts.to !== undefined && (typeof opts.to !== 'string' || opts.to.trim() === '')) {
    throw new MigrationError('baseline: "to" must be a migration name or timestamp', { code: 'MIGRATION_OPTIONS' });
  }
  const files = loadMigrations(settings.dir);
  if (files.length === 0) throw new MigrationError(`baseline: no migration files in ${settings.dir}`, { code: 'MIGRATION_NOT_FOUND' });
  const dryRun = opts.dryRun ?? false;
  return withRunSession(settings, !dryRun, async (client) => {
    const ledger = await ledgerForRun(settings, client, files, !dryRun);
    checkIntegrity(files, ledger, false);
    const progress = await readProgress(client);
    if (progress.length > 0) {
      throw new MigrationError(
        `${progress[0]!.name}.sql ${describeProgress(progress[0]!)}: finish it (migrate up or down) before a baseline; nothing was recorded`,
        { file: `${progress[0]!.name}.sql`, code: 'MIGRATION_INTERRUPTED' },
      );
    }
    const target = opts.to !== undefined ? resolveTarget(opts.to, files, ledger) : files[files.length - 1]!.name;
    // The password (or provider) is non-enumerable, so a spread alone would drop it.
    const { password, passwordProvider } = settings.connection;
    const scratchSettings = (database: string): Settings => ({
      ...settings,
      connection: withCredentials({ ...settings.connection, database }, { password, passwordProvider }).connection,
      logger: silentLogger,
      allowOutOfOrder: false,
    });
    return await baseline({
      client,
      files,
      ledger,
      target,
      dryRun,
      logger: settings.logger,
      migrateScratch: async (database, to) => {
        await run(scratchSettings(database), 'up', { to });
      },
      connectTo: (database) => connect(scratchSettings(database)),
    });
  });
}

/** `adoptLegacy()`: the connection, pooler check and lock of a run, then adopt.ts with `up` on the same session. */
async function runAdoptLegacy(settings: Settings, opts: { dryRun?: boolean }): Promise<AdoptLegacyResult> {
  const files = loadMigrations(settings.dir);
  loadParser().catch(() => undefined);
  return withRunSession(settings, true, async (client) => {
    // A dbmate ledger is converted as up would; adoption then needs it empty.
    const appliedCount = async () => (await ledgerForRun(settings, client, files, !opts.dryRun)).length;
    return adoptLegacy({
      client,
      dryRun: opts.dryRun ?? false,
      logger: settings.logger,
      appliedCount,
      migrateUp: async () => (await runLocked(settings, client, files, 'up', {})).map((r) => r.name),
    });
  });
}

/** Adds `started` to the states of migrations with a `transaction:false` section in progress. */
function withProgress(states: MigrationStatus[], progress: readonly ProgressRow[], files: readonly MigrationFile[]): MigrationStatus[] {
  if (progress.length === 0) return states;
  const result = [...states];
  for (const row of progress) {
    const file = files.find((f) => f.name === row.name);
    const started = {
      direction: row.direction,
      statementsDone: row.statementsDone,
      statements: row.statements,
      startedAt: row.startedAt,
      updatedAt: row.updatedAt,
      startedBy: row.startedBy,
      resumable: file?.checksum === row.checksum,
    };
    const at = result.findIndex((s) => s.name === row.name);
    if (at >= 0) result[at] = { ...result[at]!, started };
    else result.push({ name: row.name, state: 'missing', checksum: row.checksum, started });
  }
  return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function connect(settings: Settings): Promise<pg.Client> {
  const client = closeWhenSilent(new pg.Client(migrationSessionOptions(settings, migratorApplicationName())));
  // Without a listener, a server-side disconnect would crash the process; the failing query reports it.
  client.on('error', (err) => settings.logger.warn({ err }, 'migration connection failed'));
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectError(error, describeConnection(settings.connection), CONNECT_TIMEOUT_MS);
  }
  try {
    await prepareSession(client, settings, settings.logger);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * `client`, closed at once when a query gets no answer in time: the ROLLBACK and unlock that
 * follow would each wait out the timeout again on a silent connection, while a closed one fails
 * them at once (the server releases the lock when it notices the client gone).
 */
function closeWhenSilent(client: pg.Client): pg.Client {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const result = query(...args);
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      if ((error as Error | undefined)?.message === QUERY_READ_TIMEOUT_MESSAGE) {
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      }
      throw error;
    });
  }) as typeof client.query;
  return client;
}

/**
 * @param applicationName shown to whoever waits on our lock, or is blocked by our DDL; the main
 *   session's carries the host and process identity that lets a waiter tell whether we are alive.
 *
 * Every query waits for its answer at most the statement (or lock) timeout plus a margin (as long
 * as that timeout, between 5 and 30 s), so a silent network fails the run within that bound instead
 * of hanging it; with no statement timeout (0), the operator asked for none.
 */
function migrationSessionOptions(settings: Settings, applicationName: string): pg.ClientConfig {
  const timeout = Math.max(settings.statementTimeoutMs, settings.lockTimeoutMs);
  const answerWithinMs = settings.statementTimeoutMs > 0 ? timeout + Math.min(30_000, Math.max(5_000, timeout)) : 0;
  return {
    ...connectionOptions(settings.connection), // host, port, user, database, password (or provider), TLS
    application_name: applicationName,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(answerWithinMs > 0 ? { query_timeout: answerWithinMs } : {}),
  };
}

/** Stops before anything runs when applied files were edited or removed, or a file arrived out of order. */
function checkIntegrity(files: readonly MigrationFile[], ledger: readonly LedgerRow[], refuseOutOfOrder: boolean): void {
  const byName = new Map(files.map((f) => [f.name, f]));
  const problems: string[] = [];
  let fileName: string | undefined;
  for (const row of ledger) {
    const file = byName.get(row.name);
    if (!file) {
      problems.push(
        `${row.name}.sql was applied (${row.appliedAt.toISOString()}) but the file is missing; restore it from version control`,
      );
      fileName ??= `${row.name}.sql`;
    } else if (file.checksum !== row.checksum) {
      problems.push(
        `${file.fileName} was edited after it was applied (checksum ${short(row.checksum)} in ${LEDGER_TABLE}, ${short(file.checksum)} on disk); ` +
          'restore the applied version and put the change in a new migration',
      );
      fileName ??= file.fileName;
    }
  }
  if (refuseOutOfOrder && ledger.length > 0) {
    const newest = ledger[ledger.length - 1]!.name;
    const applied = new Set(ledger.map((r) => r.name));
    for (const file of files) {
      if (!applied.has(file.name) && file.name < newest) {
        problems.push(
          `${file.fileName} is pending but sorts before ${newest}, which is already applied; ` +
            'rename it with a newer timestamp, or pass --allow-out-of-order (allowOutOfOrder) to apply it anyway',
        );
        fileName ??= file.fileName;
      }
    }
  }
  if (problems.length > 0) {
    throw new MigrationError(`migration files do not match the database; nothing was run:\n  - ${problems.join('\n  - ')}`, {
      file: fileName,
      code: 'MIGRATION_INTEGRITY',
    });
  }
}

const short = (checksum: string): string => checksum.slice(0, 12);

/** "statements 1-2 (lines 2, 3)", "statement 1 (line 2)" or "no statement": the first `count` statements of a section. */
function firstStatements(section: MigrationSection | null, count: number): string {
  if (count === 0) return 'no statement';
  const lines = section?.statements.slice(0, count).map((s) => s.line) ?? [];
  const where = lines.length === count ? ` (line${count > 1 ? 's' : ''} ${lines.join(', ')})` : '';
  return count === 1 ? `statement 1${where}` : `statements 1-${count}${where}`;
}

/** "statement 3 (line 7)": the `number`th (1-based) statement of a section. */
function statementAt(section: MigrationSection | null, number: number): string {
  const line = section?.statements[number - 1]?.line;
  return `statement ${number}${line === undefined ? '' : ` (line ${line})`}`;
}

/** What a progress row says, for messages: "started ... at ..., stopped after statement 2 of 3". */
function describeProgress(row: ProgressRow): string {
  return (
    `was started (${row.direction}, transaction:false) by ${row.startedBy} at ${row.startedAt.toISOString()} ` +
    `and stopped after ${row.statementsDone} of its ${row.statements} statements`
  );
}

/**
 * Compares the sections in progress with the files, the ledger and the planned steps. A section in
 * progress is resumed when it is the first planned step and its file is the one that was started;
 * otherwise the run stops with nothing run, naming the command (or the manual step) that finishes
 * it. Rows left by a migration that was finished some other way are removed (`write`) or ignored.
 * Returns the row to resume, if any.
 */
async function checkProgress(
  settings: Settings,
  client: pg.Client,
  files: readonly MigrationFile[],
  ledger: readonly LedgerRow[],
  progress: readonly ProgressRow[],
  command: Command,
  steps: readonly Step[],
  write: boolean,
): Promise<ProgressRow | undefined> {
  let resume: ProgressRow | undefined;
  const applied = new Set(ledger.map((r) => r.name));
  // Removed only once nothing below refuses the run, so that a refusal touches nothing.
  const stale: ProgressRow[] = [];
  for (const row of progress) {
    const file = files.find((f) => f.name === row.name);
    const fileName = `${row.name}.sql`;
    const forget = `DELETE FROM ${PROGRESS_TABLE} WHERE name = '${row.name}'`;
    if (row.direction === 'up' ? applied.has(row.name) : !applied.has(row.name)) {
      // Finished some other way (by hand, or by a runner that does not know this table).
      stale.push(row);
      continue;
    }
    if (!file || file.checksum !== row.checksum) {
      throw new MigrationError(
        `${fileName} ${describeProgress(row)}: statements 1-${row.statementsDone} of the version that was started took effect, ` +
          `but ${file ? `the file was edited since (checksum ${short(row.checksum)} when started, ${short(file.checksum)} on disk)` : 'the file is missing'}, ` +
          'so the run cannot resume; nothing was run. Restore the version that was started (from version control) and run the command again, ' +
          `which resumes at statement ${row.statementsDone + 1}; or finish (or undo) statements ${row.statementsDone + 1}-${row.statements} ` +
          `of that version by hand, ${row.direction === 'up' ? `insert its ${LEDGER_TABLE} row` : `delete its ${LEDGER_TABLE} row`} if you finished it, and then: ${forget}`,
        { file: fileName, code: 'MIGRATION_INTEGRITY' },
      );
    }
    const section = row.direction === 'up' ? file.up : file.down;
    const first = steps[0];
    if (!resume && first && first.migration.name === row.name && first.direction === row.direction) {
      resume = row;
      continue;
    }
    const finish =
      row.direction === 'up'
        ? `npm run migrate -- up --to ${row.name} (from code: up({ to: '${row.name}' }))`
        : `npm run migrate -- down (from code: down()), which reverts ${row.name} first`;
    throw new MigrationError(
      `${fileName} ${describeProgress(row)}: ${firstStatements(section, row.statementsDone)} took effect. ` +
        `Finish it before anything else: ${finish} resumes it at ${statementAt(section, row.statementsDone + 1)}. ` +
        `This ${command} would ${steps.length === 0 ? 'not touch it' : `start with ${steps[0]!.migration.name} (${steps[0]!.direction}) instead`}; nothing was run.`,
      { file: fileName, code: 'MIGRATION_INTERRUPTED' },
    );
  }
  for (const row of stale) {
    settings.logger.warn(
      { migration: row.name },
      `${row.name}.sql ${describeProgress(row)}, but the ledger says it was ${row.direction === 'up' ? 'applied' : 'reverted'} since; ` +
        `${write ? 'removing' : 'ignoring'} its stale ${PROGRESS_TABLE} row`,
    );
    if (write) await client.query(DELETE_PROGRESS, [row.name]);
  }
  // An empty table left by an interrupted clean-up goes too (it checks the catalog first).
  if (write && !resume) await dropProgressTableIfEmpty(client, settings.lockTimeoutMs, settings.logger);
  return resume;
}

/** Resolves `to` (full file name, name without .sql, or bare timestamp) to a migration name. */
function resolveTarget(to: string, files: readonly MigrationFile[], ledger: readonly LedgerRow[]): string {
  const wanted = to
    .trim()
    .replace(/\.sql$/i, '')
    .replace(/^.*[\\/]/, '');
  const names = [...new Set([...files.map((f) => f.name), ...ledger.map((r) => r.name)])];
  const found = names.find((name) => name === wanted || (/^\d{14}$/.test(wanted) && name.startsWith(`${wanted}_`)));
  if (!found) {
    const hint = FILE_NAME_PATTERN.test(`${wanted}.sql`) || /^\d{14}$/.test(wanted) ? '' : ' (give a file name or its 14-digit timestamp)';
    throw new MigrationError(`no migration named "${to}"${hint}; nothing was run`, { code: 'MIGRATION_NOT_FOUND' });
  }
  return found;
}

function plan(command: Command, files: readonly MigrationFile[], ledger: readonly LedgerRow[], opts: RunOptions): Step[] {
  const applied = new Set(ledger.map((r) => r.name));
  const target = typeof opts.to === 'string' ? resolveTarget(opts.to, files, ledger) : undefined;
  const executed = files.filter((f) => applied.has(f.name));
  if (command === 'up') {
    let pending = files.filter((f) => !applied.has(f.name));
    if (target !== undefined) pending = pending.filter((f) => f.name <= target);
    if (opts.step !== undefined) pending = pending.slice(0, opts.step);
    return pending.map((migration) => ({ migration, direction: 'up' }));
  }
  const reversed = executed.slice().reverse();
  if (command === 'redo') {
    const last = reversed[0];
    return last
      ? [
          { migration: last, direction: 'down' },
          { migration: last, direction: 'up' },
        ]
      : [];
  }
  let chosen: MigrationFile[];
  if (opts.to === 0) chosen = reversed;
  // "down to X" ends at X, the mirror of "up to X": X itself stays applied.
  else if (target !== undefined) chosen = reversed.filter((f) => f.name > target);
  else chosen = reversed.slice(0, opts.step ?? 1);
  return chosen.map((migration) => ({ migration, direction: 'down' }));
}

/** Runs the planned steps through Umzug, which calls back into `applySection`. */
async function execute(
  settings: Settings,
  client: pg.Client,
  steps: readonly Step[],
  resume: ProgressRow | undefined,
): Promise<MigrationResult[]> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const watch = new BlockerWatch(
    migrationSessionOptions(settings, `data-layer migrate blocker watch (pid ${process.pid})`),
    rows[0]!.pid,
    // Start polling early enough to see blockers before a short lock_timeout fires.
    settings.lockTimeoutMs > 0 ? Math.min(100, Math.floor(settings.lockTimeoutMs / 2)) : 100,
    settings.logger,
    100,
    (watcher) => prepareSession(watcher, settings, settings.logger),
  );
  const results: MigrationResult[] = [];
  const files = [...new Map(steps.map((s) => [s.migration.name, s.migration])).values()];
  let pendingResume = resume;
  const section =
    (direction: 'up' | 'down') =>
    async ({ name, context }: { name: string; context: pg.Client }) => {
      const migration = files.find((f) => f.name === name)!;
      // Only the first step can be a resumption (see checkProgress).
      const from = pendingResume?.name === name && pendingResume.direction === direction ? pendingResume : undefined;
      pendingResume = undefined;
      const durationMs = await applySection(settings, context, watch, migration, direction, from);
      results.push(from ? { name, direction, durationMs, resumedAfter: from.statementsDone } : { name, direction, durationMs });
      settings.logger.info(
        { migration: name, direction, durationMs },
        `${direction === 'up' ? 'applied' : 'reverted'} ${name} (${durationMs} ms)`,
      );
    };
  const storage: UmzugStorage<pg.Client> = {
    executed: async ({ context }) => (await readLedger(context)).map((r) => r.name),
    // No-ops by design: the ledger row is written or deleted inside the migration's own
    // transaction (see applySection), so the SQL and its ledger row commit or roll back together.
    logMigration: async () => undefined,
    unlogMigration: async () => undefined,
  };
  const umzug = new Umzug<pg.Client>({
    migrations: files.map((f) => ({ name: f.name, path: f.path, up: section('up'), down: section('down') })),
    context: client,
    storage,
    logger: undefined,
  });
  umzug.on('migrating', ({ name }) => settings.logger.info({ migration: name, direction: 'up' }, `applying ${name}`));
  umzug.on('reverting', ({ name }) => settings.logger.info({ migration: name, direction: 'down' }, `reverting ${name}`));
  try {
    // Consecutive steps in one direction go to Umzug together (redo is down then up).
    for (let i = 0; i < steps.length;) {
      const direction = steps[i]!.direction;
      let j = i;
      while (j < steps.length && steps[j]!.direction === direction) j++;
      const names = steps.slice(i, j).map((s) => s.migration.name);
      if (direction === 'up') await umzug.up({ migrations: names });
      else await umzug.down({ migrations: names });
      i = j;
    }
  } catch (error) {
    if (!(error instanceof UmzugMigrationError)) throw error;
    if (error.cause instanceof DataLayerError) throw error.cause;
    // Anything else (a dropped connection during BEGIN, say) still names the migration.
    const { name, direction } = error.migration;
    const message = error.cause instanceof Error ? error.cause.message : String(error.cause);
    throw new MigrationError(`${name}.sql (${direction}) failed: ${message}`, { file: `${name}.sql`, cause: error.cause });
  } finally {
    await watch.close();
  }
  return results;
}

/** Applies or reverts one migration: statements one by one, then the ledger row; returns the time taken. */
async function applySection(
  settings: Settings,
  client: pg.Client,
  watch: BlockerWatch,
  migration: MigrationFile,
  direction: 'up' | 'down',
  resume: ProgressRow | undefined,
): Promise<number> {
  const section = direction === 'up' ? migration.up : migration.down;
  if (!section)
    throw new MigrationError(`${migration.fileName}: no down section; the migration is irreversible`, {
      file: migration.fileName,
      code: 'MIGRATION_IRREVERSIBLE',
    });
  const started = performance.now();
  const timeouts = [`${settings.lockTimeoutMs}ms`, `${settings.statementTimeoutMs}ms`];
  const ledgerWrite = (ms: number): [string, unknown[]] =>
    direction === 'up'
      ? [INSERT_LEDGER_ROW, [migration.name, migration.checksum, ms, recordedLintIgnores(migration.lintIgnores)]]
      : [DELETE_LEDGER_ROW, [migration.name]];

  if (!section.transaction) return applyStepwise(settings, client, watch, migration, direction, section, ledgerWrite, resume);

  await client.query('BEGIN');
  try {
    await client.query("SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)", timeouts);
    for (const [index, statement] of section.statements.entries()) {
      try {
        await watch.run(() => client.query(statement.sql));
      } catch (failure) {
        const { cause, blockers } = failure instanceof WatchedFailure ? failure : new WatchedFailure(failure, []);
        throw statementError(settings, migration, direction, section, index, cause, blockers, [
          `  Nothing was changed: the migration's transaction was rolled back and no ${LEDGER_TABLE} row was written.`,
        ]);
      }
    }
    const ms = Math.round(performance.now() - started);
    await phase(migration, direction, `writing its ${LEDGER_TABLE} row`, () => client.query(...ledgerWrite(ms)));
    // Deferred constraints are checked here, so COMMIT can fail too.
    await phase(migration, direction, 'COMMIT (deferred constraint checks run here)', () => client.query('COMMIT'));
    return ms;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The progress write of a stepwise section failed (not the statement itself). */
class ProgressWriteFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(`recording the progress in ${PROGRESS_TABLE} failed`, { cause });
  }
}

/**
 * Runs a `transaction:false` section statement by statement (see statements.ts for how each
 * kind runs), recording in `data_layer_migrate.progress` how many have completed, and resuming
 * after `resume.statementsDone` when an earlier run was interrupted. The ledger row is written,
 * and the progress row deleted, in one transaction at the end.
 */
async function applyStepwise(
  settings: Settings,
  client: pg.Client,
  watch: BlockerWatch,
  migration: MigrationFile,
  direction: 'up' | 'down',
  section: MigrationSection,
  ledgerWrite: (ms: number) => [string, unknown[]],
  resume: ProgressRow | undefined,
): Promise<number> {
  const started = performance.now();
  const { plan, problems } = planSection(section.statements, new Set(section.rerunnable));
  // parseMigration refuses such a file, so this is only a guard for a hand-built MigrationFile.
  if (problems.length > 0) {
    throw new MigrationError(`${migration.fileName}: line ${problems[0]!.line}: ${problems[0]!.message}; nothing was run`, {
      file: migration.fileName,
      code: 'MIGRATION_INVALID',
    });
  }
  const total = plan.length;
  const logger = settings.logger;
  if (resume) {
    logger.info(
      { migration: migration.name, direction, statementsDone: resume.statementsDone, statements: total },
      `resuming ${migration.name} (${direction}, transaction:false): it ${describeProgress(resume)}; ` +
        `${firstStatements(section, resume.statementsDone)} took effect` +
        (resume.statementsDone < total
          ? `; continuing at ${statementAt(section, resume.statementsDone + 1)}`
          : '; only the ledger row is left to write'),
    );
  } else {
    await ensureProgressTable(client, migration.fileName);
    await client.query(INSERT_PROGRESS, [migration.name, direction, migration.checksum, total, migratorApplicationName()]);
  }
  const record = async (done: number): Promise<void> => {
    try {
      await client.query(UPDATE_PROGRESS, [migration.name, done]);
    } catch (error) {
      throw new ProgressWriteFailure(error);
    }
  };
  const timeouts = [`${settings.lockTimeoutMs}ms`, `${settings.statementTimeoutMs}ms`];
  await client.query("SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)", timeouts);
  const first = resume?.statementsDone ?? 0;
  let blockStart: number | undefined;
  let index = first;
  try {
    // Session settings made by the statements already done hold for the ones still to run.
    for (const step of plan.slice(0, first)) {
      if (step.run.mode === 'session') await client.query(step.statement.sql);
    }
    for (; index < total; index++) {
      const { run, statement } = plan[index]!;
      const exec = () => watch.run(() => client.query(statement.sql));
      switch (run.mode) {
        case 'transaction':
          // Exactly once: the statement and its progress commit together.
          await client.query('BEGIN');
          try {
            await exec();
            await record(index + 1);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
          break;
        case 'rerun':
          // The first statement of a resumed run may have taken effect (fully or partly) already.
          if (resume && index === first && run.check) {
            if ((await prepareRerun(settings, client, migration, section, index, run.check)) === 'done') {
              await record(index + 1);
              break;
            }
          }
          await exec();
          await record(index + 1);
          break;
        case 'session':
          await exec();
          await record(index + 1);
          break;
        case 'block-begin':
          blockStart = index;
          await exec();
          break;
        case 'in-block':
          await exec();
          break;
        case 'block-commit':
          // Inside the section's own transaction, so the block and its progress commit together.
          await record(index + 1);
          await exec();
          blockStart = undefined;
          break;
        case 'block-rollback':
          await exec();
          blockStart = undefined;
          await record(index + 1);
          break;
      }
    }
  } catch (failure) {
    const inBlock = blockStart;
    if (inBlock !== undefined) await client.query('ROLLBACK').catch(() => undefined);
    throw stepwiseError(settings, migration, direction, section, plan, index, inBlock, first, failure);
  } finally {
    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
  }

  const ms = Math.round(performance.now() - started);
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('lock_timeout', $1, true)", [`${settings.lockTimeoutMs}ms`]);
    await client.query(...ledgerWrite(ms));
    await client.query(DELETE_PROGRESS, [migration.name]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(
      `${migration.fileName} (${direction}, transaction:false): every statement succeeded, but recording it in ${LEDGER_TABLE} failed: ` +
        `${(error as Error).message}. ${PROGRESS_TABLE} records all ${total} statements as done: run the command again, ` +
        `and it only ${direction === 'up' ? 'writes' : 'deletes'} the ledger row.`,
      { file: migration.fileName, cause: error, code: 'MIGRATION_FAILED' },
    );
  }
  await dropProgressTableIfEmpty(client, settings.lockTimeoutMs, logger);
  return ms;
}

/**
 * Before running again the re-runnable statement an interrupted run may have been in: says whether
 * it had in fact finished (`done`), and removes what an interrupted run leaves behind (an INVALID
 * index) so that running it again gives the intended result.
 */
async function prepareRerun(
  settings: Settings,
  client: pg.Client,
  migration: MigrationFile,
  section: MigrationSection,
  index: number,
  check: ResumeCheck,
): Promise<'done' | 'run'> {
  const where = `${migration.fileName}, ${statementAt(section, index + 1)}`;
  const dropInvalid = async (qualified: string, why: string) => {
    settings.logger.info(
      { migration: migration.name, index: qualified },
      `${where}: ${why}: dropping it (DROP INDEX CONCURRENTLY IF EXISTS ${qualified})`,
    );
    await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`);
  };
  try {
    switch (check.kind) {
      case 'create-index': {
        const { rows } = await client.query<{ qualified: string; valid: boolean; same_table: boolean }>(
          `SELECT format('%I.%I', n.nspname, c.relname) AS qualified, i.indisvalid AND i.indisready AS valid,
                  i.indrelid = to_regclass($2) AS same_table
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_index i ON i.indexrelid = c.oid
            WHERE c.relname = $1 AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))`,
          [check.index, check.table],
        );
        const found = rows[0];
        if (!found?.same_table) return 'run';
        if (found.valid) {
          settings.logger.info(
            { migration: migration.name, index: found.qualified },
            `${where}: index ${found.qualified} exists and is valid, so the interrupted CREATE INDEX CONCURRENTLY had finished; recording it as done`,
          );
          return 'done';
        }
        await dropInvalid(
          found.qualified,
          `index ${found.qualified} is INVALID (an interrupted CREATE INDEX CONCURRENTLY leaves it so), and IF NOT EXISTS would keep it`,
        );
        return 'run';
      }
      case 'drop-index': {
        const { rows } = await client.query<{ gone: boolean }>('SELECT to_regclass($1) IS NULL AS gone', [check.index]);
        if (!rows[0]?.gone) return 'run';
        settings.logger.info(
          { migration: migration.name },
          `${where}: index ${check.index} no longer exists, so the interrupted DROP INDEX had finished; recording it as done`,
        );
        return 'done';
      }
      case 'reindex': {
        const scope =
          check.target === 'index'
            ? 'i.indrelid = (SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass($1))'
            : check.target === 'table'
              ? 'i.indrelid = to_regclass($1)'
              : check.target === 'schema'
                ? 'c.relnamespace = to_regnamespace($1)'
                : "n.nspname NOT IN ('pg_catalog', 'information_schema')";
        const { rows } = await client.query<{ qualified: string }>(
          `SELECT format('%I.%I', n.nspname, c.relname) AS qualified
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$' AND ${scope}
            ORDER BY 1`,
          check.target === 'database' ? [] : [check.name ?? null],
        );
        for (const { qualified } of rows) {
          await dropInvalid(qualified, `${qualified} is an INVALID index left by an interrupted REINDEX CONCURRENTLY`);
        }
        return 'run';
      }
    }
  } catch (cause) {
    throw new MigrationError(
      `${where}: resuming an interrupted run, the check before running the statement again failed: ${(cause as Error).message}. ` +
        `Nothing more was run; ${PROGRESS_TABLE} still records ${firstStatements(section, index)} as done, so running the command again retries this.`,
      { file: migration.fileName, cause, code: 'MIGRATION_FAILED' },
    );
  }
}

/** The error for a failed statement of a stepwise section, saying exactly what took effect. */
function stepwiseError(
  settings: Settings,
  migration: MigrationFile,
  direction: 'up' | 'down',
  section: MigrationSection,
  plan: readonly PlannedStatement[],
  index: number,
  blockStart: number | undefined,
  resumedAfter: number,
  failure: unknown,
): MigrationError {
  if (failure instanceof MigrationError) return failure;
  const done = blockStart ?? index;
  const run = plan[index]?.run;
  const lines: string[] = [];
  lines.push(
    done === 0
      ? `  The section runs outside a transaction (transaction:false): no statement had taken effect and no ${LEDGER_TABLE} row was written.`
      : `  The section runs outside a transaction (transaction:false): ${firstStatements(section, done)} already took effect` +
          `${resumedAfter > 0 ? ` (${firstStatements(section, resumedAfter).replace(/ \(.*\)$/, '')} in an earlier run)` : ''} and no ${LEDGER_TABLE} row was written.`,
  );
  if (blockStart !== undefined) {
    lines.push(
      `  The transaction opened by BEGIN at line ${plan[blockStart]!.statement.line} was rolled back (statements ${blockStart + 1}-${index + 1}).`,
    );
  } else if (run?.mode === 'rerun') {
    lines.push(
      `  Statement ${index + 1} runs on its own (${run.what}) and may have partly taken effect` +
        (run.check?.kind === 'create-index'
          ? ': a failed CREATE INDEX CONCURRENTLY leaves an INVALID index, which the next run drops before building it again.'
          : '.'),
    );
  } else if (run?.mode === 'transaction' && !(failure instanceof ProgressWriteFailure)) {
    lines.push(`  Statement ${index + 1} ran in a transaction of its own, which was rolled back.`);
  }
  lines.push(
    `  ${PROGRESS_TABLE} records this: fix the cause and run the same command again; it resumes at ${statementAt(section, done + 1)}.`,
  );
  if (failure instanceof ProgressWriteFailure) {
    return new MigrationError(
      [
        `${migration.fileName} (${direction}) failed recording its progress in ${PROGRESS_TABLE} after ${statementAt(section, index + 1)}:`,
        failureLine(failure.cause),
        run?.mode === 'transaction' || blockStart !== undefined
          ? `  The statement was rolled back with it.`
          : `  The statement took effect; it is safe to run again.`,
        ...lines.slice(0, 1),
        ...lines.slice(-1),
      ].join('\n'),
      { file: migration.fileName, cause: failure.cause, code: 'MIGRATION_FAILED' },
    );
  }
  const { cause, blockers } = failure instanceof WatchedFailure ? failure : new WatchedFailure(failure, []);
  return statementError(settings, migration, direction, section, index, cause, blockers, lines);
}

function statementError(
  settings: Settings,
  migration: MigrationFile,
  direction: 'up' | 'down',
  section: MigrationSection,
  index: number,
  cause: unknown,
  blockers: readonly Blocker[],
  outcome: readonly string[],
): MigrationError {
  const statement = section.statements[index]!;
  const pgError = cause as Partial<pg.DatabaseError> & { message?: string };
  const errorLine = lineOfPosition(statement, pgError.position);
  const where =
    errorLine !== statement.line
      ? `line ${errorLine} (statement ${index + 1} of ${section.statements.length}, starting at line ${statement.line})`
      : `statement ${index + 1} of ${section.statements.length}, line ${statement.line}`;
  const lines = [
    `${migration.fileName} (${direction}) failed at ${where}:`,
    `    ${excerpt(statement.sql)}`,
    ...(errorLine !== statement.line
      ? [`    (line ${errorLine}: ${statement.sql.split('\n')[errorLine - statement.line]?.trim() ?? ''})`]
      : []),
    failureLine(cause),
  ];
  if (pgError.detail) lines.push(`  detail: ${pgError.detail}`);
  if (pgError.hint) lines.push(`  hint: ${pgError.hint}`);
  if (pgError.code === PgErrorCode.lockNotAvailable) {
    lines.push(
      `  lock_timeout is ${settings.lockTimeoutMs} ms (MIGRATION_LOCK_TIMEOUT_MS, --lock-timeout); ` +
        (blockers.length > 0
          ? `the lock was held by: ${describeBlockers(blockers)}`
          : 'the sessions holding the lock could not be identified (they were not seen in pg_blocking_pids in time)'),
    );
  } else if (pgError.code === PgErrorCode.queryCanceled && /statement timeout/i.test(pgError.message ?? '')) {
    lines.push(`  statement_timeout is ${settings.statementTimeoutMs} ms (MIGRATION_STATEMENT_TIMEOUT_MS, --statement-timeout)`);
  } else if (pgError.code === '25001' && section.transaction) {
    lines.push(`  this statement cannot run inside a transaction: mark the section "-- migrate:${direction} transaction:false"`);
  } else if ((pgError.code === '25001' || pgError.code === '2D000') && !section.transaction) {
    lines.push(
      '  In a transaction:false section the runner runs each statement in a transaction of its own, together with its progress record, ' +
        `unless it is one it knows must run on its own; ${pgError.code === '25001' ? 'this one cannot run in a transaction' : 'this one ends the transaction itself'}. ` +
        `If it is safe to run twice, put a "${RERUNNABLE_MARK}" line before it.`,
    );
  }
  lines.push(...outcome);
  return new MigrationError(lines.join('\n'), { file: migration.fileName, cause, code: 'MIGRATION_FAILED' });
}

/** Runs a step of a transactional migration that is not one of its statements, naming it on failure. */
async function phase(migration: MigrationFile, direction: 'up' | 'down', what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (cause) {
    const pgError = cause as Partial<pg.DatabaseError>;
    const lines = [`${migration.fileName} (${direction}) failed at ${what}:`, failureLine(cause)];
    if (pgError.detail) lines.push(`  detail: ${pgError.detail}`);
    if (pgError.hint) lines.push(`  hint: ${pgError.hint}`);
    lines.push(`  Nothing was changed: the migration's transaction was rolled back and no ${LEDGER_TABLE} row was written.`);
    throw new MigrationError(lines.join('\n'), { file: migration.fileName, cause, code: 'MIGRATION_FAILED' });
  }
}

/** The line of a failure message that says what failed: the server, the network, or the client's wait. */
function failureLine(cause: unknown): string {
  const { code, message } = (cause ?? {}) as { code?: string; message?: string };
  if (message === QUERY_READ_TIMEOUT_MESSAGE) {
    return '  No answer from the server in time (the statement timeout plus a margin): the connection may have gone silent; the run stopped waiting.';
  }
  if (isServerError(cause)) return `  PostgreSQL error ${cause.code}: ${cause.message}`;
  return `  Connection error${code ? ` ${code}` : ''}: ${message ?? String(cause)}`;
}

/** The file line of a PostgreSQL error position (1-based character offset into the statement). */
function lineOfPosition(statement: SqlStatement, position: string | undefined): number {
  const offset = Number(position);
  if (!position || !Number.isInteger(offset) || offset < 1) return statement.line;
  const before = [...statement.sql].slice(0, offset - 1).join('');
  return statement.line + (before.match(/\n/g)?.length ?? 0);
}

function excerpt(sql: string): string {
  const first = sql.split('\n', 1)[0]!.trim();
  const more = sql.includes('\n') || first.length > 160;
  return (first.length > 160 ? first.slice(0, 160) : first) + (more ? ' ...' : '');
}

/** The SQL a step would run, as the dry run prints it. */
function renderSql(settings: Settings, step: Step, resume: ProgressRow | undefined): string {
  const { migration, direction } = step;
  const section = (direction === 'up' ? migration.up : migration.down)!;
  const ledger =
    direction === 'up'
      ? `INSERT INTO ${LEDGER_TABLE} (name, checksum, applied_at, execution_ms) VALUES ('${migration.name}', '${migration.checksum}', clock_timestamp(), <ms>);`
      : `DELETE FROM ${LEDGER_TABLE} WHERE name = '${migration.name}';`;
  const timeouts = (scope: string) =>
    `SET ${scope}lock_timeout = '${settings.lockTimeoutMs}ms';\nSET ${scope}statement_timeout = '${settings.statementTimeoutMs}ms';`;
  const header = `-- ${migration.fileName} (${direction}${section.transaction ? '' : ', transaction:false'})`;
  if (section.transaction) {
    return [header, 'BEGIN;', timeouts('LOCAL '), ...section.statements.map((s) => `${s.sql};`), ledger, 'COMMIT;'].join('\n');
  }
  const { plan } = planSection(section.statements, new Set(section.rerunnable));
  const first = resume?.statementsDone ?? 0;
  const progress = (done: number) =>
    `UPDATE ${PROGRESS_TABLE} SET statements_done = ${done}, updated_at = clock_timestamp() WHERE name = '${migration.name}';`;
  const out = [header];
  if (resume) {
    out.push(`-- resumes an interrupted run: ${firstStatements(section, first)} took effect; SET/RESET among them are replayed`);
  } else {
    out.push(
      `-- records the section as started (creating ${PROGRESS_TABLE} if needed):`,
      `INSERT INTO ${PROGRESS_TABLE} (name, direction, checksum, statements, started_by) VALUES ('${migration.name}', '${direction}', '${migration.checksum}', ${plan.length}, '${migratorApplicationName()}');`,
    );
  }
  out.push(timeouts(''));
  for (const [i, { statement, run }] of plan.entries()) {
    if (i < first) {
      if (run.mode === 'session') out.push(`${statement.sql};`);
      continue;
    }
    const sql = `${statement.sql};`;
    switch (run.mode) {
      case 'transaction':
        out.push('BEGIN;', sql, progress(i + 1), 'COMMIT;');
        break;
      case 'block-commit':
        out.push(progress(i + 1), sql);
        break;
      case 'block-begin':
      case 'in-block':
        out.push(sql);
        break;
      case 'rerun':
        if (resume && i === first && run.check?.kind === 'create-index') {
          out.push(`-- if index ${run.check.index} exists: valid means this statement had finished; INVALID is dropped first`);
        }
        out.push(sql, progress(i + 1));
        break;
      default:
        out.push(sql, progress(i + 1));
    }
  }
  out.push(
    'RESET lock_timeout;\nRESET statement_timeout;',
    'BEGIN;',
    ledger,
    `DELETE FROM ${PROGRESS_TABLE} WHERE name = '${migration.name}';`,
    'COMMIT;',
  );
  return out.join('\n');
}
