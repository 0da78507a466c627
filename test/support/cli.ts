/**
 * Runs a CLI entry point (`scripts/*.ts`) the way the npm scripts do (`node --import tsx`, one
 * process), in a clean environment: no DATABASE_URL, PG*, TEST_DATABASE_URL, EMBEDDED_* or npm_*
 * unless the test passes them, and a working directory without a .env file unless told otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
/** tsx's loader, by URL: `--import tsx` would resolve against the child's working directory. */
export const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a CLI child starts from: ours minus every database setting, and minus npm's
 * variables (`npm test` sets npm_lifecycle_event and npm_config_*, which the CLI reads as npm
 * running it).
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PG|DATABASE_|TEST_DATABASE_|EMBEDDED_POSTGRES_|MIGRATION_|npm_)/i.test(key)) continue;
    env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

/** Starts `scripts/<script>` and returns the child plus a promise of its result. */
export function startCli(
  script: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): { child: ChildProcess; result: Promise<CliResult>; output: () => string } {
  const child = spawn(process.execPath, ['--import', tsxLoader, resolve(repoRoot, 'scripts', script), ...args], {
    cwd: options.cwd ?? tmpdir(),
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const result = new Promise<CliResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
  return { child, result, output: () => stdout };
}

/** Runs `scripts/<script>` to completion. */
export function runCli(
  script: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<CliResult> {
  return startCli(script, args, options).result;
}

/** Resolves once `predicate(stdout)` holds; rejects when the child exits first or after `timeoutMs`. */
export async function waitForOutput(
  started: ReturnType<typeof startCli>,
  predicate: (stdout: string) => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void started.result.then(
    () => (exited = true),
    () => (exited = true),
  );
  while (!predicate(started.output())) {
    if (exited) throw new Error(`the command exited before the expected output:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for output:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
