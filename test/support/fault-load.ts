/**
 * The write load of the fault suite (test/faults/), its ledger and the checks made afterwards.
 *
 * `startLoad()` runs N concurrent writers, each calling repository functions through
 * `database.owner` in a loop, and records every call: what it was, when it started and settled,
 * and how (acknowledged, or the error's class). The mix:
 *
 * - `idea`: `businessIdeas.createIdea` (one autocommit statement);
 * - `bundle`: one transaction of createIdea + submitIdea + createEvaluation + createAgentRuns (3
 *   types): all of it or none of it;
 * - `runs`: `agentResults.createAgentRuns` of 2 more types on an acknowledged bundle's
 *   evaluation (one multi-row autocommit INSERT: both rows or neither);
 * - `claim` / `complete`: `evaluations.claimNext` then `completeEvaluation` (transactions that
 *   move an evaluation and its idea together);
 * - `read`: `businessIdeas.getIdea` of an acknowledged idea (an idempotent read outside a transaction).
 *
 * `verifyLoad()` reads everything back as the owner (the cluster's superuser, on a connection of
 * its own, not through the library under test) and lists every violation: an acknowledged write
 * missing, a half-applied bundle or run set, an evaluation and its idea out of step, a missing
 * audit row, an untyped or unexpected error, a call past its bound.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { PoolSettings } from '../../src/config.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { DataLayerError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import type { Cluster } from './cluster.js';

export type CallKind = 'idea' | 'bundle' | 'runs' | 'claim' | 'complete' | 'read';

/** The kinds that write (a claim that found nothing to claim is recorded as a read: `claim-none`). */
export const WRITE_KINDS: readonly CallKind[] = ['idea', 'bundle', 'runs', 'claim', 'complete'];

/** One call of the load. Times are `performance.now()`. */
export interface CallRecord {
  writer: number;
  seq: number;
  kind: CallKind | 'claim-none';
  /** idea/bundle: the title; runs/claim/complete: the evaluation id; read: the idea id. */
  key: string;
  startedAt: number;
  endedAt?: number;
  ok?: boolean;
  /** The error's class name (`ConnectionError`, ...), or `raw <constructor> [<code>]` for an untyped one. */
  errorClass?: string;
  error?: unknown;
}

export const BASE_AGENTS = ['competitive-analysis', 'customer-research', 'market-research'] as const;
export const EXTRA_AGENTS = ['pricing-review', 'risk-review'] as const;
const DESCRIPTION =
  'A fault-suite idea: a scheduling service for independent clinics that replaces phone calls and spreadsheets, written under a fault.';

const RESULTS = {
  version: 1 as const,
  overallScore: 72.5,
  recommendation: 'go' as const,
  confidence: 0.8,
  summary: 'Written by the fault suite.',
  agentScores: BASE_AGENTS.map((agentType) => ({ agentType, score: 70, weight: 1 / 3, status: 'completed' as const })),
  strengths: ['written under a fault'],
  risks: [],
  nextSteps: ['read it back'],
  generatedAt: new Date().toISOString(),
};

export interface LoadOptions {
  database: Database;
  /** Users the writers create ideas for (writer i uses users[i % length]). */
  users: readonly string[];
  writers: number;
  /** A unique prefix of every title this load writes (so the checks see only this load's rows). */
  tag: string;
  /** The cycle each writer runs through. Default: idea, bundle, idea, runs, claim, read (a claim is followed by its complete). */
  cycle?: readonly CallKind[];
  /** Inside each bundle, a `pg_sleep` of this long first (calls that wait on the server). Default 0. */
  bundleSleepMs?: number;
  /** A pause after a failed call, so a writer does not spin on a dead server. Default 5 ms. */
  pauseAfterErrorMs?: number;
}

export interface Load {
  readonly records: readonly CallRecord[];
  /** Stops the writers: each finishes its current call. Waits at most `drainMs`; returns the calls still unsettled then. */
  stop(options: { drainMs: number }): Promise<{ pending: CallRecord[] }>;
}

const DEFAULT_CYCLE: readonly CallKind[] = ['idea', 'bundle', 'idea', 'runs', 'claim', 'read'];

/** Starts the writers. */
export function startLoad(options: LoadOptions): Load {
  const { database, users, tag } = options;
  const cycle = options.cycle ?? DEFAULT_CYCLE;
  const pauseMs = options.pauseAfterErrorMs ?? 5;
  const records: CallRecord[] = [];
  let stopped = false;

  const writer = async (w: number): Promise<void> => {
    const userId = users[w % users.length]!;
    const workerId = `${tag}-w${w}`;
    const ackedBundles: string[] = [];
    let lastIdea: string | undefined;
    let claimed: string | undefined;
    let claimedAttempt = 0;
    let seq = 0;
    let step = 0;
    while (!stopped) {
      let kind: CallKind = claimed ? 'complete' : cycle[step++ % cycle.length]!;
      if (kind === 'runs' && ackedBundles.length === 0) kind = 'idea';
      if (kind === 'read' && !lastIdea) kind = 'idea';
      const n = seq++;
      const record: CallRecord = { writer: w, seq: n, kind, key: '', startedAt: performance.now() };
      records.push(record);
      try {
        switch (kind) {
          case 'idea': {
            record.key = `${tag}:idea:${w}:${n}`;
            const idea = await businessIdeas.createIdea(database.owner, userId, { title: record.key, description: DESCRIPTION });
            lastIdea = idea.id;
            break;
          }
          case 'bundle': {
            record.key = `${tag}:bundle:${w}:${n}`;
            const title = record.key;
            const evaluation = await database.transaction(database.owner, async (trx) => {
              if (options.bundleSleepMs) await sql`SELECT pg_sleep(${options.bundleSleepMs / 1000})`.execute(trx);
              const idea = await businessIdeas.createIdea(trx, userId, { title, description: DESCRIPTION });
              await businessIdeas.submitIdea(trx, idea.id);
              const created = await evaluations.createEvaluation(trx, idea.id);
              await agentResults.createAgentRuns(trx, created.id, BASE_AGENTS);
              return created;
            });
            ackedBundles.push(evaluation.id);
            break;
          }
          case 'runs': {
            // Each evaluation gets its extra runs at most once (whatever the outcome), so a ConflictError cannot happen.
            record.key = ackedBundles.shift()!;
            await agentResults.createAgentRuns(database.owner, record.key, EXTRA_AGENTS);
            break;
          }
          case 'claim': {
            const evaluation = await evaluations.claimNext(database.owner, workerId, { leaseSeconds: 3600 });
            if (evaluation) {
              record.key = evaluation.id;
              claimed = evaluation.id;
              claimedAttempt = evaluation.attempt;
            } else {
              record.kind = 'claim-none';
            }
            break;
          }
          case 'complete': {
            record.key = claimed!;
            // Attempted once, whatever the outcome: an unacknowledged complete may have committed.
            claimed = undefined;
            await evaluations.completeEvaluation(database.owner, record.key, { workerId, attempt: claimedAttempt, results: RESULTS });
            break;
          }
          case 'read': {
            record.key = lastIdea!;
            const idea = await businessIdeas.getIdea(database.owner, record.key);
            if (idea.id !== record.key) throw new Error(`getIdea(${record.key}) returned idea ${idea.id}`);
            break;
          }
        }
        record.ok = true;
      } catch (error) {
        record.ok = false;
        record.error = error;
        record.errorClass = classify(error);
      } finally {
        record.endedAt = performance.now();
      }
      if (!record.ok && pauseMs > 0) await sleep(pauseMs);
    }
  };

  const running = Array.from({ length: options.writers }, (_, w) => writer(w));
  return {
    records,
    stop: async ({ drainMs }) => {
      stopped = true;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, drainMs);
        }),
      ]);
      clearTimeout(timer);
      return { pending: records.filter((r) => r.endedAt === undefined) };
    },
  };
}

/**
 * Makes one call and records it like a load call, so the same bound and error checks apply. A
 * call still unsettled after `giveUpAfterMs` is returned unsettled (no `endedAt`): the caller then
 * stops, and `pastBound()` reports it, rather than the test hanging until vitest's timeout.
 */
export async function callOnce(
  call: Pick<CallRecord, 'writer' | 'seq' | 'kind' | 'key'>,
  fn: () => Promise<unknown>,
  giveUpAfterMs = Infinity,
): Promise<CallRecord> {
  const record: CallRecord = { ...call, startedAt: performance.now() };
  const settled = fn().then(
    () => {
      record.ok = true;
      record.endedAt = performance.now();
    },
    (error: unknown) => {
      record.ok = false;
      record.error = error;
      record.errorClass = classify(error);
      record.endedAt = performance.now();
    },
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    settled,
    ...(Number.isFinite(giveUpAfterMs) ? [new Promise((resolve) => (timer = setTimeout(resolve, giveUpAfterMs)))] : []),
  ]);
  clearTimeout(timer);
  return record;
}

/** `ConnectionError`, `TimeoutError`, ...; or `raw <constructor> [<code>]` for anything that is not a DataLayerError. */
export function classify(error: unknown): string {
  if (error instanceof DataLayerError) return error.name;
  const name = error instanceof Error ? error.constructor.name : typeof error;
  const code = (error as { code?: unknown } | undefined)?.code;
  return `raw ${name}${typeof code === 'string' ? ` ${code}` : ''}`;
}

/** Errors by class, e.g. `{ ConnectionError: 78, TimeoutError: 3 }`. */
export function errorsByClass(records: readonly CallRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) if (r.errorClass) counts[r.errorClass] = (counts[r.errorClass] ?? 0) + 1;
  return counts;
}

/** The first few untyped errors, as `class: message`, for failure messages. */
export function rawErrorSamples(records: readonly CallRecord[], limit = 5): string[] {
  return records
    .filter((r) => r.errorClass?.startsWith('raw'))
    .slice(0, limit)
    .map((r) => `${r.kind} call: ${r.errorClass}: ${r.error instanceof Error ? r.error.message : String(r.error)}`);
}

/** How each kind of call is bounded (the documented settle time), in ms. */
export interface CallBounds {
  /** A write (checkout + its statements): about connectionTimeoutMs + queryTimeoutMs. */
  writeMs: number;
  /** An idempotent read outside a transaction: a write's bound twice (the library retries it once on a new connection). */
  readMs: number;
  /** Added to every bound: the machine is shared with the rest of the suite and PostgreSQL. */
  slackMs: number;
}

/** The bounds that follow from a pool's settings (see docs: a call settles within connectionTimeoutMs + queryTimeoutMs). */
export function boundsFor(pool: { connectionTimeoutMs: number; queryTimeoutMs: number }, slackMs = 2_000): CallBounds {
  const writeMs = pool.connectionTimeoutMs + pool.queryTimeoutMs;
  return { writeMs, readMs: 2 * writeMs, slackMs };
}

export function boundOf(record: CallRecord, bounds: CallBounds): number {
  return (record.kind === 'read' ? bounds.readMs : bounds.writeMs) + bounds.slackMs;
}

export function durationOf(record: CallRecord, now = performance.now()): number {
  return (record.endedAt ?? now) - record.startedAt;
}

/** Calls (settled or not) that took longer than their bound plus slack. */
export function pastBound(records: readonly CallRecord[], bounds: CallBounds, now = performance.now()): string[] {
  return records
    .filter((r) => durationOf(r, now) > boundOf(r, bounds))
    .map(
      (r) =>
        `${r.kind} call (writer ${r.writer} #${r.seq}) ${r.endedAt === undefined ? 'still unsettled after' : 'took'} ${Math.round(durationOf(r, now))} ms, ` +
        `bound ${boundOf(r, bounds)} ms${r.errorClass ? ` (${r.errorClass}: ${messageOf(r.error)})` : ''}`,
    );
}

/** Errors that are untyped, or of a class not in `allowed`. */
export function unexpectedErrors(records: readonly CallRecord[], allowed: readonly string[]): string[] {
  return records
    .filter((r) => r.errorClass !== undefined && !allowed.includes(r.errorClass))
    .map((r) => `${r.kind} call (writer ${r.writer} #${r.seq}): ${r.errorClass}: ${messageOf(r.error)}`);
}

/** Recovery after a fault ended at `faultEnd`. */
export interface Recovery {
  /** From the fault's end to the first acknowledged call that started after it (undefined: none). */
  firstMs: number | undefined;
  /** From the fault's end until every writer had such a call (undefined: some writer never did). */
  allWritersMs: number | undefined;
  /** Calls started more than `settleMs` after the fault's end (and settled before `until`, when the next fault began) that still failed. */
  lateFailures: CallRecord[];
}

export function recoveryAfter(records: readonly CallRecord[], faultEnd: number, settleMs: number, until = Infinity): Recovery {
  // A call still running when the next fault began may be that fault's victim: it is judged with that one.
  const after = records.filter((r) => r.startedAt >= faultEnd && (until === Infinity || (r.endedAt ?? Infinity) < until));
  const firstByWriter = new Map<number, number>();
  for (const r of after) {
    if (r.ok !== true || r.endedAt === undefined) continue;
    const at = r.endedAt - faultEnd;
    firstByWriter.set(r.writer, Math.min(firstByWriter.get(r.writer) ?? Infinity, at));
  }
  const writers = new Set(records.map((r) => r.writer));
  const firsts = [...firstByWriter.values()];
  return {
    firstMs: firsts.length > 0 ? Math.min(...firsts) : undefined,
    allWritersMs: firstByWriter.size === writers.size && firsts.length > 0 ? Math.max(...firsts) : undefined,
    lateFailures: after.filter((r) => r.ok === false && r.startedAt > faultEnd + settleMs),
  };
}

/** A late failure, for failure messages: when it started after the fault's end, and the error with its causes. */
export function describeLate(records: readonly CallRecord[], faultEnd: number): string[] {
  return records.map((r) => {
    const causes: string[] = [];
    for (
      let e = (r.error as { cause?: unknown } | undefined)?.cause, depth = 0;
      e && depth < 4;
      e = (e as { cause?: unknown }).cause, depth++
    ) {
      const { code } = e as { code?: unknown };
      causes.push(`${messageOf(e)}${typeof code === 'string' ? ` [${code}]` : ''}`);
    }
    return (
      `${r.kind} (writer ${r.writer} #${r.seq}) started ${Math.round(r.startedAt - faultEnd)} ms after the fault ended, ` +
      `failed after ${Math.round(durationOf(r))} ms: ${r.errorClass}: ${messageOf(r.error)}${causes.length ? ` (cause: ${causes.join(' <- ')})` : ''}`
    );
  });
}

/** What `verifyLoad()` found. */
export interface Verification {
  /** Write calls made. */
  attempted: number;
  /** Write calls acknowledged (resolved). */
  acknowledged: number;
  /** Acknowledged writes found in the database afterwards. */
  found: number;
  /** Writes that failed (outcome unknown to the caller) yet were applied: allowed, counted for the record. */
  appliedUnacknowledged: number;
  /** Every broken invariant, one line each; empty when all hold. */
  violations: string[];
}

interface IdeaRow {
  id: string;
  title: string;
  status: string;
  evaluations: number;
  audited: number;
}

interface EvaluationRow {
  id: string;
  status: string;
  claimed_by: string | null;
  title: string;
  idea_status: string;
  agent_types: string[];
}

/**
 * Reads back everything the load wrote (rows whose idea title starts with `tag`) as the owner and
 * checks: every acknowledged write is present; every bundle is whole (1 evaluation with exactly
 * the 3 base runs, or the 5 runs once its extra runs were added) and every plain idea has no
 * evaluation; each evaluation's status matches its idea's (pending/submitted,
 * analyzing/evaluating, completed/completed); each idea has its audit row.
 */
export async function verifyLoad(cluster: Cluster, database: string, records: readonly CallRecord[], tag: string): Promise<Verification> {
  const like = `${tag.replaceAll('\\', '\\\\').replaceAll('%', '\\%').replaceAll('_', '\\_')}:%`;
  const ideas = await cluster.query<IdeaRow>(
    `SELECT i.id, i.title, i.status::text AS status,
            (SELECT count(*)::int FROM evaluations e WHERE e.business_idea_id = i.id) AS evaluations,
            (SELECT count(*)::int FROM audit_log a WHERE a.table_name = 'business_ideas' AND a.row_id = i.id AND a.operation = 'insert') AS audited
       FROM business_ideas i WHERE i.title LIKE $1`,
    [like],
    database,
  );
  const evaluationRows = await cluster.query<EvaluationRow>(
    `SELECT e.id, e.status::text AS status, e.claimed_by, i.title, i.status::text AS idea_status,
            COALESCE(array_agg(r.agent_type::text ORDER BY r.agent_type) FILTER (WHERE r.id IS NOT NULL), '{}') AS agent_types
       FROM evaluations e JOIN business_ideas i ON i.id = e.business_idea_id
       LEFT JOIN agent_results r ON r.evaluation_id = e.id
      WHERE i.title LIKE $1
      GROUP BY e.id, i.title, i.status`,
    [like],
    database,
  );
  const ideaByTitle = new Map<string, IdeaRow[]>();
  for (const idea of ideas) ideaByTitle.set(idea.title, [...(ideaByTitle.get(idea.title) ?? []), idea]);
  const evaluationById = new Map(evaluationRows.map((e) => [e.id, e]));
  const violations: string[] = [];
  const base = [...BASE_AGENTS].sort().join(',');
  const full = [...BASE_AGENTS, ...EXTRA_AGENTS].sort().join(',');

  // The rows themselves: nothing half-applied, whoever wrote them.
  for (const idea of ideas) {
    if (idea.audited !== 1) violations.push(`idea ${idea.title} has ${idea.audited} insert audit rows (1 expected, same transaction)`);
    const isBundle = idea.title.includes(':bundle:');
    if (isBundle && idea.evaluations !== 1) violations.push(`bundle ${idea.title} is half-applied: ${idea.evaluations} evaluations`);
    if (!isBundle && idea.evaluations !== 0) violations.push(`plain idea ${idea.title} has ${idea.evaluations} evaluations`);
  }
  for (const [title, rows] of ideaByTitle) if (rows.length > 1) violations.push(`${title} was written ${rows.length} times`);
  for (const e of evaluationRows) {
    const types = e.agent_types.join(',');
    if (types !== base && types !== full) violations.push(`evaluation ${e.id} (${e.title}) has agent runs [${types}]: half-applied`);
    const expectedIdea = { pending: 'submitted', analyzing: 'evaluating', completed: 'completed' }[e.status];
    if (expectedIdea !== e.idea_status) violations.push(`evaluation ${e.id} is ${e.status} but its idea is ${e.idea_status}`);
  }

  // The ledger: every acknowledged write present.
  const writes = records.filter((r) => (WRITE_KINDS as readonly string[]).includes(r.kind));
  let acknowledged = 0;
  let found = 0;
  let appliedUnacknowledged = 0;
  for (const r of writes) {
    let present: boolean;
    switch (r.kind) {
      case 'idea':
      case 'bundle':
        present = ideaByTitle.has(r.key);
        break;
      case 'runs':
        present = evaluationById.get(r.key)?.agent_types.join(',') === full;
        break;
      case 'claim': {
        const e = evaluationById.get(r.key);
        present = e !== undefined && e.status !== 'pending' && e.claimed_by === `${tag}-w${r.writer}`;
        break;
      }
      default:
        present = evaluationById.get(r.key)?.status === 'completed';
    }
    if (r.ok === true) {
      acknowledged++;
      if (present) found++;
      else violations.push(`acknowledged ${r.kind} write (writer ${r.writer} #${r.seq}, ${r.key}) is missing`);
    } else if (present && r.key !== '') {
      appliedUnacknowledged++;
    }
  }
  return { attempted: writes.length, acknowledged, found, appliedUnacknowledged, violations };
}

/** Creates `count` users on `database` (superuser, direct) and returns their ids. */
export async function createUsers(cluster: Cluster, database: string, tag: string, count: number): Promise<string[]> {
  const rows = await cluster.query<{ id: string }>(
    `INSERT INTO users (email, password_hash, name)
     SELECT $1 || '-' || n || '@example.test', 'scrypt$16384$8$1$fault-suite-not-a-hash', 'Fault Writer ' || n
       FROM generate_series(1, $2::int) AS n RETURNING id`,
    [tag.toLowerCase().replace(/[^a-z0-9]+/g, '-'), count],
    database,
  );
  return rows.map((r) => r.id);
}

/** Waits until no backend of `applicationName` is left (so nothing can still commit), at most `timeoutMs`; returns how many are left. */
export async function waitForBackendsGone(cluster: Cluster, applicationName: string, timeoutMs = 15_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const [row] = await cluster.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]);
    if (row!.n === 0 || performance.now() > deadline) return row!.n;
    await sleep(50);
  }
}

/** One line of figures for the closing note. */
export function summaryLine(
  name: string,
  figures: {
    verification: Verification;
    records: readonly CallRecord[];
    recovery?: Recovery;
    extra?: Record<string, string | number>;
  },
): string {
  const { verification: v, records, recovery } = figures;
  const max = Math.round(Math.max(0, ...records.map((r) => durationOf(r))));
  const reads = records.filter((r) => r.kind === 'read');
  const parts = [
    `attempted ${v.attempted}`,
    `acknowledged ${v.acknowledged}`,
    `found ${v.found}`,
    `applied-unacknowledged ${v.appliedUnacknowledged}`,
    `reads ${reads.filter((r) => r.ok).length}/${reads.length}`,
    `errors ${JSON.stringify(errorsByClass(records))}`,
    `max duration ${max} ms`,
    ...(recovery ? [`recovery ${fmt(recovery.firstMs)} ms (all writers ${fmt(recovery.allWritersMs)} ms)`] : []),
    ...Object.entries(figures.extra ?? {}).map(([k, value]) => `${k} ${value}`),
    `violations ${v.violations.length}`,
  ];
  return `[faults] ${name}: ${parts.join(' / ')}`;
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? 'never' : String(Math.round(ms));
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `FAULTS_LONG=1`: longer phases (minutes instead of seconds). */
export const LONG = ['1', 'true', 'yes'].includes((process.env.FAULTS_LONG ?? '').toLowerCase());

/**
 * The pool settings of a fault test. `queryTimeoutMs` (DATABASE_QUERY_TIMEOUT_MS) is the
 * client-side backstop of every query, after which its connection is destroyed.
 */
export interface FaultPoolSettings extends Partial<PoolSettings> {
  max: number;
  connectionTimeoutMs: number;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  applicationName: string;
}

/** What the library logged (warn and error), for the figures and for failure messages. */
export interface RecordingLogger extends Logger {
  readonly entries: { level: string; msg: string; code?: string }[];
}

export function recordingLogger(): RecordingLogger {
  const entries: { level: string; msg: string; code?: string }[] = [];
  const push = (level: string) => (obj: object, msg?: string) => {
    if (entries.length < 10_000) entries.push({ level, msg: msg ?? '', code: (obj as { code?: string }).code });
  };
  return { entries, error: push('error'), warn: push('warn'), info: () => undefined, debug: () => undefined };
}

/** A `createDatabase()` handle for a fault test: configuration from `url` and `pool` only, never the environment. */
export function openFaultDatabase(url: string, pool: FaultPoolSettings, logger: Logger): Database {
  return createDatabase({ connectionString: url, env: {}, pool, logger });
}

/** A unique name part (lowercase letters and digits). */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
