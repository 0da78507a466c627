/**
 * How the npm scripts run: `.env` is loaded first (development only, see env.ts), then the command
 * runs under the CLI's runMain (src/cli/process.ts: the exit codes 0/1/2, one message instead of a
 * stack trace, the signals), with the embedded servers and the pg_dump / pg_restore processes this
 * process started stopped when a signal ends it. The binary (`ai-data-layer`) uses the same code.
 */
import { runMain as runCommand, type CommandContext, type RunMainOptions } from '../../src/cli/process.js';
import { loadDotenv } from './env.js';

export { parseCommandLine, UsageError } from '../../src/cli/args.js';
export type { CommandContext } from '../../src/cli/process.js';

/**
 * Runs an npm script's `main`. The shutdown hooks import their modules only when a signal comes:
 * a module that was never loaded started nothing.
 *
 * @example
 * ```ts
 * runMain(async (argv, context) => { ...; return 0; });
 * ```
 */
export function runMain(main: (argv: string[], context: CommandContext) => Promise<number | void>, options: RunMainOptions = {}): void {
  loadDotenv();
  runCommand(main, {
    ...options,
    // Run newest first: the tools before the servers they talk to.
    shutdown: [
      async () => (await import('./embedded.js')).stopStartedServers(),
      async () => (await import('./pg-tools.js')).stopRunningTools(),
      ...(options.shutdown ?? []),
    ],
  });
}

/** Prints a command's usage on stdout (for `--help`) and returns exit code 0. */
export function printUsage(usage: string): 0 {
  process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
  return 0;
}
