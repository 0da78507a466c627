/**
 * `ai-data-layer`: the package's binary's commands (src/cli/main.ts runs them), for deploy steps, init containers and operators.
 * Commands: `migrate up|down|redo|status`, `health`, `help`, `--version`. Configuration comes from
 * the environment only. `npm run migrate` in the repository runs the same migrate command.
 */
import { readFileSync } from 'node:fs';
import { parseCommandLine, UsageError } from './args.js';
import { healthCommand, HEALTH_HELP } from './health.js';
import { BIN_MIGRATE, migrateCommand, migrateHelp, migrateInterruptedHint } from './migrate.js';
import { BIN_NAME } from './npm.js';

/** The top-level help of `ai-data-layer` (docs/cli.md holds it verbatim). */
export const MAIN_HELP = `Usage: ${BIN_NAME} <command> [options]

Commands:
  migrate <command>   Apply, revert, list or adopt this package's schema migrations:
                      up, down, redo, status, lint, baseline, adopt-legacy, wait
                      (${BIN_NAME} migrate --help)
  health              Check the database: answering, how fast, migrations in step
                      (${BIN_NAME} health --help)
  help [<command>]    Show this help, or a command's

Options:
  -h, --help          Show this help
  --version           Print the package's version

Configuration comes from the environment only (DATABASE_URL or the PG* variables,
DATABASE_MIGRATION_URL for migrate, MIGRATION_* and DATABASE_* settings); no .env file
is read. Seeding is not part of the installed package: the seed sets are development
data (npm run seed in the data-layer repository).

Exit codes: 0 success; 1 failure; 2 usage error (nothing was touched); 130 or 143
interrupted by SIGINT or SIGTERM.
`;

const COMMANDS = ['migrate', 'health', 'help'] as const;

/** Runs `ai-data-layer <argv...>` and returns the exit code. */
export async function binCommand(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'migrate':
      return migrateCommand(rest, BIN_MIGRATE, process.env, ['migrate']);
    case 'health':
      return healthCommand(rest, process.env, ['health']);
    case 'help':
      return help(rest);
    case 'seed':
      throw new UsageError(
        'seed is not part of the installed package: the seed sets are development data and need the ' +
          "repository's development dependencies; run npm run seed in the data-layer repository",
        shortUsage(),
      );
    default: {
      const {
        values,
        positionals,
        help: wantsHelp,
      } = parseCommandLine(argv, {
        options: { version: { type: 'boolean' } },
        positionals: 1,
        usage: MAIN_HELP,
      });
      if (values.version) {
        console.log(version());
        return 0;
      }
      if (wantsHelp) {
        process.stdout.write(MAIN_HELP);
        return 0;
      }
      if (positionals[0] === undefined) throw new UsageError(`a command is required: ${COMMANDS.join(', ')}`, MAIN_HELP);
      throw new UsageError(`unknown command "${positionals[0]}"; the commands are ${COMMANDS.join(', ')}`, shortUsage());
    }
  }
}

function help(args: readonly string[]): number {
  const [topic, ...extra] = args;
  if (extra.length > 0) throw new UsageError(`help takes one command at most (got ${args.join(' ')})`, shortUsage());
  if (topic === undefined) process.stdout.write(MAIN_HELP);
  else if (topic === 'migrate') process.stdout.write(migrateHelp(BIN_MIGRATE));
  else if (topic === 'health') process.stdout.write(HEALTH_HELP);
  else throw new UsageError(`no help for "${topic}": the commands are ${COMMANDS.join(', ')}`, shortUsage());
  return 0;
}

function shortUsage(): string {
  return `Usage: ${BIN_NAME} <command> [options]\nRun "${BIN_NAME} --help" for the commands.`;
}

/** `@ai-validation/data-layer 0.1.0`, from the package's package.json (two levels up in src/ and dist/). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}

/** What an interruption means, for `runMain`'s message. */
export function binInterruptedHint(argv: readonly string[]): string | undefined {
  return argv[0] === 'migrate' ? migrateInterruptedHint(argv.slice(1)) : undefined;
}
