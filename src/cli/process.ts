/**
 * How every command runs, the `ai-data-layer` binary and the npm scripts alike: one exit-code
 * convention, one message instead of a stack trace for expected failures, and signal handling
 * that stops what the command started before the process exits.
 *
 * Exit codes:
 * - 0: success.
 * - 1: the command ran and failed, or refused because of the state of its target (a failed
 *   migration, a database that cannot be reached, `status` finding changed files, `health` not
 *   ready, a production guard).
 * - 2: usage error: an unknown or malformed flag, argument or command, a flag npm took for itself,
 *   a missing or invalid configuration variable, a `--to` that names no migration. Nothing was
 *   touched.
 * - 128 + n: stopped by signal n (130 SIGINT, 143 SIGTERM, 129 SIGHUP) before it finished. A
 *   command that handles the signal itself (`db:serve`'s Ctrl+C is how it is meant to end)
 *   returns its own code.
 */
import { ConfigError, DataLayerError, MigrationError } from '../errors.js';
import { UsageError } from './args.js';

export const EXIT_SUCCESS = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
/** The signals a command stops on. */
export type StopSignal = keyof typeof SIGNAL_NUMBERS;

/** 128 + the signal's number: what a shell reports for a process the signal ended. */
export function signalExitCode(signal: StopSignal): number {
  return 128 + SIGNAL_NUMBERS[signal];
}

/** The reason `CommandContext.signal` is aborted with. */
export class Interrupted extends Error {
  readonly signal: StopSignal;

  constructor(signal: StopSignal) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
    this.signal = signal;
  }
}

type Hook = () => unknown;

/** What a command gets besides its arguments. */
export interface CommandContext {
  /** Aborted (with an `Interrupted` reason) on the first SIGINT, SIGTERM or SIGHUP. */
  readonly signal: AbortSignal;
  /**
   * Runs `hook` when a signal stops the command (newest first, all of them within 10 s together),
   * e.g. to stop a server it started or remove a temporary folder. Returns a function that removes it.
   */
  onShutdown(hook: Hook): () => void;
}

/** Options for `runMain()`. */
export interface RunMainOptions {
  /**
   * How long the command may take, after a signal, to finish by itself (it sees `context.signal`
   * aborted) before the shutdown hooks run and the process exits. Default 0: at once. When it
   * returns an exit code within that time, that is the process's exit code.
   */
  graceMs?: number;
  /** Said after "interrupted by SIGTERM": what the interruption means for the target (given the arguments). */
  interruptedHint?: string | ((argv: readonly string[]) => string | undefined);
  /** Shutdown hooks registered before the command starts (see `CommandContext.onShutdown`). */
  shutdown?: readonly Hook[];
  /** The arguments; default `process.argv.slice(2)`. */
  argv?: readonly string[];
}

const HOOKS_DEADLINE_MS = 10_000;
/** npm forwards SIGINT to the script, and Ctrl+C sends it to the whole process group too: one stop, not two. */
const REPEAT_WINDOW_MS = 1_000;

/**
 * Runs a command: maps its result to the exit code, prints an expected failure as one `error:`
 * line (a usage error with the command's usage after it), and on SIGINT, SIGTERM or SIGHUP aborts
 * `context.signal`, runs the shutdown hooks and exits with 128 + the signal's number. A second
 * signal more than a second after the first exits at once.
 *
 * @example
 * ```ts
 * runMain(async (argv, context) => {
 *   const server = await startServer();
 *   context.onShutdown(() => server.stop());
 *   return 0;
 * });
 * ```
 */
export function runMain(main: (argv: string[], context: CommandContext) => Promise<number | void>, options: RunMainOptions = {}): void {
  const controller = new AbortController();
  const hooks: Hook[] = [...(options.shutdown ?? [])];
  const context: CommandContext = {
    signal: controller.signal,
    onShutdown(hook) {
      hooks.push(hook);
      return () => {
        const at = hooks.lastIndexOf(hook);
        if (at >= 0) hooks.splice(at, 1);
      };
    },
  };
  let received: { signal: StopSignal; at: number } | undefined;
  const argv = [...(options.argv ?? process.argv.slice(2))];
  const hint = typeof options.interruptedHint === 'function' ? options.interruptedHint(argv) : options.interruptedHint;

  const outcome = Promise.resolve()
    .then(() => main([...argv], context))
    .then(
      (code) => ({ code: code ?? EXIT_SUCCESS }),
      (error: unknown) => ({ error }),
    );

  const onSignal = (signal: StopSignal): void => {
    if (received) {
      if (Date.now() - received.at < REPEAT_WINDOW_MS) return;
      process.stderr.write(`${signal} again: exiting at once\n`);
      process.exit(signalExitCode(received.signal));
    }
    received = { signal, at: Date.now() };
    controller.abort(new Interrupted(signal));
    void (async () => {
      const settled = options.graceMs
        ? await Promise.race([outcome, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), options.graceMs).unref())])
        : undefined;
      await runHooks(hooks);
      if (settled && 'code' in settled) process.exit(settled.code);
      process.stderr.write(`interrupted by ${signal}${hint ? `: ${hint}` : ''}\n`);
      process.exit(signalExitCode(signal));
    })();
  };
  const signals = Object.keys(SIGNAL_NUMBERS) as StopSignal[];
  for (const signal of signals) process.on(signal, onSignal);

  void outcome.then((result) => {
    // After a signal the handler decides; failures caused by the shutdown are not news.
    if (received) return;
    for (const signal of signals) process.removeListener(signal, onSignal);
    if ('error' in result) {
      printFailure(result.error);
      process.exitCode = exitCodeFor(result.error);
    } else {
      process.exitCode = result.code;
    }
  });
}

/** The exit code for a command that failed with `error`: 2 for usage and configuration errors, else 1. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT_USAGE;
  if (error instanceof MigrationError && (error.code === 'MIGRATION_OPTIONS' || error.code === 'MIGRATION_NOT_FOUND')) return EXIT_USAGE;
  return EXIT_FAILURE;
}

/** Prints a failure: our typed errors as `error: <message>` (and a usage error's usage), anything else with its stack. */
export function printFailure(error: unknown): void {
  if (error instanceof UsageError) console.error(`error: ${error.message}${error.usage ? `\n\n${error.usage.trimEnd()}` : ''}`);
  else if (error instanceof DataLayerError) console.error(`error: ${error.message}`);
  else console.error(error);
}

async function runHooks(hooks: readonly Hook[]): Promise<void> {
  const all = (async () => {
    for (const hook of [...hooks].reverse()) {
      try {
        await hook();
      } catch (error) {
        console.error(`error while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  })();
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, HOOKS_DEADLINE_MS).unref())]);
}
