/**
 * Read replicas: a pool-like router that sends each checkout to the primary or to a hot standby,
 * by what its first statement is, so every calling path (`owner`, `worker`, `anonymous`, `db`)
 * routes without a second API. See docs/replicas.md.
 *
 * - A read outside a transaction (a `SELECT` without a locking clause or a writing function, a
 *   `WITH` without a data-modifying statement) and a transaction opened `read only` go to a
 *   healthy standby; everything else (writes, read-write transactions, cursors) to the primary.
 *   A lease that began with a read and then writes moves to the primary for the rest.
 * - A standby serves reads only while its last check found it a standby, answering, and no further
 *   behind than `maxLagMs`. Checks run on demand (at most every `checkIntervalMs`, never while
 *   idle): the primary's WAL position, then each standby's replay position; the lag in seconds is
 *   how long ago the primary first passed the standby's position, from those samples (no clock of
 *   another host is read). A standby whose read failed on the way (connection lost, refused,
 *   timed out) is down until a later check finds it back; the read itself runs again on the
 *   primary, and so do reads a standby cancelled for a recovery conflict (40001) or refused as a
 *   write (25006, a read misjudged): a read outside a transaction changes nothing, so moving it is safe.
 * - Read-your-writes: for `readYourWritesMs` after a write on the primary completes, a read goes
 *   only to a standby known to have replayed the primary's position as of that write, else to the
 *   primary. The position costs no round trip on the write: it is fetched (`pg_current_wal_lsn()`,
 *   shared by every read in the same position) only once some standby is known to be past the last
 *   position seen, so until then those reads go straight to the primary.
 */
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import type { ReplicaSettings } from '../config.js';
import { ConnectionError, DataLayerError, isServerError, ReadOnlyNodeError, SerializationError, TimeoutError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Checkout } from './checkout.js';
import { poolGauges, type PoolGauges } from './metrics.js';

/** A standby's state as the router last saw it. */
export type ReplicaStatus = 'ok' | 'lagging' | 'down' | 'not-a-standby' | 'unchecked';

/** One standby in `health().replicas`. Holds no secret. */
export interface ReplicaHealth {
  /** `postgres://user@host:port/database` (no password). */
  node: string;
  /** `ok`: serves reads. `lagging`: further behind than `maxLagMs` (or replay paused while behind). `down`: no answer or a failed connection. `not-a-standby`: not in recovery, so it serves no reads. `unchecked`: not checked yet. */
  status: ReplicaStatus;
  /** `standby` (in recovery) or `primary`; null when it did not answer. */
  role: 'standby' | 'primary' | null;
  /** How long ago the primary first passed this standby's replay position (seconds; 0 when caught up; null when unknown). */
  lagSeconds: number | null;
  /** The primary's WAL position minus this standby's replay position (bytes; null when unknown). */
  lagBytes: number | null;
  /** `pg_is_wal_replay_paused()` (null when it did not answer or is not a standby). */
  replayPaused: boolean | null;
  /** Round trip of the check (ms; null when down). */
  latencyMs: number | null;
  /** When it was checked (ISO 8601), or null. */
  checkedAt: string | null;
  /** Why it is not `ok`. */
  error?: string;
}

/** `stats().routing`, present when replicas are configured. */
export interface RoutingStats {
  /** Reads (statements a routed lease judged reads) served by the primary: no standby fit, or forced. */
  primaryReads: number;
  /** Reads served by standbys. */
  replicaReads: number;
  /** Reads that failed on a standby and ran again on the primary. */
  fallbacks: number;
  replicas: { node: string; status: ReplicaStatus; reads: number; pool: PoolGauges }[];
}

/** A standby: its own pool and checkout (the same guarantees as the primary's). */
export interface ReplicaNode {
  name: string;
  pool: pg.Pool;
  checkout: Checkout;
  max: number;
}

/** What `createRouter()` returns. */
export interface Router {
  /** Routes each checkout by its first statement. */
  pool: PostgresPool;
  /** Always the primary (`database.primary`); its writes count for read-your-writes. */
  primaryPool: PostgresPool;
  /** Checks every standby now (bounded by `timeoutMs`) and reports them. */
  check(timeoutMs: number): Promise<ReplicaHealth[]>;
  stats(): RoutingStats;
  /** Closes the standbys' pools (the primary's is closed by its owner). */
  close(options?: { timeoutMs?: number } | null): Promise<void>;
}

type QueryArgs = Parameters<pg.PoolClient['query']>;
type Route = 'read' | 'read-transaction' | 'write';

const BEGIN = /^\s*(?:begin|start\s+transaction)\b/i;
const READ_ONLY_BEGIN = /^\s*(?:begin|start\s+transaction)\b[^;]*\bread\s+only\b/i;
const END = /^\s*(?:commit|end|abort)\b|^\s*rollback\b(?!\s+to\b)/i;
/** Locking clauses and functions a standby refuses or that act on one server's state. */
const NOT_A_READ =
  /\bfor\s+(?:no\s+key\s+)?(?:update|share|key\s+share)\b|\b(?:nextval|setval|set_config|pg_notify|pg_(?:try_)?advisory\w*|txid_current|pg_current_xact_id|pg_current_wal\w*|lo_\w+)\s*\(|\binto\b/i;
const WRITING_CTE = /\b(?:insert|update|delete|merge)\b/i;

/** How a statement is routed when it opens a lease. */
export function routeOf(text: string | undefined): Route {
  if (text === undefined) return 'write'; // a cursor or COPY stream: the primary
  const head = /^\s*(?:\/\*[\s\S]*?\*\/\s*)*(\w+)/.exec(text)?.[1]?.toLowerCase();
  if (head === 'select') return NOT_A_READ.test(text) ? 'write' : 'read';
  if (head === 'with') return NOT_A_READ.test(text) || WRITING_CTE.test(text) ? 'write' : 'read';
  if (READ_ONLY_BEGIN.test(text)) return 'read-transaction';
  return 'write';
}

/** `X/Y` (hex) -> a comparable number of bytes. */
export function parseLsn(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

const textOf = (args: QueryArgs): string | undefined => {
  const [first] = args as unknown[];
  if (typeof first === 'string') return first;
  const config = first as { text?: unknown; submit?: unknown } | undefined;
  return typeof config?.submit === 'function' ? undefined : typeof config?.text === 'string' ? config.text : undefined;
};

/** A failure of the node or the way to it (not of the statement): the standby is set aside until checked again. */
const nodeFailed = (error: unknown): boolean =>
  error instanceof ConnectionError || (error instanceof TimeoutError && error.code === 'TIMEOUT' && !isServerError(error.cause));

/** A read that failed on a standby and may run again on the primary. */
const movable = (error: unknown): boolean =>
  nodeFailed(error) ||
  (error instanceof TimeoutError && error.code === 'POOL_EXHAUSTED') ||
  error instanceof SerializationError || // canceled for a conflict with recovery
  error instanceof ReadOnlyNodeError; // a read that was not one

const MAX_SAMPLES = 1000;
const PRIMARY_SQL = 'SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE pg_catalog.pg_current_wal_lsn()::text END AS lsn';
const REPLICA_SQL = `SELECT pg_catalog.pg_is_in_recovery() AS standby,
       pg_catalog.pg_last_wal_replay_lsn()::text AS replay,
       CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_is_wal_replay_paused() END AS paused`;

interface NodeState {
  status: ReplicaStatus;
  role: 'standby' | 'primary' | null;
  replayLsn: bigint | undefined;
  lagBytes: number | null;
  lagSeconds: number | null;
  paused: boolean | null;
  latencyMs: number | null;
  checkedAt: string | null;
  /** performance.now() of the check this state comes from. */
  checked: number;
  error?: string;
  reads: number;
}

/** What the router needs. */
export interface RouterDependencies {
  primary: Checkout;
  /** The primary's pg.Pool, for the WAL position. */
  primaryPool: pg.Pool;
  /** Names the primary in messages. */
  primaryName: string;
  replicas: ReplicaNode[];
  settings: ReplicaSettings;
  logger: Logger;
}

/** Builds the router over the primary's checkout and the standbys'. */
export function createRouter(deps: RouterDependencies): Router {
  const { settings, logger } = deps;
  const nodes = deps.replicas.map((replica): { replica: ReplicaNode; state: NodeState } => ({
    replica,
    state: {
      status: 'unchecked',
      role: null,
      replayLsn: undefined,
      lagBytes: null,
      lagSeconds: null,
      paused: null,
      latencyMs: null,
      checkedAt: null,
      checked: -Infinity,
      reads: 0,
    },
  }));
  type Node = (typeof nodes)[number];
  const counts = { primaryReads: 0, replicaReads: 0, fallbacks: 0 };
  let closed = false;
  let next = 0;

  // The primary's WAL positions over time, oldest first: the lag in seconds is read off them.
  const samples: { lsn: bigint; at: number }[] = [];
  const keepMs = Math.max(2 * settings.maxLagMs, 60_000);
  let cycle: Promise<void> | undefined;
  let cycleStarted = -Infinity;

  const primaryPosition = async (): Promise<bigint> => {
    const { rows } = await deps.primaryPool.query<{ lsn: string | null }>(PRIMARY_SQL);
    const lsn = rows[0]?.lsn;
    if (!lsn) throw new ReadOnlyNodeError(deps.primaryName, 'the primary URL leads to a hot standby (pg_is_in_recovery() is true)');
    const value = parseLsn(lsn);
    const at = performance.now();
    if (samples.length === 0 || samples.at(-1)!.lsn !== value) samples.push({ lsn: value, at });
    // Bounded in time and count: read-your-writes adds a sample per write it waits on.
    while (samples.length > 1 && (at - samples[0]!.at > keepMs || samples.length > MAX_SAMPLES)) samples.shift();
    return value;
  };

  /** Seconds since the primary first passed `replay` (0 when it has not), from the samples. */
  const lagSecondsOf = (replay: bigint): number => {
    const first = samples.find((sample) => sample.lsn > replay);
    return first ? Math.round(performance.now() - first.at) / 1000 : 0;
  };

  const probe = async (node: Node, primaryLsn: bigint | undefined): Promise<void> => {
    const started = performance.now();
    const state = node.state;
    try {
      const { rows } = await node.replica.pool.query<{ standby: boolean; replay: string | null; paused: boolean | null }>(REPLICA_SQL);
      const { standby, replay, paused } = rows[0]!;
      const base = {
        latencyMs: Math.round((performance.now() - started) * 10) / 10,
        checkedAt: new Date().toISOString(),
        checked: started,
      };
      if (!standby) {
        Object.assign(state, base, {
          status: 'not-a-standby',
          role: 'primary',
          replayLsn: undefined,
          lagBytes: null,
          lagSeconds: null,
          paused: null,
          error: `${node.replica.name} is not a hot standby (pg_is_in_recovery() is false), so it serves no reads: list only standbys of the primary in DATABASE_REPLICA_URLS`,
        });
        return;
      }
      const replayLsn = replay ? parseLsn(replay) : undefined;
      const lagBytes =
        replayLsn !== undefined && primaryLsn !== undefined ? Number(primaryLsn > replayLsn ? primaryLsn - replayLsn : 0n) : null;
      const lagSeconds = replayLsn !== undefined && primaryLsn !== undefined ? lagSecondsOf(replayLsn) : null;
      const stuck = paused === true && (lagBytes ?? 0) > 0;
      const lagging = lagSeconds === null || lagSeconds * 1000 > settings.maxLagMs || stuck;
      Object.assign(state, base, { role: 'standby', replayLsn, lagBytes, lagSeconds, paused, status: lagging ? 'lagging' : 'ok' });
      if (lagging) {
        state.error =
          lagSeconds === null
            ? 'its lag is unknown (the primary did not report its WAL position)'
            : stuck
              ? `WAL replay is paused (pg_wal_replay_pause()) ${lagBytes} bytes behind the primary`
              : `${lagSeconds} s behind the primary, more than ${settings.maxLagMs} ms (DATABASE_REPLICA_MAX_LAG_MS)`;
      } else delete state.error;
    } catch (error) {
      Object.assign(state, {
        status: 'down',
        role: null,
        lagBytes: null,
        lagSeconds: null,
        paused: null,
        latencyMs: null,
        checkedAt: new Date().toISOString(),
        checked: started,
        error: messageOf(error),
      });
    }
  };

  /** One check of the primary's position and every standby; concurrent callers share it. */
  const runCycle = (): Promise<void> =>
    (cycle ??= (async () => {
      cycleStarted = performance.now();
      const primaryLsn = await primaryPosition().catch((error: unknown) => {
        logger.warn({ err: messageOf(error) }, 'replicas: could not read the primary WAL position');
        return undefined;
      });
      await Promise.all(nodes.map((node) => probe(node, primaryLsn)));
    })().finally(() => (cycle = undefined)));

  const refreshIfDue = (): void => {
    if (closed || cycle || performance.now() - cycleStarted < settings.checkIntervalMs) return;
    runCycle().catch(() => undefined);
  };

  // Read-your-writes: a count of completed writes, and the primary's position fetched after one.
  let writes = 0;
  let lastWriteAt = -Infinity;
  let position: { writes: number; lsn: bigint } | undefined;
  let fetching: { writes: number; promise: Promise<bigint> } | undefined;
  const noteWrite = (): void => {
    writes++;
    lastWriteAt = performance.now();
  };

  /** The primary's position after write number `after` completed (shared by every read that needs it). */
  const positionAfter = (after: number): Promise<bigint> => {
    if (position?.writes === after) return Promise.resolve(position.lsn);
    if (fetching?.writes === after) return fetching.promise;
    const promise = primaryPosition().then((lsn) => {
      if (!position || position.writes <= after) position = { writes: after, lsn };
      return lsn;
    });
    fetching = { writes: after, promise };
    promise.then(
      () => fetching?.promise === promise && (fetching = undefined),
      () => fetching?.promise === promise && (fetching = undefined),
    );
    return promise;
  };

  /** The standbys that may serve a read now, by status, lag and read-your-writes. */
  const eligible = async (): Promise<Node[]> => {
    refreshIfDue();
    const healthy = nodes.filter((node) => node.state.status === 'ok');
    if (healthy.length === 0 || settings.readYourWritesMs === 0 || performance.now() - lastWriteAt > settings.readYourWritesMs) {
      return healthy;
    }
    const after = writes;
    // The position needed is at least the newest one known: a standby behind that cannot serve.
    const known = [position?.lsn, samples.at(-1)?.lsn].reduce<bigint>((a, b) => (b !== undefined && b > a ? b : a), 0n);
    const past = (lsn: bigint) => healthy.filter((node) => node.state.replayLsn !== undefined && node.state.replayLsn >= lsn);
    if (past(known).length === 0) return [];
    try {
      return past(await positionAfter(after));
    } catch {
      return [];
    }
  };

  /** A standby for a read, round robin, preferring those with a free connection; undefined: the primary. */
  const pick = async (): Promise<Node | undefined> => {
    const fit = await eligible();
    if (fit.length === 0) return undefined;
    const free = fit.filter(({ replica }) => replica.pool.idleCount > 0 || replica.pool.totalCount < replica.max);
    const from = free.length > 0 ? free : fit;
    return from[next++ % from.length];
  };

  const setAside = (node: Node, error: unknown): void => {
    if (node.state.status === 'down') return;
    Object.assign(node.state, { status: 'down', error: messageOf(error), checkedAt: new Date().toISOString() });
    logger.warn(
      { node: node.replica.name, err: messageOf(error) },
      'replica failed; its reads go to the primary until a check finds it back',
    );
  };

  /**
   * One checkout as Kysely (and direct.ts) holds it: the node is chosen at its first statement.
   * A class, so that a checkout costs one object.
   */
  class RoutedLease {
    private client: PostgresPoolClient | undefined;
    private node: Node | undefined;
    private inTransaction = false;
    private readOnlyTransaction = false;

    constructor(private readonly forcePrimary: boolean) {}

    async query(...args: QueryArgs): Promise<unknown> {
      const text = textOf(args);
      const route = routeOf(text);
      const opening = text !== undefined && BEGIN.test(text);
      const ending = text !== undefined && END.test(text);
      // Only a statement outside a transaction, or the BEGIN itself, may change node.
      const standalone = !this.inTransaction && !opening;
      if (opening) this.readOnlyTransaction = route === 'read-transaction';
      const writes = route === 'write' && !(this.readOnlyTransaction && (this.inTransaction || opening));
      if (this.client === undefined) await this.open(route);
      else if (this.node && standalone && route === 'write') {
        // Began with a read, now writes: the rest of the lease is the primary's.
        this.client.release();
        this.client = undefined;
        this.node = undefined;
        this.client = await deps.primary.pool.connect();
      }
      if (opening) this.inTransaction = true;
      else if (ending) this.inTransaction = false;
      return this.node ? this.onStandby(args, route, opening || standalone) : this.onPrimary(args, route, writes);
    }

    release(): void {
      this.client?.release();
      this.client = undefined;
    }

    private async open(route: Route): Promise<void> {
      if (route !== 'write' && !this.forcePrimary) {
        const node = await pick();
        if (node) {
          try {
            this.client = await node.replica.checkout.pool.connect();
            this.node = node;
            return;
          } catch (error) {
            if (!movable(error)) throw error;
            if (nodeFailed(error)) setAside(node, error);
          }
        }
      }
      this.client = await deps.primary.pool.connect();
    }

    private async onPrimary(args: QueryArgs, route: Route, writes: boolean): Promise<unknown> {
      const client = this.client!;
      if (route === 'read') counts.primaryReads++;
      try {
        return await (client.query as (...query: QueryArgs) => Promise<unknown>)(...args);
      } finally {
        if (writes) noteWrite();
      }
    }

    private async onStandby(args: QueryArgs, route: Route, mayMove: boolean): Promise<unknown> {
      const node = this.node!;
      try {
        const result = await (this.client!.query as (...query: QueryArgs) => Promise<unknown>)(...args);
        if (route === 'read') {
          counts.replicaReads++;
          node.state.reads++;
        }
        return result;
      } catch (error) {
        // Inside a transaction only its BEGIN may move: later statements depend on its snapshot.
        if (!mayMove || !movable(error) || closed) throw error;
        if (nodeFailed(error)) setAside(node, error);
        counts.fallbacks++;
        logger.debug({ node: node.replica.name, err: messageOf(error) }, 'read moved from a replica to the primary');
        this.client!.release();
        this.node = undefined;
        this.client = undefined;
        this.client = await deps.primary.pool.connect();
        return this.onPrimary(args, route, false);
      }
    }
  }

  const auto: PostgresPool = {
    connect: async () => new RoutedLease(false) as unknown as PostgresPoolClient,
    end: () => Promise.resolve(),
  };
  const primaryOnly: PostgresPool = {
    connect: async () => new RoutedLease(true) as unknown as PostgresPoolClient,
    end: () => Promise.resolve(),
  };

  const report = (node: Node): ReplicaHealth => {
    const { state } = node;
    return {
      node: node.replica.name,
      status: state.status,
      role: state.role,
      lagSeconds: state.lagSeconds,
      lagBytes: state.lagBytes,
      replayPaused: state.paused,
      latencyMs: state.latencyMs,
      checkedAt: state.checkedAt,
      ...(state.error ? { error: state.error } : {}),
    };
  };

  return {
    pool: auto,
    primaryPool: primaryOnly,
    async check(timeoutMs) {
      if (closed) return nodes.map((node) => ({ ...report(node), status: 'down', error: 'the database handle is closed' }));
      // Probes of a cycle already running count; older states do not.
      const since = cycle ? cycleStarted : performance.now();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        (cycle ?? runCycle()).catch(() => undefined),
        new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      return nodes.map((node) =>
        node.state.checked >= since
          ? report(node)
          : { ...report(node), status: 'down', error: `did not answer the check within ${timeoutMs} ms` },
      );
    },
    stats: () => ({
      ...counts,
      replicas: nodes.map((node) => ({
        node: node.replica.name,
        status: node.state.status,
        reads: node.state.reads,
        pool: poolGauges(node.replica.pool, node.replica.max),
      })),
    }),
    async close(options) {
      closed = true;
      const results = await Promise.allSettled(nodes.map((node) => node.replica.checkout.close(options)));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof DataLayerError || error instanceof Error ? error.message : String(error);
}
