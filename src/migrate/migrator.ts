/**
 * The migration runner: Umzug drives the order and events; this module supplies the migrations
 * (parsed SQL files), the storage (the ledger), the lock, the integrity checks and the execution
 * of each statement with timeouts and precise error messages.
 */
import pg from 'pg';
import { MigrationError as UmzugMigrationError, Umzug, type UmzugStorage } from 'umzug';
import { describeConnection, type ConnectionSettings } from '../connection.js';
import { connectionOptions } from '../connection.js';
import { connectError, DataLayerError, MigrationError, PgErrorCode } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { BlockerWatch, describeBlockers, WatchedFailure, type Blocker } from './blockers.js';
import { FILE_NAME_PATTERN, loadMigrations, type MigrationFile, type MigrationSection } from './files.js';
import {
  DELETE_LEDGER_ROW,
  ensureLedger,
  INSERT_LEDGER_ROW,
  LEDGER_TABLE,
  migrationStates,
  readLedger,
  type LedgerRow,
  type MigrationStatus,
} from './ledger.js';
import { acquireMigrationLock, releaseMigrationLock } from './lock.js';
import { defaultMigrationsDir } from './paths.js';
import type { SqlStatement } from './sql-splitter.js';

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
  /** How long to wait for another migrator's advisory lock (ms). Default 300000. */
  lockWaitMs?: number;
  /** Apply pending files that sort before the newest applied one instead of refusing. */
  allowOutOfOrder?: boolean;
  /** Progress lines go to `logger.info`. Default: silent. */
  logger?: Logger;
}

export interface MigrationResult {
  name: string;
  direction: 'up' | 'down';
  durationMs: number;
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
  /** Every migration on disk or in the ledger, with its state. Reads only. */
  status(): Promise<MigrationStatus[]>;
}

const DEFAULTS = { lockTimeoutMs: 5000, statementTimeoutMs: 900_000, lockWaitMs: 300_000 };

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
    allowOutOfOrder: options.allowOutOfOrder ?? false,
    logger: options.logger ?? silentLogger,
  };
  for (const key of ['lockTimeoutMs', 'statementTimeoutMs', 'lockWaitMs'] as const) {
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
  };
}

type Settings = {
  connection: ConnectionSettings;
  dir: string;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  lockWaitMs: number;
  allowOutOfOrder: boolean;
  logger: Logger;
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
  const client = await connect(settings);
  let locked = false;
  try {
    if (!opts.dryRun) {
      await acquireMigrationLock(client, settings.lockWaitMs, settings.logger);
      locked = true;
      await ensureLedger(client);
    }
    // Read the ledger only after the lock is held: another run may just have applied something.
    const ledger = await readLedger(client);
    checkIntegrity(files, ledger, command === 'up' && !settings.allowOutOfOrder);
    const steps = plan(command, files, ledger, opts);
    for (const s of steps) {
      if (s.direction === 'down' && !s.migration.down) {
        throw new MigrationError(
          `${s.migration.fileName}: cannot revert, the "-- migrate:down" section is missing or empty (the migration is irreversible); nothing was reverted`,
          { file: s.migration.fileName, code: 'MIGRATION_IRREVERSIBLE' },
        );
      }
    }
    if (opts.dryRun)
      return steps.map((s) => ({ name: s.migration.name, direction: s.direction, durationMs: 0, sql: renderSql(settings, s) }));
    if (steps.length === 0) {
      settings.logger.info({ command }, command === 'up' ? 'nothing to apply: the database is up to date' : 'nothing to revert');
      return [];
    }
    return await execute(settings, client, steps);
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
    return migrationStates(files, await readLedger(client));
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function connect(settings: Settings): Promise<pg.Client> {
  const client = new pg.Client(migrationSessionOptions(settings.connection));
  // Without a listener, a server-side disconnect would crash the process; the failing query reports it.
  client.on('error', (err) => settings.logger.warn({ err }, 'migration connection failed'));
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectError(error, describeConnection(settings.connection), CONNECT_TIMEOUT_MS);
  }
  return client;
}

const CONNECT_TIMEOUT_MS = 10_000;

function migrationSessionOptions(connection: ConnectionSettings): pg.ClientConfig {
  return {
    ...connectionOptions(connection), // host, port, user, database, password (or provider), TLS
    // Shown to whoever waits on our lock, or is blocked by our DDL.
    application_name: `data-layer migrate (pid ${process.pid})`,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
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
async function execute(settings: Settings, client: pg.Client, steps: readonly Step[]): Promise<MigrationResult[]> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const watch = new BlockerWatch(
    migrationSessionOptions(settings.connection),
    rows[0]!.pid,
    // Start polling early enough to see blockers before a short lock_timeout fires.
    settings.lockTimeoutMs > 0 ? Math.min(100, Math.floor(settings.lockTimeoutMs / 2)) : 100,
    settings.logger,
  );
  const results: MigrationResult[] = [];
  const files = [...new Map(steps.map((s) => [s.migration.name, s.migration])).values()];
  const section =
    (direction: 'up' | 'down') =>
    async ({ name, context }: { name: string; context: pg.Client }) => {
      const migration = files.find((f) => f.name === name)!;
      const durationMs = await applySection(settings, context, watch, migration, direction);
      results.push({ name, direction, durationMs });
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
    direction === 'up' ? [INSERT_LEDGER_ROW, [migration.name, migration.checksum, ms]] : [DELETE_LEDGER_ROW, [migration.name]];

  if (section.transaction) {
    await client.query('BEGIN');
    try {
      await client.query("SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)", timeouts);
      await runStatements(settings, client, watch, migration, direction, section);
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

  await client.query("SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)", timeouts);
  try {
    await runStatements(settings, client, watch, migration, direction, section);
  } finally {
    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
  }
  const ms = Math.round(performance.now() - started);
  try {
    await client.query(...ledgerWrite(ms));
  } catch (error) {
    throw new MigrationError(
      `${migration.fileName} (${direction}, transaction:false): every statement succeeded, but recording it in ${LEDGER_TABLE} failed: ` +
        `${(error as Error).message}. ${direction === 'up' ? 'Insert' : 'Delete'} the ledger row by hand before running again.`,
      { file: migration.fileName, cause: error },
    );
  }
  return ms;
}

async function runStatements(
  settings: Settings,
  client: pg.Client,
  watch: BlockerWatch,
  migration: MigrationFile,
  direction: 'up' | 'down',
  section: MigrationSection,
): Promise<void> {
  for (const [index, statement] of section.statements.entries()) {
    try {
      await watch.run(() => client.query(statement.sql));
    } catch (failure) {
      const { cause, blockers } = failure instanceof WatchedFailure ? failure : new WatchedFailure(failure, []);
      throw statementError(settings, migration, direction, section, index, cause, blockers);
    }
  }
}

function statementError(
  settings: Settings,
  migration: MigrationFile,
  direction: 'up' | 'down',
  section: MigrationSection,
  index: number,
  cause: unknown,
  blockers: readonly Blocker[],
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
    `  PostgreSQL error${pgError.code ? ` ${pgError.code}` : ''}: ${pgError.message ?? String(cause)}`,
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
  } else if (pgError.code === '25001') {
    lines.push(`  this statement cannot run inside a transaction: mark the section "-- migrate:${direction} transaction:false"`);
  }
  if (section.transaction) {
    lines.push(`  Nothing was changed: the migration's transaction was rolled back and no ${LEDGER_TABLE} row was written.`);
  } else if (index === 0) {
    lines.push(
      `  The section runs outside a transaction (transaction:false); no statement had taken effect and no ${LEDGER_TABLE} row was written.`,
    );
  } else {
    const done = section.statements.slice(0, index).map((s) => s.line);
    lines.push(
      `  The section runs outside a transaction (transaction:false): statement${index > 1 ? 's' : ''} 1-${index} (line${index > 1 ? 's' : ''} ${done.join(', ')}) ` +
        `already took effect and no ${LEDGER_TABLE} row was written. Undo them by hand (or make them idempotent, e.g. IF NOT EXISTS) before running again; ` +
        'a failed CREATE INDEX CONCURRENTLY also leaves an INVALID index that must be dropped.',
    );
  }
  return new MigrationError(lines.join('\n'), { file: migration.fileName, cause, code: 'MIGRATION_FAILED' });
}

/** Runs a step of a transactional migration that is not one of its statements, naming it on failure. */
async function phase(migration: MigrationFile, direction: 'up' | 'down', what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (cause) {
    const pgError = cause as Partial<pg.DatabaseError>;
    const lines = [
      `${migration.fileName} (${direction}) failed at ${what}:`,
      `  PostgreSQL error${pgError.code ? ` ${pgError.code}` : ''}: ${pgError.message ?? String(cause)}`,
    ];
    if (pgError.detail) lines.push(`  detail: ${pgError.detail}`);
    if (pgError.hint) lines.push(`  hint: ${pgError.hint}`);
    lines.push(`  Nothing was changed: the migration's transaction was rolled back and no ${LEDGER_TABLE} row was written.`);
    throw new MigrationError(lines.join('\n'), { file: migration.fileName, cause, code: 'MIGRATION_FAILED' });
  }
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
function renderSql(settings: Settings, step: Step): string {
  const { migration, direction } = step;
  const section = (direction === 'up' ? migration.up : migration.down)!;
  const ledger =
    direction === 'up'
      ? `INSERT INTO ${LEDGER_TABLE} (name, checksum, applied_at, execution_ms) VALUES ('${migration.name}', '${migration.checksum}', clock_timestamp(), <ms>);`
      : `DELETE FROM ${LEDGER_TABLE} WHERE name = '${migration.name}';`;
  const body = section.statements.map((s) => `${s.sql};`);
  const timeouts = (scope: string) =>
    `SET ${scope}lock_timeout = '${settings.lockTimeoutMs}ms';\nSET ${scope}statement_timeout = '${settings.statementTimeoutMs}ms';`;
  const header = `-- ${migration.fileName} (${direction}${section.transaction ? '' : ', transaction:false'})`;
  return section.transaction
    ? [header, 'BEGIN;', timeouts('LOCAL '), ...body, ledger, 'COMMIT;'].join('\n')
    : [header, timeouts(''), ...body, 'RESET lock_timeout;\nRESET statement_timeout;', ledger].join('\n');
}
