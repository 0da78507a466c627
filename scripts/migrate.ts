/**
 * `npm run migrate -- <command> [options]`: the migration CLI. See `--help`.
 * Connects with DATABASE_MIGRATION_URL, else DATABASE_URL (or PG* variables); with none set, it
 * uses the embedded development server under .data/postgres (EMBEDDED_POSTGRES_DIR).
 */
import { readdirSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../src/config.js';
import { MigrationError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import type { MigrationResult, MigrationStatus } from '../src/migrate/index.js';
import { defaultMigrationsDir } from '../src/migrate/paths.js';
import { runMain } from './lib/main.js';

const HELP = `Usage: npm run migrate -- <command> [options]

Commands:
  up                  Apply every pending migration (or up to --to, or the next --step N)
  down                Revert the last applied migration (or every one after --to, leaving
                      it the newest applied; everything with --to 0; or the last --step N)
  redo                Revert and re-apply the last applied migration
  status              List migrations as applied, pending, changed (edited after it was
                      applied), missing (applied, file gone) or started (a transaction:false
                      section an interrupted run left part-done: the next up or down resumes
                      it); exits 1 when any is changed or missing, or cannot be resumed
  create <name>       Create migrations/<YYYYMMDDHHMMSS>_<name>.sql with up and down
                      sections (name in snake_case, e.g. add_user_roles)

Options:
  --to <migration>           A file name, the name without .sql, or its 14-digit timestamp
                             (down also accepts 0: revert everything)
  --step <n>                 Apply or revert at most n migrations
  --dry-run                  Print the SQL that would run; change nothing
  --json                     status: print JSON instead of a table
  --allow-out-of-order       up: apply pending files that sort before the newest applied one
  --lock-timeout <ms>        lock_timeout for each statement (MIGRATION_LOCK_TIMEOUT_MS, 5000)
  --statement-timeout <ms>   statement_timeout for each statement
                             (MIGRATION_STATEMENT_TIMEOUT_MS, 900000)
  --connection-check-interval <ms>
                             client_connection_check_interval of the migrator's
                             sessions, so the server ends them within about this
                             long when the migrator dies (1000; 0 = server's setting)
  --dir <path>               Migrations folder (default: this package's migrations/)
  -h, --help                 Show this help

Examples:
  npm run migrate up
  npm run migrate -- up --to 20261124120000
  npm run migrate -- down --to 0
  npm run migrate -- status --json
  npm run migrate -- create add_user_roles

Connection: DATABASE_MIGRATION_URL when set (a direct, owner-role connection), else
DATABASE_URL or the PG* variables. With none set, the embedded development server in
.data/postgres (EMBEDDED_POSTGRES_DIR) is used (database "ai_validation_platform").
`;

const COMMANDS = ['up', 'down', 'redo', 'status', 'create'] as const;
type CommandName = (typeof COMMANDS)[number];

/** Which options each command accepts; anything else is an error that says so. */
const ACCEPTS: Record<CommandName, readonly string[]> = {
  up: ['to', 'step', 'dry-run', 'allow-out-of-order', 'lock-timeout', 'statement-timeout', 'connection-check-interval', 'dir'],
  down: ['to', 'step', 'dry-run', 'lock-timeout', 'statement-timeout', 'connection-check-interval', 'dir'],
  redo: ['dry-run', 'lock-timeout', 'statement-timeout', 'connection-check-interval', 'dir'],
  status: ['json', 'dir'],
  create: ['dir'],
};

class UsageError extends MigrationError {
  constructor(message: string) {
    super(`${message}\nRun "npm run migrate -- --help" for usage.`, { code: 'USAGE' });
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        to: { type: 'string' },
        step: { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        'allow-out-of-order': { type: 'boolean' },
        'lock-timeout': { type: 'string' },
        'statement-timeout': { type: 'string' },
        'connection-check-interval': { type: 'string' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs names the offending flag; add what is accepted.
    throw new UsageError(
      `${(error as Error).message.split('. ')[0]}. Accepted options: ${Object.values(ACCEPTS)
        .flat()
        .filter((v, i, a) => a.indexOf(v) === i)
        .map((o) => `--${o}`)
        .join(', ')}, --help`,
    );
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError(`a command is required: ${COMMANDS.join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command "${command}"; accepted commands: ${COMMANDS.join(', ')}`);
  }
  const name = command as CommandName;
  for (const option of Object.keys(values)) {
    if (option !== 'help' && !ACCEPTS[name].includes(option)) {
      throw new UsageError(
        `${name} does not accept --${option}; it accepts ${ACCEPTS[name].map((o) => `--${o}`).join(', ') || 'no options'}`,
      );
    }
  }
  if (name === 'create' ? rest.length !== 1 : rest.length > 0) {
    throw new UsageError(
      name === 'create' ? 'create takes exactly one name, e.g. create add_user_roles' : `unexpected argument "${rest[0]}"`,
    );
  }
  const dir = values.dir !== undefined ? resolve(values.dir) : defaultMigrationsDir();
  if (name === 'create') return create(dir, rest[0]!);

  const step = values.step === undefined ? undefined : wholeNumber('--step', values.step, 1);
  const lockTimeoutMs = values['lock-timeout'] === undefined ? undefined : wholeNumber('--lock-timeout', values['lock-timeout'], 0);
  const statementTimeoutMs =
    values['statement-timeout'] === undefined ? undefined : wholeNumber('--statement-timeout', values['statement-timeout'], 0);
  const connectionCheckIntervalMs =
    values['connection-check-interval'] === undefined
      ? undefined
      : wholeNumber('--connection-check-interval', values['connection-check-interval'], 0);
  if (values.to !== undefined && step !== undefined) throw new UsageError('use either --to or --step, not both');
  if (values.to !== undefined && values.to.trim() === '') throw new UsageError('--to needs a migration name or timestamp');
  if (name === 'up' && values.to === '0') throw new UsageError('--to 0 is only accepted by down');

  // Loaded only now, so --help, usage errors and create start quickly.
  const [{ describeConnection }, { createMigrator }] = await Promise.all([
    import('../src/connection.js'),
    import('../src/migrate/migrator.js'),
  ]);
  return withConfig(async (config) => {
    console.error(`database: ${describeConnection(config.migrationConnection)}`);
    const migrator = createMigrator({
      connection: config.migrationConnection,
      migrationsDir: dir,
      lockTimeoutMs: lockTimeoutMs ?? config.migrations.lockTimeoutMs,
      statementTimeoutMs: statementTimeoutMs ?? config.migrations.statementTimeoutMs,
      lockWaitMs: config.migrations.lockWaitMs,
      connectionCheckIntervalMs,
      allowOutOfOrder: values['allow-out-of-order'] ?? false,
      logger: progressLogger,
    });
    const dryRun = values['dry-run'] ?? false;
    switch (name) {
      case 'up':
        return report('up', await migrator.up({ to: values.to, step, dryRun }), dryRun);
      case 'down':
        return report('down', await migrator.down({ to: values.to === '0' ? 0 : values.to, step, dryRun }), dryRun);
      case 'redo':
        return report('redo', await migrator.redo({ dryRun }), dryRun);
      case 'status':
        return printStatus(await migrator.status(), values.json ?? false, dir);
    }
  });
}

function wholeNumber(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw new UsageError(
      `${flag} must be a whole number${min > 0 ? ` of ${min} or more` : ' (milliseconds, 0 = no limit)'}, got "${text}"`,
    );
  }
  return Number(text);
}

/** Progress lines ("applying ...") go to stdout as they happen; warnings to stderr. */
const progressLogger: Logger = {
  info: (_obj, msg) => {
    if (msg) console.log(msg);
  },
  warn: (obj, msg) => console.error(`warning: ${msg ?? ''}${errText(obj)}`),
  error: (obj, msg) => console.error(`error: ${msg ?? ''}${errText(obj)}`),
  debug: () => {},
};

function errText(obj: object): string {
  const err = (obj as { err?: unknown }).err;
  return err instanceof Error ? ` (${err.message})` : '';
}

/**
 * Loads the configuration, or starts the embedded development server when no database is
 * configured, and runs `fn` with it.
 */
async function withConfig(fn: (config: Config) => Promise<number>): Promise<number> {
  const [{ isDatabaseConfigured, loadConfig }, { toConnectionUrl }] = await Promise.all([
    import('../src/config.js'),
    import('../src/connection.js'),
  ]);
  if (isDatabaseConfigured(process.env)) return fn(loadConfig(process.env));

  const { embeddedDataDir, startEmbeddedDevServer } = await import('./lib/dev-server.js');
  console.error(`DATABASE_URL is not set: using the embedded development server (${embeddedDataDir(process.env)})`);
  const dev = await startEmbeddedDevServer({ env: process.env, strictPort: false });
  try {
    // loadConfig still validates the MIGRATION_* variables.
    return await fn(loadConfig({ ...process.env, DATABASE_URL: toConnectionUrl(dev.connection), DATABASE_MIGRATION_URL: undefined }));
  } finally {
    await dev.server.stop();
  }
}

function report(command: 'up' | 'down' | 'redo', results: MigrationResult[], dryRun: boolean): number {
  if (dryRun) {
    if (results.length === 0) console.log(command === 'up' ? '-- dry run: nothing to apply' : '-- dry run: nothing to revert');
    else console.log(`-- dry run: nothing was changed. This would run:\n\n${results.map((r) => r.sql).join('\n\n')}`);
    return 0;
  }
  // Each migration was already reported as it finished (progressLogger).
  if (results.length > 0) {
    const verb = command === 'redo' ? 'redone' : command === 'up' ? 'applied' : 'reverted';
    const count = command === 'redo' ? 1 : results.length;
    console.log(`${count} migration${count === 1 ? '' : 's'} ${verb}`);
  }
  return 0;
}

function printStatus(status: MigrationStatus[], json: boolean, dir: string): number {
  const stuck = status.filter((s) => s.started && !s.started.resumable);
  const problems = status.filter((s) => s.state === 'changed' || s.state === 'missing' || (s.started && !s.started.resumable));
  if (json) {
    console.log(
      JSON.stringify(
        status.map((s) => ({
          ...s,
          appliedAt: s.appliedAt?.toISOString(),
          ...(s.started
            ? { started: { ...s.started, startedAt: s.started.startedAt.toISOString(), updatedAt: s.started.updatedAt.toISOString() } }
            : {}),
        })),
        null,
        2,
      ),
    );
    return problems.length > 0 ? 1 : 0;
  }
  if (status.length === 0) {
    console.log(`no migrations in ${relative(process.cwd(), dir) || '.'}`);
    return 0;
  }
  const width = Math.max(...status.map((s) => s.name.length), 4);
  console.log(`${'STATE'.padEnd(8)}  ${'NAME'.padEnd(width)}  APPLIED AT`);
  for (const s of status) {
    const started = s.started
      ? `  (${s.started.direction} interrupted after ${s.started.statementsDone} of ${s.started.statements} statements, ` +
        `started ${s.started.startedAt.toISOString()}${s.started.resumable ? '; the next ' + s.started.direction + ' resumes it' : '; the file changed since: it cannot resume'})`
      : '';
    console.log(
      `${(s.started ? 'started' : s.state).padEnd(8)}  ${s.name.padEnd(width)}  ${s.appliedAt?.toISOString() ?? ''}${started}`.trimEnd(),
    );
  }
  const counts = (['applied', 'pending', 'changed', 'missing'] as const)
    .map((state) => [state, status.filter((s) => s.state === state && !s.started).length] as const)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  const started = status.filter((s) => s.started).length;
  if (started > 0) counts.push(`${started} started`);
  console.log(`\n${counts.join(', ')}`);
  if (stuck.length > 0) {
    console.error(
      `error: ${stuck.map((s) => s.name).join(', ')} ${stuck.length === 1 ? 'was' : 'were'} interrupted and the file changed since: the next up or down will refuse to run until the started version is restored`,
    );
  }
  if (problems.length > stuck.length) {
    console.error('error: changed or missing migrations: the next up or down will refuse to run until the applied files are restored');
  }
  return problems.length > 0 ? 1 : 0;
}

function create(dir: string, name: string): number {
  if (!/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(name) || name.length > 100) {
    throw new UsageError(
      `migration name "${name}" must be snake_case: lowercase letters, digits and single underscores, starting with a letter (e.g. add_user_roles)`,
    );
  }
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const newest = readdirSync(dir)
    .map((f) => /^(\d{14})_/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .sort()
    .at(-1);
  let version = timestamp(new Date());
  // Never sort before an existing file (clock skew, or a file created "in the future").
  if (newest !== undefined && version <= newest) version = timestamp(new Date(parseTimestamp(newest).getTime() + 1000));
  const fileName = `${version}_${name}.sql`;
  const path = join(dir, fileName);
  writeFileSync(path, `-- migrate:up\n\n\n-- migrate:down\n\n`, { flag: 'wx' });
  console.log(`created ${relative(process.cwd(), path) || path}`);
  console.log('Write the SQL in both sections, then: npm run migrate up && npm run codegen');
  return 0;
}

function timestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, '')
    .replace(/\D/g, '');
}

function parseTimestamp(version: string): Date {
  const p = (at: number, len: number) => Number(version.slice(at, at + len));
  return new Date(Date.UTC(p(0, 4), p(4, 2) - 1, p(6, 2), p(8, 2), p(10, 2), p(12, 2)));
}

// Last, so every module-level constant above is initialised before main runs.
runMain(main);
