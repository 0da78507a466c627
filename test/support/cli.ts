/**
 * Runs a CLI entry point (`scripts/*.ts`) the way npm does, through tsx, in a clean environment:
 * no DATABASE_URL, PG*, TEST_DATABASE_URL or EMBEDDED_* unless the test passes them, and a working
 * directory without a .env file unless told otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
const tsx = resolve(repoRoot, 'node_modules', '.bin', 'tsx');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment a CLI child starts from: ours minus every database setting. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PG|DATABASE_|TEST_DATABASE_|EMBEDDED_POSTGRES_|MIGRATION_)/.test(key)) continue;
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
  const child = spawn(tsx, [resolve(repoRoot, 'scripts', script), ...args], {
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
