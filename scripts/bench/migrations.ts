/**
 * `npm run bench -- migrations`: what the lint's advice is worth, measured. A table is loaded with
 * enough rows that a blocking statement takes seconds; then each migration of two pairs (an index,
 * a CHECK constraint), written the dangerous way and the way the lint suggests, is applied through
 * the project's own migrator (createMigrator) while a writer runs small INSERTs and UPDATEs on the
 * table and times each one. The longest write stall of each form is printed side by side.
 *
 * Every case is one pending file in a migrations folder of its own (the table's file plus the
 * case's), applied with `up` and reverted with `down`, so each case starts from the same table.
 * The dangerous files accept their lint finding in the file, as a team would have to: `up` lints
 * first and refuses them otherwise. docs/benchmarks.md describes the run and its figures.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { ConnectionSettings } from '../../src/connection.js';
import { createMigrator, type LintFinding } from '../../src/migrate/index.js';
import { parseCommandLine, printUsage, UsageError, type CommandContext } from '../lib/main.js';
import type { PostgresServer } from '../lib/postgres-server.js';
import { dropDatabaseNamed, pgConfig, withThrowawayDatabase } from '../lib/server.js';
import { ROOT, runOnBenchServer } from './command.js';
import { figure, formatTable, gitState, loadAverage, machineInfo, quantile, round, type MachineInfo } from './stats.js';

export const MIGRATIONS_HELP = `Usage: npm run bench -- migrations [options]

Loads a table (bench_orders) with --rows rows in a throwaway database, then applies four
migrations through the project's migrator, one at a time, each reverted before the next: a plain
CREATE INDEX and a CREATE INDEX CONCURRENTLY (transaction:false), an ADD CONSTRAINT ... CHECK and
the same constraint added NOT VALID then validated. A writer runs small INSERTs and UPDATEs on
the table throughout and times each one; the longest write stall of each form is printed side by
side (the safe form should stall writes for a small fraction of the dangerous one's time), and
everything is written as JSON.

Options:
  --rows <n>           Rows in the table (default 2,000,000: a few seconds per blocking statement)
  --interval <ms>      Pause between the writer's statements (default 10)
  --json <path>        Where to write the JSON report (default .bench/migrations-<timestamp>.json)
  --no-progress        No progress lines on stderr
  -h, --help           Show this help

Server: TEST_DATABASE_URL when set, else Testcontainers or an embedded PostgreSQL; the database is
a throwaway dl_bench_* (dropped afterwards).
Example: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench -- migrations --rows 500000
Exit codes: 0 done, 1 failure, 2 usage error, 130 or 143 interrupted by SIGINT or SIGTERM.
`;

/** The settings of one run. */
export interface MigrationsSettings {
  rows: number;
  intervalMs: number;
  json?: string | undefined;
  progress: boolean;
}

/** Reads the command line of the migrations case (everything after `migrations`). */
export function parseMigrationsArgs(argv: readonly string[], prefix: readonly string[] = ['migrations']): MigrationsSettings | 'help' {
  const { values, help } = parseCommandLine(argv, {
    options: {
      rows: { type: 'string', value: '<n>' },
      interval: { type: 'string', value: '<ms>' },
      json: { type: 'string', value: '<path>' },
      'no-progress': { type: 'boolean' },
    },
    prefix,
    usage: MIGRATIONS_HELP,
  });
  if (help) return 'help';
  const whole = (flag: string, text: string | undefined, fallback: number, min: number, max: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text.replaceAll('_', ''));
    if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(
        `--${flag} must be a whole number from ${min} to ${max.toLocaleString('en-US')} (got "${text}")`,
        MIGRATIONS_HELP,
      );
    }
    return n;
  };
  return {
    rows: whole('rows', values.rows, 2_000_000, 100, 100_000_000),
    intervalMs: whole('interval', values.interval, 10, 0, 1000),
    json: values.json,
    progress: !values['no-progress'],
  };
}

/** `npm run bench -- migrations [options]`: argv is what follows `migrations`. */
export async function runMigrationsCommand(argv: readonly string[], context: CommandContext, prefix?: readonly string[]): Promise<number> {
  const settings = parseMigrationsArgs(argv, prefix);
  if (settings === 'help') return printUsage(MIGRATIONS_HELP);
  return runOnBenchServer(
    'migrations',
    settings.json,
    context,
    (server) => benchMigrations(server, settings, context),
    formatMigrationsReport,
  );
}

export const TABLE = 'bench_orders';

/** The table's migration, applied first in every case's folder. */
const TABLE_FILE = '20260101000000_bench_orders.sql';
const TABLE_SQL = `-- migrate:up
CREATE TABLE ${TABLE} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL,
  amount_cents bigint NOT NULL,
  reference text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE ${TABLE};
`;

export type Pair = 'index' | 'check';
export type Form = 'dangerous' | 'safe';

/** One migration of the benchmark. */
export interface MigrationCase {
  pair: Pair;
  form: Form;
  /** What the table prints. */
  label: string;
  fileName: string;
  /** The whole file. */
  sql: string;
  /** The lint rules the file accepts (the dangerous form) or none (the safe form must lint clean). */
  accepts: string[];
}

const BECAUSE = 'the benchmark applies the dangerous form on purpose, to measure it';

/** The four migrations: each pair's dangerous form, then the form the lint suggests for it. */
export const CASES: readonly MigrationCase[] = [
  {
    pair: 'index',
    form: 'dangerous',
    label: 'CREATE INDEX',
    fileName: '20260101000100_index_dangerous.sql',
    accepts: ['require-concurrent-index-creation'],
    sql: `-- migrate:lint-ignore require-concurrent-index-creation ${BECAUSE}
-- migrate:up
CREATE INDEX ${TABLE}_reference_idx ON ${TABLE} (reference);

-- migrate:down
DROP INDEX ${TABLE}_reference_idx;
`,
  },
  {
    pair: 'index',
    form: 'safe',
    label: 'CREATE INDEX CONCURRENTLY (transaction:false)',
    fileName: '20260101000200_index_safe.sql',
    accepts: [],
    sql: `-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS ${TABLE}_reference_idx ON ${TABLE} (reference);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ${TABLE}_reference_idx;
`,
  },
  {
    pair: 'check',
    form: 'dangerous',
    label: 'ADD CONSTRAINT ... CHECK',
    fileName: '20260101000300_check_dangerous.sql',
    accepts: ['constraint-missing-not-valid'],
    sql: `-- migrate:lint-ignore constraint-missing-not-valid ${BECAUSE}
-- migrate:up
ALTER TABLE ${TABLE} ADD CONSTRAINT ${TABLE}_reference_format CHECK (reference ~ '^[0-9a-f]{32}$');

-- migrate:down
ALTER TABLE ${TABLE} DROP CONSTRAINT ${TABLE}_reference_format;
`,
  },
  {
    pair: 'check',
    form: 'safe',
    label: 'ADD CONSTRAINT ... NOT VALID; VALIDATE CONSTRAINT (transaction:false)',
    fileName: '20260101000400_check_safe.sql',
    accepts: [],
    // transaction:false: each statement commits on its own, so VALIDATE does not keep ADD's lock.
    sql: `-- migrate:up transaction:false
ALTER TABLE ${TABLE} ADD CONSTRAINT ${TABLE}_reference_format CHECK (reference ~ '^[0-9a-f]{32}$') NOT VALID;
ALTER TABLE ${TABLE} VALIDATE CONSTRAINT ${TABLE}_reference_format;

-- migrate:down
ALTER TABLE ${TABLE} DROP CONSTRAINT IF EXISTS ${TABLE}_reference_format;
`,
  },
];

/** One case's figures. */
export interface CaseResult {
  pair: Pair;
  form: Form;
  label: string;
  file: string;
  /** The lint's findings on the file against the loaded table (`migrator.lint()` before `up`). */
  lint: { rule: string; severity: LintFinding['severity']; accepted: boolean }[];
  /** The migrator's own figure for the file, and the wall time of `up`. */
  migrationMs: number;
  upMs: number;
  /** The writer's statements from its start to its end (it runs before, during and after `up`). */
  writes: number;
  /** Those that started while `up` ran. */
  writesDuringMigration: number;
  /** The longest single write: how long the table stopped taking writes, as a client sees it. */
  longestStallMs: number;
  p50Ms: number;
  p99Ms: number;
}

export interface MigrationsReport {
  benchmark: 'migrations';
  date: string;
  git?: { commit: string; dirty: boolean } | undefined;
  machine: MachineInfo & { loadAverage: { before: number[]; after: number[] } };
  server: string;
  settings: { rows: number; intervalMs: number; marginMs: number };
  table: { name: string; rows: number; bytes: number; loadSeconds: number };
  cases: CaseResult[];
  /** Per pair: the longest stalls side by side, and the safe one over the dangerous one. */
  pairs: { pair: Pair; dangerousMs: number; safeMs: number; ratio: number }[];
}

/** What a caller other than the command line may change (the smoke test does). */
export interface MigrationsBenchOptions {
  /** The throwaway database's name prefix (default `dl_bench`). */
  databasePrefix?: string;
  /** How long the writer runs alone before and after each migration (default 500 ms). */
  marginMs?: number;
}

/** Runs the benchmark on a throwaway database of `server`. */
export async function benchMigrations(
  server: PostgresServer,
  settings: MigrationsSettings,
  context?: CommandContext,
  options: MigrationsBenchOptions = {},
): Promise<MigrationsReport> {
  const marginMs = options.marginMs ?? 500;
  const loadBefore = loadAverage();
  const date = new Date().toISOString();
  const git = await gitState(ROOT);
  const log = (line: string) => {
    if (settings.progress) process.stderr.write(`${line}\n`);
  };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dl-bench-migrations-'));
  const removeDirHook = context?.onShutdown(() => rm(dir, { recursive: true, force: true }));
  try {
    return await withThrowawayDatabase(server, options.databasePrefix ?? 'dl_bench', async (connection) => {
      const removeHook = context?.onShutdown(() => dropDatabaseNamed(server.admin, connection.database));
      try {
        const tableDir = await caseDir(dir, 'table', []);
        await createMigrator({ connection, migrationsDir: tableDir }).up();
        log(`Loading ${settings.rows.toLocaleString('en-US')} rows into ${TABLE} ...`);
        const table = await loadTable(connection, settings.rows);
        log(`Loaded in ${table.loadSeconds.toFixed(1)} s (${(table.bytes / 2 ** 20).toFixed(0)} MiB)`);

        const cases: CaseResult[] = [];
        for (const migration of CASES) {
          log(`${migration.pair}, ${migration.form}: ${migration.label} ...`);
          const result = await runCase(connection, await caseDir(dir, migration.fileName, [migration]), migration, settings, marginMs);
          log(`  up ${(result.upMs / 1000).toFixed(2)} s, longest write stall ${figure(result.longestStallMs)} ms`);
          cases.push(result);
        }
        const postgres = await serverVersion(connection);
        return {
          benchmark: 'migrations' as const,
          date,
          git,
          machine: { ...machineInfo(postgres), loadAverage: { before: loadBefore, after: loadAverage() } },
          server: server.description,
          settings: { rows: settings.rows, intervalMs: settings.intervalMs, marginMs },
          table: { name: TABLE, ...table },
          cases,
          pairs: pairsOf(cases),
        };
      } finally {
        removeHook?.();
      }
    });
  } finally {
    removeDirHook?.();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A migrations folder holding the table's file and `cases`' files. */
async function caseDir(root: string, name: string, cases: readonly MigrationCase[]): Promise<string> {
  const dir = path.join(root, name.replace(/\.sql$/, ''));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, TABLE_FILE), TABLE_SQL);
  for (const c of cases) await writeFile(path.join(dir, c.fileName), c.sql);
  return dir;
}

/** Fills the table with `rows` deterministic rows (ids 1..rows), then VACUUM ANALYZE so the lint sees its size. */
async function loadTable(connection: ConnectionSettings, rows: number): Promise<{ rows: number; bytes: number; loadSeconds: number }> {
  const client = new pg.Client({ ...pgConfig(connection), application_name: 'dl-bench-load' });
  await client.connect();
  try {
    const started = performance.now();
    const batch = 500_000;
    for (let from = 1; from <= rows; from += batch) {
      await client.query(
        `INSERT INTO ${TABLE} (customer_id, amount_cents, reference, created_at)
         SELECT (g * 7919) % 50000, (g * 31) % 100000, md5(g::text), now() - (g % 100000) * interval '1 minute'
           FROM generate_series($1::bigint, $2::bigint) AS g`,
        [from, Math.min(rows, from + batch - 1)],
      );
    }
    await client.query(`VACUUM ANALYZE ${TABLE}`);
    const loadSeconds = (performance.now() - started) / 1000;
    const { rows: size } = await client.query<{ bytes: string }>(`SELECT pg_total_relation_size($1::regclass) AS bytes`, [TABLE]);
    return { rows, bytes: Number(size[0]!.bytes), loadSeconds: round(loadSeconds, 2) };
  } finally {
    await client.end();
  }
}

async function runCase(
  connection: ConnectionSettings,
  migrationsDir: string,
  migration: MigrationCase,
  settings: MigrationsSettings,
  marginMs: number,
): Promise<CaseResult> {
  const migrator = createMigrator({ connection, migrationsDir });
  const report = await migrator.lint();
  const lint = report.findings
    .filter((f) => f.file === migration.fileName)
    .map((f) => ({ rule: f.rule, severity: f.severity, accepted: f.ignored !== undefined }));
  const writer = await startWriter(connection, settings.rows, settings.intervalMs);
  let upStart = 0;
  let upEnd = 0;
  let migrationMs = 0;
  try {
    await sleep(marginMs);
    upStart = performance.now();
    const [applied] = await migrator.up();
    upEnd = performance.now();
    if (applied?.name !== migration.fileName.replace(/\.sql$/, '')) throw new Error(`${migration.fileName} was not applied`);
    migrationMs = applied.durationMs;
    await sleep(marginMs);
  } finally {
    await writer.stop();
  }
  await migrator.down();
  const latencies = writer.writes.map((w) => w.ms);
  return {
    pair: migration.pair,
    form: migration.form,
    label: migration.label,
    file: migration.fileName,
    lint,
    migrationMs: round(migrationMs, 1),
    upMs: round(upEnd - upStart, 1),
    writes: writer.writes.length,
    writesDuringMigration: writer.writes.filter((w) => w.start >= upStart && w.start <= upEnd).length,
    longestStallMs: round(Math.max(...latencies), 2),
    p50Ms: round(quantile(latencies, 0.5)!, 2),
    p99Ms: round(quantile(latencies, 0.99)!, 2),
  };
}

interface Writer {
  writes: { start: number; ms: number }[];
  stop(): Promise<void>;
}

/**
 * A loop of small writes on its own connection, alternating a one-row INSERT and a one-row UPDATE
 * by primary key, each timed from the call to its answer. A failed write ends the run: the
 * benchmark measures waits, and a write that failed did not wait to the end.
 */
async function startWriter(connection: ConnectionSettings, rows: number, intervalMs: number): Promise<Writer> {
  const client = new pg.Client({ ...pgConfig(connection), application_name: 'dl-bench-writer' });
  await client.connect();
  const writes: Writer['writes'] = [];
  let stopping = false;
  let n = 0;
  const loop = (async () => {
    while (!stopping) {
      n++;
      const start = performance.now();
      if (n % 2 === 1) {
        await client.query(`INSERT INTO ${TABLE} (customer_id, amount_cents, reference) VALUES ($1, $2, md5($3))`, [n % 50000, n, `w${n}`]);
      } else {
        await client.query(`UPDATE ${TABLE} SET amount_cents = amount_cents + 1 WHERE id = $1`, [1 + ((n * 7919) % rows)]);
      }
      writes.push({ start, ms: performance.now() - start });
      if (intervalMs > 0) await sleep(intervalMs);
    }
  })();
  loop.catch(() => undefined); // observed by stop()
  return {
    writes,
    async stop() {
      stopping = true;
      try {
        await loop;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

function pairsOf(cases: readonly CaseResult[]): MigrationsReport['pairs'] {
  const pairs: MigrationsReport['pairs'] = [];
  for (const pair of ['index', 'check'] as const) {
    const dangerous = cases.find((c) => c.pair === pair && c.form === 'dangerous');
    const safe = cases.find((c) => c.pair === pair && c.form === 'safe');
    if (!dangerous || !safe) continue;
    pairs.push({
      pair,
      dangerousMs: dangerous.longestStallMs,
      safeMs: safe.longestStallMs,
      ratio: round(safe.longestStallMs / dangerous.longestStallMs, 4),
    });
  }
  return pairs;
}

/** The safe form's longest stall must be at most this share of the dangerous one's. */
export const STALL_TARGET = 0.1;

/** The printed report. */
export function formatMigrationsReport(report: MigrationsReport): string {
  const rows = report.cases.map((c) => [
    `${c.pair}, ${c.form}`,
    (c.upMs / 1000).toFixed(2),
    String(c.writesDuringMigration),
    figure(c.longestStallMs),
    figure(c.p50Ms),
    figure(c.p99Ms),
  ]);
  const statements = report.cases.map(
    (c) =>
      `  ${`${c.pair}, ${c.form}:`.padEnd(18)} ${c.label}; lint: ` +
      (c.lint.length === 0
        ? 'clean'
        : c.lint.map((f) => `${f.rule} (${f.severity}${f.accepted ? ', accepted in the file' : ''})`).join(', ')),
  );
  const lines = [
    `Table ${report.table.name}: ${report.table.rows.toLocaleString('en-US')} rows, ${(report.table.bytes / 2 ** 20).toFixed(0)} MiB ` +
      `(loaded in ${report.table.loadSeconds.toFixed(1)} s); writer: one INSERT or UPDATE every ${report.settings.intervalMs} ms plus its own time`,
    '',
    formatTable(['case', 'up s', 'writes during up', 'longest stall ms', 'write p50 ms', 'write p99 ms'], rows),
    ...statements,
    '',
    'Longest write stall, side by side:',
    formatTable(
      ['pair', 'dangerous ms', 'safe ms', 'safe / dangerous'],
      report.pairs.map((p) => [
        p.pair,
        figure(p.dangerousMs),
        figure(p.safeMs),
        `${(p.ratio * 100).toFixed(1)}%${p.ratio <= STALL_TARGET ? '' : `: ABOVE THE TARGET (<= ${STALL_TARGET * 100}%)`}`,
      ]),
    ),
    '',
    `Machine: ${report.machine.cpus.count} CPUs, PostgreSQL ${report.machine.postgres}, load average ${report.machine.loadAverage.before.join(' ')} before, ` +
      `${report.machine.loadAverage.after.join(' ')} after`,
  ];
  return lines.join('\n');
}

async function serverVersion(connection: ConnectionSettings): Promise<string> {
  const client = new pg.Client({ ...pgConfig(connection), application_name: 'dl-bench' });
  await client.connect();
  try {
    return (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
  } finally {
    await client.end();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
