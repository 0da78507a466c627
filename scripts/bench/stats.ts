/**
 * The figures of the query benchmark: medians and spreads of per-round figures, percentiles of
 * latencies, CPU time from /proc, the machine's description, and the printed table.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';

/** The median of `values` (the mean of the middle two for an even count); undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  return quantile(values, 0.5);
}

/** The `q` quantile (0..1) of `values`, linearly interpolated; undefined when empty. */
export function quantile(values: readonly number[], q: number): number | undefined {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return undefined;
  const sorted = [...finite].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

/** Min, quartiles and max of per-round figures. */
export interface Spread {
  min: number;
  q1: number;
  q3: number;
  max: number;
}

export function spread(values: readonly number[]): Spread | undefined {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return undefined;
  return {
    min: Math.min(...finite),
    q1: quantile(finite, 0.25)!,
    q3: quantile(finite, 0.75)!,
    max: Math.max(...finite),
  };
}

/**
 * CPU time of a local process in ms (Linux): from /proc/<pid>/schedstat (nanoseconds on CPU) when
 * readable, else utime + stime from /proc/<pid>/stat (10 ms clock ticks: too coarse for short
 * windows spread over 20 backends); undefined when neither is readable.
 */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  try {
    const schedstat = await readFile(`/proc/${pid}/schedstat`, 'utf8');
    const ns = Number(schedstat.split(' ')[0]);
    if (Number.isFinite(ns)) return ns / 1e6;
  } catch {
    // no schedstat: fall back to /proc/<pid>/stat
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks of 10 ms on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a PostgreSQL process on this machine (so its /proc figures are the server's). */
export async function isLocalPostgres(pid: number): Promise<boolean> {
  try {
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    return comm === 'postgres' || comm === 'postmaster';
  } catch {
    return false;
  }
}

/** CPU ms of this process since `since`. */
export function nodeCpuMs(since: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(since);
  return (cpu.user + cpu.system) / 1000;
}

/** What the JSON report says about the machine (besides the load averages, taken around the run). */
export interface MachineInfo {
  cpus: { model: string; count: number };
  totalMemoryBytes: number;
  platform: string;
  node: string;
  postgres: string;
}

export function machineInfo(postgres: string): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: { model: cpus[0]?.model.trim() ?? 'unknown', count: cpus.length },
    totalMemoryBytes: os.totalmem(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres,
  };
}

/** The 1, 5 and 15 minute load averages, two decimals. */
export function loadAverage(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = os.loadavg();
  return [round(one, 2), round(five, 2), round(fifteen, 2)];
}

/** The checked-out commit and whether the working tree has changes (read-only git calls); undefined outside a repository. */
export async function gitState(cwd: string): Promise<{ commit: string; dirty: boolean } | undefined> {
  const run = promisify(execFile);
  try {
    const { stdout: commit } = await run('git', ['rev-parse', 'HEAD'], { cwd });
    const { stdout: status } = await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd });
    return { commit: commit.trim(), dirty: status.trim() !== '' };
  } catch {
    return undefined;
  }
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** A plain text table: the first column left-aligned, the others right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** 12,345 / 1,234.5 / 12.35 / 0.123: about four significant figures without exponent notation. */
export function figure(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '';
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toFixed(3);
}
