/**
 * Measuring one window: one operation, one contender, a fixed time (or number of calls), N
 * concurrent callers. Around it: the contender's pools opened to their full size beforehand and
 * closed afterwards (so that idle contenders hold no connections, and every window starts alike),
 * and the figures taken: calls, wall time, this process's CPU, the CPU of the pool's server
 * backends (from /proc, when the server runs on this machine), statements sent, claim latencies.
 */
import type pg from 'pg';
import { nodeCpuMs, processCpuMs, quantile } from './stats.js';
import type { Driver } from './contenders/types.js';
import type { Operation, OperationInputs } from './operations.js';
import type { Fixtures } from './fixtures.js';

/** A contender's pools and what was counted on them. */
export interface Instrumented {
  pools: pg.Pool[];
  /** Statements sent (every `client.query`, BEGIN and COMMIT included). */
  statements: number;
  /** Backend pids of the open connections. */
  pids: Set<number>;
}

export function newInstrumented(): Instrumented {
  return { pools: [], statements: 0, pids: new Set() };
}

/** Counts `pool`'s statements and remembers its backends' pids. Call before its first query. */
export function instrumentPool(pool: pg.Pool, into: Instrumented): pg.Pool {
  into.pools.push(pool);
  pool.on('connect', (client) => {
    const pid = (client as unknown as { processID?: number }).processID;
    if (typeof pid === 'number') into.pids.add(pid);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((...args: unknown[]) => {
      into.statements++;
      return query(...args);
    }) as typeof client.query;
  });
  pool.on('remove', (client) => {
    const pid = (client as unknown as { processID?: number }).processID;
    if (typeof pid === 'number') into.pids.delete(pid);
  });
  return pool;
}

/** Opens every pool to its maximum size (outside the measured time). */
export async function fillPools(into: Instrumented): Promise<void> {
  for (const pool of into.pools) {
    const max = (pool.options as { max?: number }).max ?? 10;
    const clients = await Promise.all(Array.from({ length: max }, () => pool.connect()));
    for (const client of clients) client.release();
  }
}

/** Closes every idle connection of the pools (they are all idle between windows). */
export async function emptyPools(into: Instrumented): Promise<void> {
  for (const pool of into.pools) {
    const clients = await Promise.all(Array.from({ length: pool.idleCount }, () => pool.connect()));
    for (const client of clients) client.release(true);
  }
}

async function serverCpuMs(pids: Iterable<number>): Promise<Map<number, number>> {
  const cpu = new Map<number, number>();
  await Promise.all(
    [...pids].map(async (pid) => {
      const ms = await processCpuMs(pid);
      if (ms !== undefined) cpu.set(pid, ms);
    }),
  );
  return cpu;
}

/** The figures of one window. */
export interface WindowFigures {
  calls: number;
  elapsedMs: number;
  perSecond: number;
  /** This process's CPU per call, µs. */
  nodeCpuUs: number;
  /** The pool's server backends' CPU per call, µs (local servers only). */
  serverCpuUs?: number;
  statementsPerCall: number;
  claimP50Ms?: number;
  claimP99Ms?: number;
  /**
   * The same over the claims after each caller's first: the steady state, without the burst of
   * every caller claiming at once when the window opens.
   */
  steadyClaimP50Ms?: number;
  steadyClaimP99Ms?: number;
  /** The inputs ran out before the time did. */
  exhausted?: boolean;
}

export interface WindowPlan {
  seconds: number;
  /** A fixed number of calls instead of a time. */
  calls?: number;
  concurrency: number;
  /** Measure the pool's server backends. */
  serverCpu: boolean;
}

/** Runs `operation` on `driver` for one window and returns its figures. */
export async function runWindow(
  operation: Operation,
  driver: Driver,
  instrumented: Instrumented,
  fixtures: Fixtures,
  plan: WindowPlan,
  runningRuns: string[],
  workerPrefix: string,
): Promise<WindowFigures> {
  const latencies: number[] = [];
  const steady: number[] = [];
  let next = 0;
  const inputs: OperationInputs = {
    fixtures,
    nextRunningRun: () => runningRuns[next++],
    claimed: (ms) => latencies.push(ms),
  };
  const pids = [...instrumented.pids];
  const serverBefore = plan.serverCpu ? await serverCpuMs(pids) : undefined;
  const statementsBefore = instrumented.statements;
  let calls = 0;
  let started = 0;
  let exhausted = false;
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + plan.seconds * 1000;
  const caller = async (index: number): Promise<void> => {
    const worker = `${workerPrefix}-${index}`;
    let first = true;
    const own: OperationInputs = {
      ...inputs,
      claimed: (ms) => {
        latencies.push(ms);
        if (!first) steady.push(ms);
      },
    };
    for (;;) {
      if (plan.calls === undefined ? performance.now() >= deadline : started >= plan.calls) return;
      started++;
      const more = await operation.run(driver, worker, own);
      first = false;
      if (!more) {
        exhausted = true;
        return;
      }
      calls++;
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, (_, i) => caller(i)));
  const elapsedMs = performance.now() - t0;
  const cpu = nodeCpuMs(cpuBefore);
  const statements = instrumented.statements - statementsBefore;
  let serverCpuUs: number | undefined;
  if (serverBefore) {
    const after = await serverCpuMs(pids);
    let sum = 0;
    for (const [pid, ms] of after) sum += ms - (serverBefore.get(pid) ?? ms);
    serverCpuUs = calls > 0 ? (sum * 1000) / calls : undefined;
  }
  return {
    calls,
    elapsedMs,
    perSecond: calls / (elapsedMs / 1000),
    nodeCpuUs: calls > 0 ? (cpu * 1000) / calls : NaN,
    ...(serverCpuUs === undefined ? {} : { serverCpuUs }),
    statementsPerCall: calls > 0 ? statements / calls : NaN,
    ...(latencies.length > 0 ? { claimP50Ms: quantile(latencies, 0.5)!, claimP99Ms: quantile(latencies, 0.99)! } : {}),
    ...(steady.length > 0 ? { steadyClaimP50Ms: quantile(steady, 0.5)!, steadyClaimP99Ms: quantile(steady, 0.99)! } : {}),
    ...(exhausted ? { exhausted } : {}),
  };
}
