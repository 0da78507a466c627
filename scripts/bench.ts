/**
 * `npm run bench [-- [load] [options]]`: how fast the load seed set loads, beside a plain COPY of
 * the very same rows in the same run. `npm run bench -- queries [options]` is the queries side
 * by side (scripts/bench/queries.ts), `npm run bench -- migrations [options]` the write stalls of
 * dangerous and safe migrations (scripts/bench/migrations.ts); both in docs/benchmarks.md.
 *
 * 1. Generates the load set once into temporary files (COPY text, one per table): the baseline's
 *    input, so the baseline measures only COPY.
 * 2. Into a fresh, migrated database: the load set (generate + encode + stream + COPY).
 * 3. Into another fresh, migrated database: a plain COPY of the files.
 * Both loads go through the same bulkLoad() (one transaction, the same audit-trigger handling),
 * so the only difference is where the bytes come from; the checksums prove they are identical.
 * With --rounds N the two alternate N times (COPY first in odd rounds) and times are summed.
 *
 * The server is TEST_DATABASE_URL when set, else Testcontainers or an embedded PostgreSQL
 * (scripts/lib/server.ts). Databases are named dl_bench_*, and dropped afterwards.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { copyChunks } from '../seeds/load/copy.js';
import type { LoadTable, LoadTableName } from '../seeds/load/generate.js';
import { bulkLoad, loadLoadSet, loadSetTables, type BulkSource } from '../seeds/load/load.js';
import { createProgress, silentProgress } from '../seeds/progress.js';
import { createMigrator } from '../src/migrate/index.js';
import { parseCommandLine, printUsage, runMain, UsageError, type CommandContext } from './lib/main.js';
import type { PostgresServer } from './lib/postgres-server.js';
import { acquireServer, pgConfig, withThrowawayDatabase } from './lib/server.js';

const HELP = `Usage: npm run bench [-- [load] [options]]
       npm run bench -- queries [options]
       npm run bench -- migrations [options]

load (the default): loads the load seed set into a fresh database and, in the same run, a plain
COPY of the same rows into another, and prints rows/s for both and their ratio (target:
load/COPY >= 0.8).
queries: the repositories' queries side by side with raw pg, Kysely, Drizzle, Prisma and pgbench
(its options: npm run bench -- queries --help).
migrations: the longest write stall of a dangerous migration and of the one the lint suggests,
side by side, through the project's migrator (its options: npm run bench -- migrations --help).

Options of load:
  --scale <n>        Load set scale (default 1: 191,000 rows)
  --rounds <n>       Alternate load and COPY n times, summing the times (default 1)
  --with-audit       Also load once with the audit triggers firing, to show what they cost
  --no-progress      No progress lines on stderr
  -h, --help         Show this help

Server: TEST_DATABASE_URL when set, else Testcontainers or an embedded PostgreSQL.
Example: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench -- --scale 0.2
Exit codes: 0 done, 1 failure, 2 usage error, 130 or 143 interrupted by SIGINT or SIGTERM.
`;

interface Phase {
  name: string;
  rows: number;
  ms: number;
  peakRssMb?: number;
  /** CPU seconds of this process (generating, encoding, sending). */
  nodeCpuMs?: number;
  /** CPU seconds of the server backend doing the COPY, when it runs on this machine. */
  serverCpuMs?: number;
}

const BENCHMARKS = ['load', 'queries', 'migrations'];

runMain(async (argv, context) => {
  const [first, ...rest] = argv;
  if (first === 'queries') {
    // Loaded only for this benchmark: it brings Drizzle (and Prisma's generated client).
    const { runQueriesCommand } = await import('./bench/queries.js');
    return runQueriesCommand(rest, context, ['queries']);
  }
  if (first === 'migrations') {
    const { runMigrationsCommand } = await import('./bench/migrations.js');
    return runMigrationsCommand(rest, context, ['migrations']);
  }
  if (first === 'load') return loadBench(rest, context, ['load']);
  if (first !== undefined && !first.startsWith('-')) {
    throw new UsageError(`unknown benchmark "${first}"; accepted: ${BENCHMARKS.join(', ')}`, HELP);
  }
  return loadBench(argv, context, []);
});

/** The load benchmark: argv is what follows `load` (or everything, when no benchmark is named). */
async function loadBench(argv: string[], context: CommandContext, prefix: string[]): Promise<number> {
  const { values, help } = parseCommandLine(argv, {
    options: {
      scale: { type: 'string', value: '<n>' },
      rounds: { type: 'string', value: '<n>' },
      'with-audit': { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
    prefix,
    usage: HELP,
  });
  if (help) return printUsage(HELP);
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  const rounds = values.rounds === undefined ? 1 : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) {
    throw new UsageError(`--rounds must be an integer from 1 to 10 (got ${values.rounds})`, HELP);
  }
  let tables: LoadTable[];
  try {
    tables = await loadSetTables({ scale });
  } catch (error) {
    throw new UsageError(`--scale: ${(error as Error).message}`, HELP);
  }
  const progress = values['no-progress'] ? silentProgress : createProgress();
  const totalRows = tables.reduce((sum, t) => sum + t.count, 0);

  const server = await acquireServer({ purpose: 'bench' });
  context.onShutdown(() => server.stop());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dl-bench-'));
  // A signal ends the run at once: the temporary files go, and the server (when we started it).
  context.onShutdown(() => rm(dir, { recursive: true, force: true }));
  try {
    console.log(`Server: ${server.description}`);
    console.log(
      `Load set at scale ${scale}: ${number(totalRows)} rows (${tables.map((t) => `${t.name} ${number(t.count)}`).join(', ')})\n`,
    );

    // 1. The baseline's input, and the generator's speed on its own.
    const files = new Map<LoadTableName, string>();
    const fileHash = createHash('sha256');
    let bytes = 0;
    const generateStarted = performance.now();
    const generateCpu = process.cpuUsage();
    for (const table of tables) {
      const file = path.join(dir, `${table.name}.copy`);
      files.set(table.name, file);
      fileHash.update(`${table.name}\n`);
      const out = createWriteStream(file);
      for (const chunk of copyChunks(table.rows(), { hash: fileHash, plain: table.plain })) {
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      out.end();
      await finished(out);
      bytes += (await stat(file)).size;
    }
    const phases: Phase[] = [
      { name: 'generate only (to temp files)', rows: totalRows, ms: performance.now() - generateStarted, nodeCpuMs: cpuMs(generateCpu) },
    ];
    const fileChecksum = fileHash.digest('hex');

    const sources: BulkSource[] = tables.map((t) => ({
      table: t.name,
      columns: t.columns,
      rows: t.count,
      open: () => createReadStream(files.get(t.name) as string, { highWaterMark: 256 * 1024 }),
    }));

    const load: Phase = { name: 'load set (generate + COPY)', rows: 0, ms: 0, peakRssMb: 0 };
    const copy: Phase = { name: 'plain COPY (from the files)', rows: 0, ms: 0, peakRssMb: 0 };
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? ['copy', 'load'] : ['load', 'copy'];
      for (const which of order) {
        await withFreshDatabase(server, async (client) => {
          const sampler = await cpuAndRssSampler(client);
          if (which === 'load') {
            const result = await loadLoadSet(client, { scale, progress });
            if (result.checksum !== fileChecksum) throw new Error('the load set generated different data than the baseline files');
            add(load, result.rows, result.durationMs, await sampler.stop());
          } else {
            const result = await bulkLoad(client, sources);
            add(copy, result.rows, result.durationMs, await sampler.stop());
          }
        });
      }
    }
    phases.push(copy, load);

    if (values['with-audit']) {
      const audited: Phase = { name: 'load set, audit triggers firing', rows: 0, ms: 0, peakRssMb: 0 };
      await withFreshDatabase(server, async (client) => {
        const sampler = await cpuAndRssSampler(client);
        const result = await loadLoadSet(client, { scale, progress, auditTriggers: 'keep' });
        add(audited, result.rows, result.durationMs, await sampler.stop());
      });
      phases.push(audited);
    }

    console.log(`\n${table(phases)}\n`);
    const ratio = copy.ms / load.ms;
    console.log(`COPY text: ${(bytes / 1e6).toFixed(1)} MB; checksum ${fileChecksum.slice(0, 16)}… identical for both loads`);
    console.log(`Ratio load/COPY (rows/s): ${ratio.toFixed(2)} (target >= 0.80)${ratio >= 0.8 ? '' : ': BELOW TARGET'}`);
    const [loadAvg] = os.loadavg();
    console.log(
      `Machine: ${os.cpus().length} CPUs, load average ${loadAvg?.toFixed(1)} (a load above the CPU count means the two sides could not run in parallel)`,
    );
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await server.stop();
  }
}

function add(phase: Phase, rows: Record<string, number>, ms: number, sample: Sample): void {
  phase.rows += Object.values(rows).reduce((a, b) => a + b, 0);
  phase.ms += ms;
  phase.peakRssMb = Math.max(phase.peakRssMb ?? 0, sample.peakRssMb);
  phase.nodeCpuMs = (phase.nodeCpuMs ?? 0) + sample.nodeCpuMs;
  if (sample.serverCpuMs !== undefined) phase.serverCpuMs = (phase.serverCpuMs ?? 0) + sample.serverCpuMs;
}

interface Sample {
  peakRssMb: number;
  nodeCpuMs: number;
  serverCpuMs?: number;
}

/**
 * Peak RSS of this process (sampled every 50 ms), its CPU time, and the CPU time of the server
 * backend serving `client` (read from /proc when the server runs on this machine, else omitted).
 * CPU times tell a saturated machine apart from a slow loader: wall-clock ratios on a busy
 * 2-core box measure the neighbours as much as the code.
 */
async function cpuAndRssSampler(client: pg.Client): Promise<{ stop(): Promise<Sample> }> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]?.pid;
  const serverBefore = pid === undefined ? undefined : await processCpuMs(pid);
  const cpuBefore = process.cpuUsage();
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  return {
    async stop() {
      clearInterval(timer);
      const cpu = process.cpuUsage(cpuBefore);
      const serverAfter = pid === undefined ? undefined : await processCpuMs(pid);
      return {
        peakRssMb: Math.round(Math.max(peak, process.memoryUsage.rss()) / 1e6),
        nodeCpuMs: (cpu.user + cpu.system) / 1000,
        ...(serverBefore !== undefined && serverAfter !== undefined ? { serverCpuMs: serverAfter - serverBefore } : {}),
      };
    },
  };
}

/** utime + stime of a local process in ms, from /proc (Linux); undefined when not readable. */
async function processCpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks of 10 ms on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** A new database, migrated, with one client on it; dropped afterwards. */
async function withFreshDatabase(server: PostgresServer, fn: (client: pg.Client) => Promise<void>): Promise<void> {
  await withThrowawayDatabase(server, 'dl_bench', async (connection) => {
    await createMigrator({ connection }).up();
    const client = new pg.Client({ ...pgConfig(connection), application_name: 'dl-bench' });
    await client.connect();
    try {
      await fn(client);
    } finally {
      await client.end();
    }
  });
}

function table(phases: Phase[]): string {
  const header = ['phase', 'rows', 'seconds', 'rows/s', 'node CPU s', 'server CPU s', 'peak RSS'];
  const body = phases.map((p) => [
    p.name,
    number(p.rows),
    (p.ms / 1000).toFixed(2),
    number(p.rows / (p.ms / 1000)),
    p.nodeCpuMs === undefined ? '' : (p.nodeCpuMs / 1000).toFixed(2),
    p.serverCpuMs === undefined ? '' : (p.serverCpuMs / 1000).toFixed(2),
    p.peakRssMb === undefined ? '' : `${p.peakRssMb} MB`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(since);
  return (cpu.user + cpu.system) / 1000;
}

function number(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
