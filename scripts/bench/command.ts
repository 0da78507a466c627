/**
 * What every benchmark command does around its measurements: a server for the run (stopped on
 * shutdown too), the report printed, and written as JSON to `--json` or `.bench/<name>-<date>.json`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandContext } from '../lib/main.js';
import type { PostgresServer } from '../lib/postgres-server.js';
import { acquireServer } from '../lib/server.js';

/** The repository's root (where `.bench/` lives). */
export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Runs `bench` on a server acquired for it, prints `format(report)`, writes the JSON; exit code 0. */
export async function runOnBenchServer<R extends { date: string }>(
  name: string,
  json: string | undefined,
  context: CommandContext,
  bench: (server: PostgresServer) => Promise<R>,
  format: (report: R) => string,
): Promise<number> {
  const server = await acquireServer({ purpose: 'bench' });
  context.onShutdown(() => server.stop());
  try {
    console.log(`Server: ${server.description}`);
    const report = await bench(server);
    console.log(`\n${format(report)}`);
    const file = json ?? path.join(ROOT, '.bench', `${name}-${report.date.replace(/[:.]/g, '-')}.json`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nJSON: ${path.relative(process.cwd(), file) || file}`);
    return 0;
  } finally {
    await server.stop();
  }
}
