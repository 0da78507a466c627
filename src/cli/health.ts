/**
 * `ai-data-layer health`: connects with the configured connection, prints `database.health()`'s
 * report and exits 0 when the database is ready (answering, migrations in step), 1 otherwise. For
 * a deploy step or a probe that has a shell but no HTTP endpoint of its own.
 */
import { resolve } from 'node:path';
import type { Env } from '../config.js';
import type { HealthReport } from '../db/health.js';
import { silentLogger } from '../logger.js';
import { parseCommandLine, wholeNumber } from './args.js';
import { loadCommandConfig } from './config.js';
import { BIN_NAME } from './npm.js';

export const HEALTH_OPTIONS = {
  json: { type: 'boolean' },
  timeout: { type: 'string', value: '<ms>' },
  dir: { type: 'string', value: '<path>' },
} as const;

/** The help text of `ai-data-layer health` (docs/cli.md holds it verbatim). */
export const HEALTH_HELP = `Usage: ${BIN_NAME} health [options]

Connects with DATABASE_URL (or the PG* variables), from the environment only, and reports
whether the server answers, how fast, its version, and whether the schema matches this
package's migrations (pending, changed or missing ones). The ledger is read through
DATABASE_MIGRATION_URL when the application role may not read it.

Options:
  --json            Print the report as JSON (the HealthReport of database.health())
  --timeout <ms>    Report "down" when the server does not answer within this (default 2000)
  --dir <path>      Migrations folder to compare with (default: this package's migrations/)
  -h, --help        Show this help

Exit codes: 0 ready (ok; or degraded only because the migration state could not be
read); 1 not ready (down, or migrations pending, changed or missing); 2 usage error (an
unknown flag, a missing or invalid configuration variable); 130 or 143 interrupted.
`;

/** Runs `ai-data-layer health <argv...>` and returns the exit code. */
export async function healthCommand(argv: readonly string[], env: Env = process.env, prefix: readonly string[] = []): Promise<number> {
  const { values, help } = parseCommandLine(argv, { options: HEALTH_OPTIONS, usage: HEALTH_HELP, env, prefix });
  if (help) {
    process.stdout.write(HEALTH_HELP);
    return 0;
  }
  const timeoutMs = values.timeout === undefined ? undefined : wholeNumber('--timeout', values.timeout, 1, HEALTH_HELP);
  const config = loadCommandConfig(env);
  const { createDatabase } = await import('../db/database.js');
  const database = createDatabase({ config, pool: { max: 1 }, logger: silentLogger });
  try {
    const report = await database.health({
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(values.dir !== undefined ? { migrationsDir: resolve(values.dir) } : {}),
    });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatHealth(report));
    return report.ready ? 0 : 1;
  } finally {
    await database.close({ timeoutMs: 2_000 });
  }
}

/** The report as a few aligned lines for a terminal. */
export function formatHealth(report: HealthReport): string {
  const m = report.migrations;
  const lines: [string, string][] = [
    ['status', `${report.status}${report.ready ? ' (ready)' : ' (not ready)'}`],
    ['server', report.serverVersion === null ? '-' : `PostgreSQL ${report.serverVersion}, answered in ${report.latencyMs} ms`],
    [
      'migrations',
      m.error && m.applied + m.pending + m.changed + m.missing === 0
        ? m.error
        : `${m.applied} applied, ${m.pending} pending, ${m.changed} changed, ${m.missing} missing${m.latest ? `; latest ${m.latest}` : ''}`,
    ],
    ...(report.error ? ([['error', report.error]] as [string, string][]) : []),
    ['checked at', report.checkedAt],
  ];
  return lines.map(([label, text]) => `${label.padEnd(10)}  ${text}`).join('\n');
}
