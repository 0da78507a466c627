/**
 * `npm run bench -- queries`: the same operations through raw node-postgres (named and unnamed
 * statements), plain Kysely, Drizzle (plain and prepared), Prisma 7, this project's repositories
 * and pgbench, side by side in one process, on one database with the load set loaded, every
 * contender with the same pool settings and the same number of concurrent callers.
 *
 * Contenders are interleaved: each round runs every operation for every contender, one window
 * each, in an order rotated by one per round, so drift of the machine (neighbours, autovacuum,
 * growing tables) falls on everyone alike. The figures are medians over rounds of per-round
 * figures; a ratio is the median of the per-round ratios to raw pg with named statements.
 * docs/benchmarks.md describes the operations, the contenders' configuration and how to read it.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { createProgress, silentProgress } from '../../seeds/progress.js';
import { resolveConfig, type Config } from '../../src/config.js';
import { toConnectionUrl, type ConnectionSettings } from '../../src/connection.js';
import { createPool } from '../../src/db/pool.js';
import { silentLogger } from '../../src/logger.js';
import { createMigrator } from '../../src/migrate/index.js';
import { loadCounts } from '../../seeds/load/generate.js';
import { parseCommandLine, printUsage, UsageError, type CommandContext } from '../lib/main.js';
import type { PostgresServer } from '../lib/postgres-server.js';
import { adminQuery, dropDatabaseNamed, pgConfig, quoteIdent, withThrowawayDatabase } from '../lib/server.js';
import { BASELINE, CONTENDERS, CONTENDER_NAMES, PGBENCH } from './contenders/index.js';
import { findPgbench, pgbench } from './contenders/pgbench.js';
import type { Contender, ContenderContext, ContenderSpec, ExternalContender } from './contenders/types.js';
import { prepareFixtures, queueEvaluations, runningAgentRuns, type Fixtures } from './fixtures.js';
import { emptyPools, fillPools, instrumentPool, newInstrumented, runWindow, type Instrumented, type WindowFigures } from './harness.js';
import { OPERATIONS, OPERATION_NAMES, type Operation, type OperationName } from './operations.js';
import { ROOT, runOnBenchServer } from './command.js';
import { figure, formatTable, gitState, isLocalPostgres, loadAverage, machineInfo, median, round, spread, type Spread } from './stats.js';

export const QUERIES_HELP = `Usage: npm run bench -- queries [options]

Runs the same operations through raw node-postgres (named and unnamed statements), plain Kysely,
Drizzle (plain and .prepare()), Prisma 7 with @prisma/adapter-pg (when its client generates here),
this project's repositories and pgbench, side by side in one process on one database with the load
set loaded: the same pool settings and concurrent callers for all, contenders interleaved in rounds.
Prints per operation the median throughput, its spread, the ratio to raw pg with named statements,
and the Node and server CPU per call; writes everything as JSON.

Options:
  --scale <n>          Load set scale (default 1: 10,000 ideas, 20,000 evaluations, 160,000 agent results)
  --rounds <n>         Rounds, each running every contender once per operation (default 7; 3 or more
                       for figures worth comparing)
  --duration <s>       Seconds per contender, operation and round (default 2; fractions allowed)
  --calls <n>          A fixed number of calls per window instead of a duration
  --warmup <s>         Seconds of unmeasured calls before each contender's first window of an
                       operation (default: the duration, at most 1)
  --concurrency <n>    Concurrent callers (default 20; workflow-50, -200, -500 and workflow-batched-200
                       always have 50, 200, 500 and 200, enqueue-to-start 1)
  --pool <n>           Connections per contender's pool (default 20)
  --only <ops>         Operations, comma-separated (default all):
                       ${OPERATION_NAMES.join(', ')}
  --contenders <list>  Contenders, comma-separated (default all but repo-unprepared):
                       ${CONTENDER_NAMES.join(', ')}
  --json <path>        Where to write the JSON report (default .bench/queries-<timestamp>.json)
  --pgbench <path>     The pgbench binary (default: PATH, then /usr/lib/postgresql/*/bin)
  --no-progress        No progress lines on stderr
  -h, --help           Show this help

Server: TEST_DATABASE_URL when set, else Testcontainers or an embedded PostgreSQL; the database is
a throwaway dl_bench_* (dropped afterwards). Figures on a shared machine drift by 20% or more:
compare ratios within one run, and read the CPU columns.
Example: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench -- queries --rounds 3
Exit codes: 0 done, 1 failure, 2 usage error, 130 or 143 interrupted by SIGINT or SIGTERM.
`;

const DEFAULT_CONTENDERS = CONTENDER_NAMES.filter((name) => name !== 'repo-unprepared');

/** The settings of one run. */
export interface QueriesSettings {
  scale: number;
  rounds: number;
  duration: number;
  calls?: number | undefined;
  warmup: number;
  concurrency: number;
  pool: number;
  operations: OperationName[];
  contenders: string[];
  json?: string | undefined;
  pgbench?: string | undefined;
  progress: boolean;
}

/** Reads the command line of the queries case (everything after `queries`). */
export function parseQueriesArgs(argv: readonly string[], prefix: readonly string[] = ['queries']): QueriesSettings | 'help' {
  const { values, help } = parseCommandLine(argv, {
    options: {
      scale: { type: 'string', value: '<n>' },
      rounds: { type: 'string', value: '<n>' },
      duration: { type: 'string', value: '<seconds>' },
      calls: { type: 'string', value: '<n>' },
      warmup: { type: 'string', value: '<seconds>' },
      concurrency: { type: 'string', value: '<n>' },
      pool: { type: 'string', value: '<n>' },
      only: { type: 'string', value: '<operations>' },
      contenders: { type: 'string', value: '<list>' },
      json: { type: 'string', value: '<path>' },
      pgbench: { type: 'string', value: '<path>' },
      'no-progress': { type: 'boolean' },
    },
    prefix,
    usage: QUERIES_HELP,
  });
  if (help) return 'help';
  const num = (flag: string, text: string | undefined, fallback: number, min: number, max: number, integer: boolean): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new UsageError(
        `--${flag} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (got "${text}")`,
        QUERIES_HELP,
      );
    }
    return n;
  };
  const list = <T extends string>(flag: string, text: string | undefined, allowed: readonly T[], fallback: readonly T[]): T[] => {
    if (text === undefined) return [...fallback];
    const names = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = names.filter((name) => !allowed.includes(name as T));
    if (names.length === 0 || unknown.length > 0) {
      throw new UsageError(`--${flag}: unknown ${unknown.join(', ') || '(empty list)'}; accepted: ${allowed.join(', ')}`, QUERIES_HELP);
    }
    // Table order, not the order given.
    return allowed.filter((name) => names.includes(name));
  };
  const scale = num('scale', values.scale, 1, 0.005, 100, false);
  try {
    loadCounts(scale);
  } catch (error) {
    throw new UsageError(`--scale: ${(error as Error).message}`, QUERIES_HELP);
  }
  const duration = num('duration', values.duration, 2, 0.05, 600, false);
  return {
    scale,
    rounds: num('rounds', values.rounds, 7, 1, 50, true),
    duration,
    calls: values.calls === undefined ? undefined : num('calls', values.calls, 0, 1, 10_000_000, true),
    warmup: num('warmup', values.warmup, Math.min(1, duration), 0, 600, false),
    concurrency: num('concurrency', values.concurrency, 20, 1, 1000, true),
    pool: num('pool', values.pool, 20, 1, 500, true),
    operations: list('only', values.only, OPERATION_NAMES, OPERATION_NAMES),
    contenders: list('contenders', values.contenders, CONTENDER_NAMES, DEFAULT_CONTENDERS),
    json: values.json,
    pgbench: values.pgbench,
    progress: !values['no-progress'],
  };
}

/** `npm run bench -- queries [options]`: argv is what follows `queries`. */
export async function runQueriesCommand(argv: readonly string[], context: CommandContext, prefix?: readonly string[]): Promise<number> {
  const settings = parseQueriesArgs(argv, prefix);
  if (settings === 'help') return printUsage(QUERIES_HELP);
  if (settings.rounds < 3) console.warn(`note: ${settings.rounds} round(s): fewer than 3 give no median worth comparing (a smoke run)`);
  return runOnBenchServer('queries', settings.json, context, (server) => benchQueries(server, settings, context), formatReport);
}

/** One (operation, contender) of the report. */
export interface ResultEntry {
  operation: OperationName;
  contender: string;
  rounds: (WindowFigures & { round: number; ratio?: number })[];
  median: {
    perSecond?: number;
    ratio?: number;
    nodeCpuUs?: number;
    serverCpuUs?: number;
    statementsPerCall?: number;
    claimP50Ms?: number;
    claimP99Ms?: number;
    steadyClaimP50Ms?: number;
    steadyClaimP99Ms?: number;
  };
  spread: { perSecond?: Spread; ratio?: Spread };
}

export interface QueriesReport {
  benchmark: 'queries';
  date: string;
  git?: { commit: string; dirty: boolean } | undefined;
  machine: ReturnType<typeof machineInfo> & { loadAverage: { before: number[]; after: number[] } };
  server: string;
  settings: Omit<QueriesSettings, 'progress' | 'json'> & {
    baseline: string;
    poolSettings: Config['pool'];
    serverCpuMeasured: boolean;
    openTelemetryApiLoaded: boolean;
    loadSet: Record<string, number>;
    loadSeconds: number;
  };
  contenders: { name: string; label: string; settings?: string; skipped?: string }[];
  operations: { name: OperationName; label: string; unit: string; concurrency: number }[];
  results: ResultEntry[];
  keyset?: { contender: string; throughputRatio?: number; serverCpuRatio?: number }[];
  /** Issue 11's targets for this project's repositories (`repo`), as far as this run measured them. */
  targets: Target[];
  loadAveragePerRound: number[][];
}

type Running = { name: string; label: string; instrumented: Instrumented } & (
  { kind: 'driver'; contender: Contender } | { kind: 'external'; contender: ExternalContender }
);

/** What a caller other than the command line may change (the smoke test does). */
export interface BenchOptions {
  /** The throwaway database's name prefix (default `dl_bench`). */
  databasePrefix?: string;
  /** The contenders `settings.contenders` names are looked up in (default: ./contenders/index.ts). */
  registry?: readonly ContenderSpec[];
}

/** Runs the benchmark on a throwaway database of `server`. */
export async function benchQueries(
  server: PostgresServer,
  settings: QueriesSettings,
  context?: CommandContext,
  options: BenchOptions = {},
): Promise<QueriesReport> {
  const registry = options.registry ?? CONTENDERS;
  const loadBefore = loadAverage();
  const date = new Date().toISOString();
  // The code that runs is the code of the start (a commit made during the run changes nothing loaded).
  const git = await gitState(ROOT);
  const log = (line: string) => {
    if (settings.progress) process.stderr.write(`${line}\n`);
  };
  return withThrowawayDatabase(server, options.databasePrefix ?? 'dl_bench', async (connection) => {
    const removeHook = context?.onShutdown(() => dropDatabaseNamed(server.admin, connection.database));
    const appRole = `dl_bench_app_${randomBytes(4).toString('hex')}`;
    let appCreated = false;
    const removeRoleHook = context?.onShutdown(() =>
      appCreated ? adminQuery(server.admin, `DROP ROLE IF EXISTS ${quoteIdent(appRole)}`) : undefined,
    );
    const running: Running[] = [];
    const admin = new pg.Pool({ ...pgConfig(connection), max: 2, application_name: 'dl-bench-admin' });
    // An idle admin connection the server ends (57P01) is discarded by pg-pool and replaced; without
    // a listener its 'error' event would end the run before the report is written.
    admin.on('error', () => undefined);
    try {
      log(`Migrating ${connection.database} and loading the load set at scale ${settings.scale} ...`);
      await createMigrator({ connection }).up();
      const client = new pg.Client({ ...pgConfig(connection), application_name: 'dl-bench-load' });
      await client.connect();
      let fixtures: Fixtures;
      let postgres: string;
      try {
        fixtures = await prepareFixtures(client, settings.scale, settings.progress ? createProgress() : silentProgress);
        postgres = (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
      } finally {
        await client.end();
      }
      log(
        `Loaded ${Object.entries(fixtures.loaded)
          .map(([t, n]) => `${t} ${n.toLocaleString('en-US')}`)
          .join(', ')} in ${(fixtures.loadMs / 1000).toFixed(1)} s`,
      );

      const { config } = resolveConfig({
        connectionString: toConnectionUrl(connection),
        env: {},
        // Idle connections are closed by the benchmark between windows, never by a timer.
        pool: { max: settings.pool, idleTimeoutMs: 0, maxLifetimeSeconds: 0, applicationName: 'dl-bench' },
      });
      config.connection = connection;
      config.migrationConnection = connection;

      let appConnection: ConnectionSettings | undefined;
      if (settings.contenders.includes('repo-app')) {
        const password = randomBytes(12).toString('hex');
        try {
          await adminQuery(server.admin, `CREATE ROLE ${quoteIdent(appRole)} LOGIN PASSWORD '${password}' IN ROLE ai_validation_app`);
          appCreated = true;
          appConnection = { host: connection.host, port: connection.port, database: connection.database, user: appRole, password };
        } catch (error) {
          log(`repo-app: cannot create a login role (${(error as Error).message})`);
        }
      }

      const skipped: QueriesReport['contenders'] = [];
      for (const name of settings.contenders) {
        const instrumented = newInstrumented();
        if (name === PGBENCH) {
          const made = await pgbench(connection, fixtures.ideaIds, findPgbench(settings.pgbench));
          if ('skipped' in made) skipped.push({ name, label: 'pgbench -M prepared', skipped: made.skipped });
          else running.push({ name, label: 'pgbench -M prepared (point read only)', instrumented, kind: 'external', contender: made });
          continue;
        }
        const spec = registry.find((c) => c.name === name);
        if (!spec) throw new Error(`unknown contender ${name}`);
        const contentContext: ContenderContext = {
          connection,
          config,
          createPool: () => instrumentPool(createPool(config.connection, config.pool, silentLogger), instrumented),
          instrument: (pool) => instrumentPool(pool, instrumented),
          appConnection,
          workDir: path.join(ROOT, '.bench'),
          root: ROOT,
        };
        let made: Awaited<ReturnType<typeof spec.create>>;
        try {
          made = await spec.create(contentContext);
        } catch (error) {
          made = { skipped: `could not be set up: ${(error as Error).message}` };
        }
        if ('skipped' in made) {
          skipped.push({ name, label: spec.label, skipped: made.skipped });
          log(`${name}: skipped: ${made.skipped}`);
        } else if ('driver' in made) {
          running.push({ name, label: spec.label, instrumented, kind: 'driver', contender: made });
        }
      }
      if (running.length === 0) throw new Error('no contender could run');

      // Server CPU needs the backends on this machine: check one pid.
      const probe = running.find((r) => r.kind === 'driver')!;
      await fillPools(probe.instrumented);
      const serverCpu = await isLocalPostgres([...probe.instrumented.pids][0] ?? -1);
      await emptyPools(probe.instrumented);
      if (!serverCpu) log('The server is not on this machine (or its processes are not readable): no server CPU figures.');

      const operations = OPERATIONS.filter((op) => settings.operations.includes(op.name));
      const applicable = (op: Operation, r: Running): boolean =>
        r.kind === 'external' ? op.name === 'point-read' : op.needs.every((need) => typeof r.contender.driver[need] === 'function');
      const rates = new Map<string, number>();
      const figures = new Map<string, (WindowFigures & { round: number })[]>();
      const loadAveragePerRound: number[][] = [];

      const window = async (op: Operation, r: Running, round: number, warmup: boolean): Promise<WindowFigures> => {
        const concurrency = op.concurrency ?? settings.concurrency;
        const seconds = warmup ? settings.warmup : settings.duration;
        const calls = warmup ? undefined : settings.calls;
        if (r.kind === 'external') {
          const result = await r.contender.pointReadWindow({ seconds, concurrency });
          return {
            calls: result.ops,
            elapsedMs: result.elapsedMs,
            perSecond: result.ops / (result.elapsedMs / 1000),
            nodeCpuUs: result.clientCpuMs === undefined ? NaN : (result.clientCpuMs * 1000) / result.ops,
            statementsPerCall: 1,
          };
        }
        const key = `${op.name} ${r.name}`;
        // Enough inputs for the window: from the last rate seen, with room to spare.
        const expected = calls ?? Math.ceil((rates.get(key) ?? 500) * seconds * 1.5) + concurrency * 4;
        let runs: string[] = [];
        if (op.consumes === 'queue') {
          await queueEvaluations(admin, fixtures, expected);
          await admin.query('VACUUM evaluations');
        } else if (op.consumes === 'running-runs') {
          runs = await runningAgentRuns(admin, fixtures, expected);
        } else if (op.consumes === 'empty-queue') {
          // Nothing left over from other windows (or the load set) for the worker to find first.
          await admin.query(
            `UPDATE evaluations SET status = 'failed', error_message = 'bench: cleared before an enqueue-to-start window',
                    completed_at = now(), lease_expires_at = NULL
              WHERE status IN ('pending', 'analyzing')`,
          );
        }
        await fillPools(r.instrumented);
        const after = op.around ? await op.around(r.contender.driver) : undefined;
        try {
          const result = await runWindow(
            op,
            r.contender.driver,
            r.instrumented,
            fixtures,
            { seconds, ...(calls === undefined ? {} : { calls }), concurrency, serverCpu },
            runs,
            `bench-${r.name}-${round}`,
          );
          if (result.calls > 0) rates.set(key, result.perSecond);
          return result;
        } finally {
          await after?.();
          await emptyPools(r.instrumented);
        }
      };

      for (let round = 1; round <= settings.rounds; round++) {
        const shift = (round - 1) % running.length;
        const order = [...running.slice(shift), ...running.slice(0, shift)];
        for (const op of operations) {
          for (const r of order) {
            if (!applicable(op, r)) continue;
            context?.signal.throwIfAborted();
            if (round === 1 && settings.warmup > 0 && r.kind === 'driver') await window(op, r, 0, true);
            let result: WindowFigures;
            try {
              result = await window(op, r, round, false);
            } catch (error) {
              throw new Error(`${op.name} through ${r.name} failed: ${(error as Error).message}`, { cause: error });
            }
            const key = `${op.name} ${r.name}`;
            figures.set(key, [...(figures.get(key) ?? []), { ...result, round }]);
            log(
              `round ${round}/${settings.rounds}  ${op.name.padEnd(18)} ${r.name.padEnd(16)} ${figure(result.perSecond).padStart(8)}/s` +
                `  node ${figure(result.nodeCpuUs)} us` +
                (result.serverCpuUs === undefined ? '' : `  server ${figure(result.serverCpuUs)} us`) +
                (result.exhausted ? '  (inputs ran out)' : ''),
            );
          }
        }
        loadAveragePerRound.push(loadAverage());
      }

      const results: ResultEntry[] = [];
      for (const op of operations) {
        const baseline = figures.get(`${op.name} ${BASELINE}`) ?? [];
        for (const r of running) {
          const rounds = figures.get(`${op.name} ${r.name}`);
          if (!rounds) continue;
          const withRatio = rounds.map((f) => {
            const base = baseline.find((b) => b.round === f.round);
            return base && base.perSecond > 0 ? { ...f, ratio: f.perSecond / base.perSecond } : f;
          });
          const pick = (get: (f: (typeof withRatio)[number]) => number | undefined) =>
            withRatio.map(get).filter((v): v is number => v !== undefined && Number.isFinite(v));
          results.push({
            operation: op.name,
            contender: r.name,
            rounds: withRatio,
            median: dropUndefined({
              perSecond: median(pick((f) => f.perSecond)),
              ratio: median(pick((f) => ('ratio' in f ? f.ratio : undefined))),
              nodeCpuUs: median(pick((f) => f.nodeCpuUs)),
              serverCpuUs: median(pick((f) => f.serverCpuUs)),
              statementsPerCall: median(pick((f) => f.statementsPerCall)),
              claimP50Ms: median(pick((f) => f.claimP50Ms)),
              claimP99Ms: median(pick((f) => f.claimP99Ms)),
              steadyClaimP50Ms: median(pick((f) => f.steadyClaimP50Ms)),
              steadyClaimP99Ms: median(pick((f) => f.steadyClaimP99Ms)),
            }),
            spread: dropUndefined({
              perSecond: spread(pick((f) => f.perSecond)),
              ratio: spread(pick((f) => ('ratio' in f ? f.ratio : undefined))),
            }),
          });
        }
      }

      const keyset = running
        .map((r) => {
          const first = figures.get(`keyset-page-1 ${r.name}`);
          const far = figures.get(`keyset-page-1000 ${r.name}`);
          if (!first || !far) return undefined;
          const per = (get: (f: WindowFigures) => number | undefined, invert: boolean) =>
            median(
              first
                .map((f) => {
                  const g = far.find((x) => x.round === f.round);
                  const a = get(f);
                  const b = g && get(g);
                  return a !== undefined && b !== undefined && a > 0 && b > 0 ? (invert ? a / b : b / a) : undefined;
                })
                .filter((v): v is number => v !== undefined),
            );
          return dropUndefined({
            contender: r.name,
            throughputRatio: per((f) => f.perSecond, true),
            serverCpuRatio: per((f) => f.serverCpuUs, false),
          });
        })
        .filter((k): k is NonNullable<typeof k> => k !== undefined);

      const report: QueriesReport = {
        benchmark: 'queries',
        date,
        git,
        machine: { ...machineInfo(postgres), loadAverage: { before: loadBefore, after: loadAverage() } },
        server: server.description,
        settings: {
          scale: settings.scale,
          rounds: settings.rounds,
          duration: settings.duration,
          calls: settings.calls,
          warmup: settings.warmup,
          concurrency: settings.concurrency,
          pool: settings.pool,
          operations: settings.operations,
          contenders: settings.contenders,
          pgbench: settings.pgbench,
          baseline: BASELINE,
          poolSettings: config.pool,
          serverCpuMeasured: serverCpu,
          openTelemetryApiLoaded: openTelemetryApiLoaded(),
          loadSet: fixtures.loaded,
          loadSeconds: round(fixtures.loadMs / 1000, 1),
        },
        contenders: [...running.map((r) => ({ name: r.name, label: r.label, settings: r.contender.settings })), ...skipped],
        operations: operations.map((op) => ({
          name: op.name,
          label: op.label,
          unit: op.unit,
          concurrency: op.concurrency ?? settings.concurrency,
        })),
        results,
        ...(keyset.length > 0 ? { keyset } : {}),
        targets: [],
        loadAveragePerRound,
      };
      report.targets = targetsOf(report);
      return report;
    } finally {
      for (const r of running) await r.contender.close().catch(() => undefined);
      await admin.end().catch(() => undefined);
      if (appCreated) await adminQuery(server.admin, `DROP ROLE IF EXISTS ${quoteIdent(appRole)}`).catch(() => undefined);
      removeRoleHook?.();
      removeHook?.();
    }
  });
}

/** One of issue 11's targets: `value` against `target` (`at least` or `at most`). */
export interface Target {
  name: string;
  value: number;
  target: number;
  kind: 'at least' | 'at most';
  met: boolean;
}

/** The repository contender's name, and the operations whose ratio to raw pg named has a floor (issue 11, item 4). */
const REPO = 'repo';
const RATIO_FLOORS: [OperationName, number][] = [
  ['point-read', 0.95],
  ['list-page', 0.9],
  ['insert-idea', 0.9],
  ['complete-agent-run', 0.9],
  ['claim-complete', 0.9],
];
const RIVALS = ['drizzle-prepared', 'prisma'];

/**
 * The targets the run measured: the repository's ratio floors, its lead over Drizzle prepared and
 * Prisma on every operation both ran (its median ratio over theirs, at least 1), and the keyset
 * cost of page 1,000 against page 1 (at most 1.2).
 */
export function targetsOf(report: Pick<QueriesReport, 'results' | 'keyset'>): Target[] {
  const ratio = (op: string, contender: string) =>
    report.results.find((r) => r.operation === op && r.contender === contender)?.median.ratio;
  const targets: Target[] = [];
  const add = (name: string, value: number | undefined, target: number, kind: Target['kind']) => {
    if (value === undefined || !Number.isFinite(value)) return;
    targets.push({ name, value: round(value, 3), target, kind, met: kind === 'at least' ? value >= target : value <= target });
  };
  for (const [op, floor] of RATIO_FLOORS) add(`${op}: repo / ${BASELINE}`, ratio(op, REPO), floor, 'at least');
  for (const op of OPERATION_NAMES) {
    const mine = ratio(op, REPO);
    for (const rival of RIVALS) {
      const theirs = ratio(op, rival);
      if (mine !== undefined && theirs !== undefined && theirs > 0) add(`${op}: repo / ${rival}`, mine / theirs, 1, 'at least');
    }
  }
  add('keyset page 1,000 / page 1 cost: repo', report.keyset?.find((k) => k.contender === REPO)?.throughputRatio, 1.2, 'at most');
  return targets;
}

function openTelemetryApiLoaded(): boolean {
  try {
    createRequire(import.meta.url).resolve('@opentelemetry/api');
    return true;
  } catch {
    return false;
  }
}

function dropUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** graphile-worker's published throughput, unbatched, on 8 P-cores (issue 12's anchor). */
const GRAPHILE_JOBS_PER_SECOND = 15_600;

/** The printed report: one table per operation, then the keyset ratios, the claim p99s and what was skipped. */
export function formatReport(report: QueriesReport): string {
  const out: string[] = [];
  const { settings, machine } = report;
  out.push(
    `Queries benchmark, ${report.date}: scale ${settings.scale}, ${settings.rounds} rounds of ${settings.calls === undefined ? `${settings.duration} s` : `${settings.calls} calls`} ` +
      `per contender and operation, ${settings.concurrency} callers, pools of ${settings.pool}; ratios to ${settings.baseline} (median of per-round ratios).`,
  );
  out.push(
    `Machine: ${machine.cpus.count} x ${machine.cpus.model}, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}; ` +
      `load average ${machine.loadAverage.before.join(' ')} before, ${machine.loadAverage.after.join(' ')} after; ` +
      `commit ${report.git ? `${report.git.commit.slice(0, 12)}${report.git.dirty ? ' (with uncommitted changes)' : ''}` : 'unknown'}.`,
  );
  for (const op of report.operations) {
    const entries = report.results.filter((r) => r.operation === op.name);
    if (entries.length === 0) continue;
    const claims = entries.some((e) => e.median.claimP99Ms !== undefined);
    // The steady-state claims only mean something where the callers loop through claims (not the wake-up).
    const steady = op.name !== 'enqueue-to-start' && entries.some((e) => e.median.steadyClaimP99Ms !== undefined);
    const header = [
      'contender',
      `${op.unit}/s`,
      'min-max',
      'ratio',
      'ratio min-max',
      'node us/call',
      'server us/call',
      'statements',
      ...(claims ? ['claim p50 ms', 'claim p99 ms'] : []),
      ...(steady ? ['steady p50 ms', 'steady p99 ms'] : []),
    ];
    const rows = entries.map((e) => [
      e.contender,
      figure(e.median.perSecond),
      e.spread.perSecond ? `${figure(e.spread.perSecond.min)}-${figure(e.spread.perSecond.max)}` : '',
      e.median.ratio === undefined ? '' : e.median.ratio.toFixed(2),
      e.spread.ratio ? `${e.spread.ratio.min.toFixed(2)}-${e.spread.ratio.max.toFixed(2)}` : '',
      figure(e.median.nodeCpuUs),
      figure(e.median.serverCpuUs),
      figure(e.median.statementsPerCall),
      ...(claims ? [figure(e.median.claimP50Ms), figure(e.median.claimP99Ms)] : []),
      ...(steady ? [figure(e.median.steadyClaimP50Ms), figure(e.median.steadyClaimP99Ms)] : []),
    ]);
    out.push('', `${op.label} (${op.concurrency} callers)`, formatTable(header, rows));
  }
  if (report.keyset?.length) {
    out.push(
      '',
      'Keyset pagination, page 1,000 against page 1 (cost = page 1 throughput / page 1,000 throughput; target <= 1.2):',
      formatTable(
        ['contender', 'cost ratio', 'server CPU ratio'],
        report.keyset.map((k) => [k.contender, k.throughputRatio?.toFixed(2) ?? '', k.serverCpuRatio?.toFixed(2) ?? '']),
      ),
    );
  }
  if (report.targets.length > 0) {
    out.push(
      '',
      "Issue 11's targets for this project's repositories (medians of per-round ratios):",
      formatTable(
        ['target', 'value', 'wanted', ''],
        report.targets.map((t) => [
          t.name,
          t.value.toFixed(2),
          `${t.kind === 'at least' ? '>=' : '<='} ${t.target}`,
          t.met ? 'met' : 'MISSED',
        ]),
      ),
    );
  }
  for (const [op, what] of [
    ['workflow-50', '50 concurrent evaluations'],
    ['workflow-200', '200 concurrent evaluations'],
    ['workflow-500', '500 concurrent evaluations'],
    ['workflow-batched-200', '200 concurrent batched evaluations'],
  ] as const) {
    const wide = report.results.filter((r) => r.operation === op && r.median.claimP99Ms !== undefined);
    if (wide.length > 0) {
      const steadily = (r: (typeof wide)[number]) =>
        r.median.steadyClaimP99Ms === undefined ? '' : ` (steady state ${figure(r.median.steadyClaimP99Ms)} ms)`;
      out.push('', `Claim p99 at ${what}: ${wide.map((r) => `${r.contender} ${figure(r.median.claimP99Ms)} ms${steadily(r)}`).join(', ')}`);
    }
  }
  const wakeUps = report.results.filter((r) => r.operation === 'enqueue-to-start' && r.median.claimP50Ms !== undefined);
  if (wakeUps.length > 0) {
    out.push(
      '',
      `Enqueue-to-start with wake-ups (target p50 <= 3 ms, p99 <= 10 ms): ` +
        wakeUps.map((r) => `${r.contender} p50 ${figure(r.median.claimP50Ms)} ms, p99 ${figure(r.median.claimP99Ms)} ms`).join('; '),
    );
  }
  const perCore = report.results.filter(
    (r) => r.operation === 'claim-complete' && r.median.nodeCpuUs !== undefined && r.median.serverCpuUs !== undefined,
  );
  if (perCore.length > 0) {
    out.push(
      '',
      `Claim + complete per core (1 / (node + server CPU per call)), beside graphile-worker's published ${figure(GRAPHILE_JOBS_PER_SECOND)} jobs/s ` +
        `unbatched on 8 P-cores (${figure(GRAPHILE_JOBS_PER_SECOND / 8)} per core): ` +
        perCore.map((r) => `${r.contender} ${figure(1e6 / (r.median.nodeCpuUs! + r.median.serverCpuUs!))}/s`).join(', '),
    );
  }
  const skipped = report.contenders.filter((c) => c.skipped);
  if (skipped.length > 0) out.push('', ...skipped.map((c) => `Skipped ${c.name}: ${c.skipped}`));
  if (!settings.serverCpuMeasured)
    out.push('', 'No server CPU figures: the server does not run on this machine (or its processes are not readable).');
  return out.join('\n');
}
