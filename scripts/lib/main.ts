/**
 * Runs a CLI entry point: loads `.env`, maps the result to an exit code, and prints expected
 * failures (our typed errors) as one clear message rather than a stack trace.
 */
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
