/**
 * Runs a CLI entry point: loads `.env`, maps the result to an exit code, and prints expected
 * failures (our typed errors) as one clear message rather than a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DataLayerError } from '../../src/errors.js';
import { loadDotenv } from './env.js';

export function runMain(main: (argv: string[]) => Promise<number | void>): void {
  loadDotenv();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: unknown) => {
      if (error instanceof DataLayerError) console.error(`error: ${error.message}`);
      else console.error(error);
      process.exitCode = 1;
    },
  );
}

/**
 * Parses a command line with node:util's parseArgs, adding `--help`/`-h`: returns 0 after printing
 * the usage for help, 2 after printing the error and the usage for a usage error, else the result.
 */
export function parseCommandLine<T extends ParseArgsConfig>(
  config: T,
  usage: string,
): ReturnType<typeof parseArgs<T & typeof HELP>> | number {
  let parsed: ReturnType<typeof parseArgs<T & typeof HELP>>;
  try {
    parsed = parseArgs({ ...config, options: { ...config.options, ...HELP.options } });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    return 0;
  }
  return parsed;
}

const HELP = { options: { help: { type: 'boolean', short: 'h' } } } as const;
