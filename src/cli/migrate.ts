/**
 * The `migrate` command: `ai-data-layer migrate <command>` in a deployed package and
 * `npm run migrate -- <command>` in this repository are this one implementation, so their flags,
 * messages and exit codes are the same. The flavour says how it is invoked (for the help and the
 * messages), whether `create` is offered, and where the connection comes from.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Config, Env } from '../config.js';
import { MigrationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MigrationResult } from '../migrate/migrator.js';
import type { MigrationStatus } from '../migrate/ledger.js';
import { formatReport } from '../migrate/lint/format.js';
import type { LintReport } from '../migrate/lint/lint.js';
import { LINT_RULES } from '../migrate/lint/registry.js';
import { defaultMigrationsDir } from '../migrate/paths.js';
import { describeOptions, parseCommandLine, UsageError, wholeNumber, type OptionSpecs } from './args.js';
import { loadCommandConfig } from './config.js';
import { BIN_NAME } from './npm.js';

/** How the migrate command is invoked and where its connection comes from. */
export interface MigrateFlavour {
  /** What the user types before the command: `ai-data-layer migrate` or `npm run migrate --`. */
  program: string;
  /** Offer `create` (the repository); the installed package refuses it. */
  create: boolean;
  /** The help's paragraph about the connection. */
  connectionHelp: string;
  /** Runs `fn` with the configuration to migrate. Default: the environment only (`loadCommandConfig`). */
  withConfig?: (env: Env, fn: (config: Config) => Promise<number>) => Promise<number>;
}

/** The installed binary's flavour: configuration from the environment only, no `create`. */
export const BIN_MIGRATE: MigrateFlavour = {
  program: `${BIN_NAME} migrate`,
  create: false,
  connectionHelp: `Connection, from the environment only: DATABASE_MIGRATION_URL (a direct, owner-role
connection) when set, else DATABASE_URL or the PG* variables; with none of them set, the
command refuses (exit 2). New migrations are written in the data-layer repository
(npm run migrate -- create <name>), not in an installed package.`,
};

/** What an interrupted `up`, `down` or `redo` leaves: said after "interrupted by SIGTERM" (argv: the migrate command's). */
export function migrateInterruptedHint(argv: readonly string[]): string | undefined {
  return argv.some((arg) => arg === 'up' || arg === 'down' || arg === 'redo')
    ? 'a migration in progress is rolled back by the server; a transaction:false section resumes on the next run'
    : undefined;
}

export const MIGRATE_OPTIONS = {
  to: { type: 'string', value: '<migration>' },
  step: { type: 'string', value: '<n>' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  'allow-out-of-order': { type: 'boolean' },
  'lock-timeout': { type: 'string', value: '<ms>' },
  'statement-timeout': { type: 'string', value: '<ms>' },
  'connection-check-interval': { type: 'string', value: '<ms>' },
  dir: { type: 'string', value: '<path>' },
  database: { type: 'boolean' },
  rules: { type: 'boolean' },
  verbose: { type: 'boolean' },
  'large-table-rows': { type: 'string', value: '<n>' },
  'large-table-mb': { type: 'string', value: '<n>' },
  'exit-code': { type: 'boolean' },
  wait: { type: 'boolean' },
  'wait-timeout': { type: 'string', value: '<ms>' },
} as const satisfies OptionSpecs;

type OptionName = keyof typeof MIGRATE_OPTIONS;
const COMMANDS = ['up', 'down', 'redo', 'status', 'lint', 'baseline', 'adopt-legacy', 'wait', 'create', 'help'] as const;
type CommandName = (typeof COMMANDS)[number];

/** Which options each command accepts; anything else is a usage error that says so. */
const ACCEPTS: Record<CommandName, readonly OptionName[]> = {
  up: [
    'to',
    'step',
    'dry-run',
    'allow-out-of-order',
    'lock-timeout',
    'statement-timeout',
    'connection-check-interval',
    'dir',
    'large-table-rows',
    'large-table-mb',
    'wait',
    'wait-timeout',
  ],
  down: ['to', 'step', 'dry-run', 'lock-timeout', 'statement-timeout', 'connection-check-interval', 'dir'],
  redo: ['dry-run', 'lock-timeout', 'statement-timeout', 'connection-check-interval', 'dir'],
  status: ['json', 'dir', 'exit-code'],
  lint: ['database', 'rules', 'verbose', 'json', 'large-table-rows', 'large-table-mb', 'dir'],
  baseline: ['to', 'dry-run', 'dir'],
  'adopt-legacy': ['dry-run', 'lock-timeout', 'statement-timeout', 'connection-check-interval', 'dir'],
  wait: ['wait-timeout'],
  create: ['dir'],
  help: [],
};

/** The help text of the migrate command in `flavour` (docs/cli.md holds it verbatim). */
export function migrateHelp(flavour: MigrateFlavour): string {
  const p = flavour.program;
  const create = flavour.create
    ? `  create <name>       Create migrations/<YYYYMMDDHHMMSS>_<name>.sql with up and down
                      sections (name in snake_case, e.g. add_user_roles)
`
    : '';
  return `Usage: ${p} <command> [options]

Commands:
  up                  Apply every pending migration (or up to --to, or the next --step N)
  down                Revert the last applied migration (or every one after --to, leaving
                      it the newest applied; everything with --to 0; or the last --step N)
  redo                Revert and re-apply the last applied migration
  status              List migrations as applied, pending, changed (edited after it was
                      applied), missing (applied, file gone) or started (a transaction:false
                      section an interrupted run left part-done: the next up or down resumes
                      it), with the lint findings each file accepts; exits 1 when any is
                      changed or missing, or cannot be resumed (with --exit-code, also
                      when any is pending)
  lint                Check every migration for dangerous DDL (a blocking index build, a
                      constraint validated under lock, a rewrite, a drop an old release
                      still uses, ...): rule, file, line and the safe way; exits 1 on an
                      error. Each file alone, tables assumed large; with --database, the
                      pending files in order, graded by the live size of each table.
                      up runs the same check first and refuses on an error
  baseline            Adopt a database whose schema was built some other way: record
                      every migration (or up to --to) as applied without running it,
                      once its schema matches a throwaway database migrated on the same
                      server (needs CREATEDB); otherwise list what is missing or
                      different and record nothing
  adopt-legacy        Bring a database holding the earlier placeholder schema (users,
                      business_evaluations, agent_executions) to the current schema
                      with every row kept: move the tables into schema legacy, apply
                      the migrations, copy the rows (old ids in legacy.id_map); a row
                      that cannot be mapped refuses it, listed, nothing changed
  wait                Wait until the server answers (at most --wait-timeout)
${create}  help                Show this help

Options:
  --to <migration>           A file name, the name without .sql, or its 14-digit timestamp
                             (down also accepts 0: revert everything)
  --step <n>                 Apply or revert at most n migrations
  --dry-run                  Print the SQL that would run; change nothing (baseline:
                             compare only; adopt-legacy: check the rows only)
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
  --database                 lint: compare against the configured database
  --rules                    lint: list the rules, one line each
  --verbose                  lint: also list notes and accepted (ignored) findings
  --large-table-rows <n>     up, lint: a table is large above n rows (10000) ...
  --large-table-mb <n>       ... or above n MiB on disk (16); below both, a
                             blocking statement on it is a note, not an error
  --exit-code                status: exit 1 when any migration is pending
  --wait                     up: first wait until the server answers
  --wait-timeout <ms>        wait, up --wait: give up after this long (60000)
  -h, --help                 Show this help

Examples:
  ${p} up
  ${p} up --to 20261124120000
  ${p} up --dry-run
  ${p} down --to 0
  ${p} status --json
  ${p} lint --database
  ${p} baseline --to 20261125090000
  ${p} adopt-legacy --dry-run
  ${p} up --wait --wait-timeout 30000
${flavour.create ? `  ${p} create add_user_roles\n` : ''}
${flavour.connectionHelp}

A lint finding is accepted only in its file, on a line before the statement (or before
"-- migrate:up", for the whole file): -- migrate:lint-ignore <rule> <reason>. The reason
is recorded in the ledger and shown by status. up, down and redo refuse to run through
a transaction pooler (PgBouncer in transaction mode), where their session lock cannot
hold: use DATABASE_MIGRATION_URL, direct to the server.

Exit codes: 0 done; 1 failed (status: a changed, missing or unresumable migration;
lint: an error; wait: no answer in time); 2 usage error, nothing touched (an unknown
flag, a --to naming no migration, a missing or invalid configuration variable); 130 or
143 interrupted by SIGINT or SIGTERM: the migration in progress is rolled back, a
transaction:false section resumes on the next run.
`;
}

/**
 * Runs `<program> <argv...>`: parses and checks the command line (usage errors before anything
 * connects), then migrates. Returns the exit code; throws what `runMain()` reports.
 */
export async function migrateCommand(
  argv: readonly string[],
  flavour: MigrateFlavour,
  env: Env = process.env,
  prefix: readonly string[] = [],
): Promise<number> {
  const help = migrateHelp(flavour);
  const shortUsage = `Usage: ${flavour.program} <command> [options]\nRun "${flavour.program} --help" for the commands and options.`;
  const usage = (message: string): UsageError => new UsageError(message, shortUsage);
  const {
    values,
    positionals,
    help: wantsHelp,
  } = parseCommandLine(argv, {
    options: MIGRATE_OPTIONS,
    positionals: 2,
    leadingPositionals: 1,
    usage: shortUsage,
    env,
    prefix,
  });
  const [command, ...rest] = positionals;
  if (wantsHelp || command === 'help') {
    process.stdout.write(help);
    return 0;
  }
  const commands = COMMANDS.filter((c) => flavour.create || c !== 'create');
  if (command === undefined) throw usage(`a command is required: ${commands.join(', ')}`);
  if (command === 'create' && !flavour.create) {
    throw usage(
      'create is not offered by the installed package: a new migration belongs in the data-layer repository ' +
        "(npm run migrate -- create <name> there), not in this package's own migrations folder",
    );
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw usage(`unknown command "${command}"; the commands are ${commands.join(', ')}`);
  }
  const name = command as CommandName;
  for (const option of Object.keys(values) as OptionName[]) {
    if (!ACCEPTS[name].includes(option)) {
      const accepted = ACCEPTS[name].length > 0 ? describeOptions(MIGRATE_OPTIONS, ACCEPTS[name]) : 'no options';
      throw usage(`${name} does not accept --${option}; it accepts ${accepted}`);
    }
  }
  if (name === 'create' ? rest.length !== 1 : rest.length > 0) {
    throw usage(name === 'create' ? 'create takes exactly one name, e.g. create add_user_roles' : `unexpected argument "${rest[0]}"`);
  }
  const dir = values.dir !== undefined ? resolve(values.dir) : defaultMigrationsDir();
  if (name === 'create') return create(dir, rest[0]!, flavour);

  const number = (flag: `--${OptionName}`, text: string | undefined, min: number) =>
    text === undefined ? undefined : wholeNumber(flag, text, min, shortUsage);
  const step = number('--step', values.step, 1);
  const lockTimeoutMs = number('--lock-timeout', values['lock-timeout'], 0);
  const statementTimeoutMs = number('--statement-timeout', values['statement-timeout'], 0);
  const connectionCheckIntervalMs = number('--connection-check-interval', values['connection-check-interval'], 0);
  if (values.to !== undefined && step !== undefined) throw usage('use either --to or --step, not both');
  if (values.to !== undefined && values.to.trim() === '') throw usage('--to needs a migration name or timestamp');
  if (name === 'up' && values.to === '0') throw usage('--to 0 is only accepted by down');
  const largeTableRows = number('--large-table-rows', values['large-table-rows'], 0);
  const largeTableMb = number('--large-table-mb', values['large-table-mb'], 0);
  const largeTable = {
    ...(largeTableRows !== undefined ? { rows: largeTableRows } : {}),
    ...(largeTableMb !== undefined ? { bytes: largeTableMb * 1024 * 1024 } : {}),
  };
  const waitTimeoutMs = number('--wait-timeout', values['wait-timeout'], 1) ?? DEFAULT_WAIT_TIMEOUT_MS;
  if (values['wait-timeout'] !== undefined && name === 'up' && !values.wait) throw usage('--wait-timeout needs --wait');
  const lintOutput = { json: values.json ?? false, verbose: values.verbose ?? false, dir };
  if (name === 'lint' && values.rules) {
    if (values.database || values.json) throw usage('--rules lists the rules; it takes no --database or --json');
    return printRules();
  }
  if (name === 'lint' && !values.database) {
    // Without a database: every file on its own, every table it does not create assumed large.
    const [{ loadMigrations }, { lintMigrations }] = await Promise.all([import('../migrate/files.js'), import('../migrate/lint/index.js')]);
    return printLint(await lintMigrations(loadMigrations(dir), { mode: 'each' }), lintOutput);
  }

  // Loaded only now, so --help and usage errors answer at once.
  const [{ describeConnection }, { createMigrator }] = await Promise.all([import('../connection.js'), import('../migrate/migrator.js')]);
  const withConfig = flavour.withConfig ?? ((e, fn) => fn(loadCommandConfig(e, { migration: true })));
  return withConfig(env, async (config) => {
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
      largeTable,
    });
    const dryRun = values['dry-run'] ?? false;
    const wait = async (): Promise<void> => {
      const { waitForServer } = await import('../migrate/wait.js');
      const waited = await waitForServer(config.migrationConnection, { timeoutMs: waitTimeoutMs, logger: progressLogger });
      console.error(`the server answers${waited > 0 ? ` (after ${waited} ms)` : ''}`);
    };
    try {
      switch (name) {
        case 'wait':
          await wait();
          return 0;
        case 'up':
          if (values.wait) await wait();
          return report('up', await migrator.up({ to: values.to, step, dryRun }), dryRun);
        case 'down':
          return report('down', await migrator.down({ to: values.to === '0' ? 0 : values.to, step, dryRun }), dryRun);
        case 'redo':
          return report('redo', await migrator.redo({ dryRun }), dryRun);
        case 'status':
          return printStatus(await migrator.status(), values.json ?? false, dir, values['exit-code'] ?? false);
        case 'lint':
          return printLint(await migrator.lint(), lintOutput);
        case 'baseline': {
          const result = await migrator.baseline({ to: values.to, dryRun });
          const n = result.recorded.length;
          const what = `${n} migration${n === 1 ? '' : 's'}`;
          if (n === 0) console.log('nothing to record');
          else console.log(dryRun ? `${what} would be recorded as applied (dry run: nothing was changed)` : `${what} recorded as applied`);
          return 0;
        }
        case 'adopt-legacy': {
          const result = await migrator.adoptLegacy({ dryRun });
          const counts = (rows: Record<string, number>) =>
            Object.entries(rows)
              .map(([table, n]) => `${n} ${table}`)
              .join(', ');
          if (result.outcome === 'already-adopted') console.log(`already adopted on ${result.adoptedAt?.toISOString()}: nothing to do`);
          else if (result.outcome === 'dry-run')
            console.log(`every placeholder row can be mapped: would copy ${counts(result.copied)} (dry run: nothing was changed)`);
          else
            console.log(
              `adopted the placeholder schema: ${result.applied.length} migrations applied, copied ${counts(result.copied)}; ` +
                `the placeholder tables are kept in schema legacy (drop it when satisfied)`,
            );
          return 0;
        }
        default:
          throw new Error(`unreachable: ${name}`);
      }
    } catch (error) {
      // The flag at fault, named: "--to: no migration named ...".
      if (error instanceof MigrationError && error.code === 'MIGRATION_NOT_FOUND') throw new UsageError(`--to: ${error.message}`);
      throw error;
    }
  });
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

/** How long `wait` and `up --wait` wait for the server by default. */
const DEFAULT_WAIT_TIMEOUT_MS = 60_000;

function printRules(): number {
  const width = Math.max(...LINT_RULES.map((r) => r.id.length));
  for (const rule of LINT_RULES) {
    const grading = rule.grading === 'size' ? ', by table size' : rule.grading === 'new-table' ? ', note on a new table' : '';
    console.log(`${rule.id.padEnd(width)}  ${`${rule.severity}${grading}`.padEnd(30)}  ${rule.summary}`);
  }
  return 0;
}

function printLint(report: LintReport, options: { json: boolean; verbose: boolean; dir: string }): number {
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else console.log(formatReport(report, { verbose: options.verbose, dir: relative(process.cwd(), options.dir) || '.' }));
  return report.errors > 0 ? 1 : 0;
}

function printStatus(status: MigrationStatus[], json: boolean, dir: string, exitOnPending = false): number {
  const stuck = status.filter((s) => s.started && !s.started.resumable);
  const pending = exitOnPending ? status.filter((s) => s.state === 'pending' || s.started) : [];
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
    return problems.length > 0 || pending.length > 0 ? 1 : 0;
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
    for (const ignore of s.lintIgnores ?? []) console.log(`          lint-ignore ${ignore.rule} (line ${ignore.line}): ${ignore.reason}`);
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
  if (pending.length > 0) console.error(`pending: ${pending.length} migration${pending.length === 1 ? '' : 's'} to apply (--exit-code)`);
  return problems.length > 0 || pending.length > 0 ? 1 : 0;
}

function create(dir: string, name: string, flavour: MigrateFlavour): number {
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
  console.log(`Write the SQL in both sections, then: ${flavour.program} up && npm run codegen`);
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
