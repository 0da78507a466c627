/**
 * `createWorker()`: the evaluation queue's worker loop. It claims runs as soon as they are queued
 * (LISTEN/NOTIFY on a dedicated connection, listener.ts), runs up to `concurrency` handlers at a
 * time, renews each run's lease while its handler works, completes the run with the handler's
 * results or fails it with its error, and gives its runs back on `stop()`. Without the listening
 * connection it polls; a timer wakes it when the soonest lease of another worker runs out, so a
 * dead worker's run is taken over as soon as it may be.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { parseConnectionUrl } from '../config.js';
import { withCredentials } from '../connection.js';
import { ConfigError, ValidationError, WorkerStoppedError } from '../errors.js';
import type { Logger } from '../logger.js';
import { directSessionOf, type Database } from '../db/database.js';
import { sessionOptions } from '../db/pool.js';
import type { Executor } from '../repositories/executor.js';
import {
  claimNext,
  completeEvaluation,
  failEvaluation,
  nextClaimableIn,
  releaseLease,
  renewLease,
  type CompleteEvaluationInput,
  type Evaluation,
} from '../repositories/evaluations.js';
import { charLength, hasLoneSurrogate, parseInput } from '../validation/common.js';
import { DEFAULT_LEASE_SECONDS, leaseSeconds, workerId as workerIdSchema } from '../validation/evaluations.js';
import { leaseLost, leaseOf, type Lease } from './lease.js';
import { listenRefusal, startListener, type Listener } from './listener.js';

/** What a handler gets besides the evaluation. */
export interface WorkerContext {
  /**
   * Aborted when the run stops being this handler's: a renewal or write was refused because
   * another worker holds the run or it ended (`signal.reason` is that error), or `stop()` ran out
   * of its grace period (`signal.reason` is a `WorkerStoppedError`). Pass it to whatever can be
   * cancelled (`fetch`, an LLM client); what the handler returns afterwards is not written.
   */
  signal: AbortSignal;
  /** The claim: spread `lease.token` into every write made for the run (agent runs included). */
  lease: Lease;
  /** The worker's id (`claimed_by`). */
  workerId: string;
}

/** Runs one claimed evaluation and returns its aggregated results; throwing fails the run with the error's message. */
export type WorkerHandler = (evaluation: Evaluation, context: WorkerContext) => Promise<CompleteEvaluationInput['results']>;

/** What happened in the worker, for logs and metrics (`onEvent`). */
export type WorkerEvent =
  | { type: 'listening'; pid: number }
  | { type: 'listenerLost'; error: Error; retryInMs: number }
  | { type: 'claimed'; evaluation: Evaluation }
  | { type: 'renewed'; evaluationId: string }
  | { type: 'completed'; evaluationId: string; durationMs: number }
  | { type: 'failed'; evaluationId: string; errorMessage: string; durationMs: number }
  | { type: 'released'; evaluationId: string }
  | { type: 'leaseLost'; evaluationId: string; error: Error }
  | { type: 'error'; during: 'claim' | 'renew' | 'complete' | 'fail' | 'release' | 'wake'; error: Error; evaluationId?: string }
  | { type: 'stopped' };

/** Options for `createWorker()`. */
export interface CreateWorkerOptions {
  /** A handle from `createDatabase()` with the worker path (role `worker` or `owner`). */
  database: Database<'worker'> | Database<'owner'>;
  /** Runs one evaluation; see `WorkerHandler`. */
  handler: WorkerHandler;
  /** The id written to `claimed_by` (1 to 200 characters). Default: `<hostname>-<pid>-<random>`. */
  workerId?: string;
  /** How many handlers may run at once (1 to 1000). Default 1. */
  concurrency?: number;
  /** Each claim's lease, renewed every third of it while the handler runs (1 to 86400 s). Default 60. */
  leaseSeconds?: number;
  /**
   * How long an idle worker waits before asking again although no notification came (100 ms to
   * 1 h). Default 30 s. A lease running out wakes it sooner.
   */
  pollIntervalMs?: number;
  /** The poll interval while the listening connection is down (100 ms to 1 h). Default 1 s. */
  fallbackPollIntervalMs?: number;
  /**
   * LISTEN for new work (default true). `{ connectionString }` listens through another URL than the
   * pool's, e.g. the server itself when the pool goes through PgBouncer in transaction mode (which
   * cannot carry LISTEN); without a password in it, the handle's credentials are used. `false`
   * only polls.
   */
  listen?: boolean | { connectionString: string };
  /** How long `stop()` (and `signal`) waits for running handlers before aborting them (0 to 1 h). Default 10 s. */
  stopGraceMs?: number;
  /** Aborting it stops the worker, as `stop()` does. */
  signal?: AbortSignal;
  /** Receives every `WorkerEvent` (exceptions it throws are logged and ignored). */
  onEvent?: (event: WorkerEvent) => void;
  /** Where failures are logged (warn) besides `onEvent`. Default: the database handle's logger. */
  logger?: Logger;
}

/** The figures of a worker since it started. */
export interface WorkerStats {
  /** Handlers running now. */
  inFlight: number;
  claimed: number;
  completed: number;
  failed: number;
  /** Runs given back to the queue by `stop()`. */
  released: number;
  /** Runs whose lease was lost (another worker took them over, or they ended elsewhere). */
  leaseLost: number;
  /** Failed queue calls (claims, renewals, writes), retried or given up. */
  errors: number;
  /** Whether the LISTEN connection is up. */
  listening: boolean;
}

/** A running worker. */
export interface Worker {
  readonly workerId: string;
  /** Resolves once the worker listens (or knows it cannot yet, and polls) and has looked for work once. */
  readonly ready: Promise<void>;
  /** Resolves once the worker has stopped (by `stop()` or `signal`). */
  readonly stopped: Promise<void>;
  /**
   * Stops claiming, waits up to `graceMs` (default `stopGraceMs`) for running handlers to finish
   * and writes their outcome, then aborts the rest and releases their runs to the queue (pending
   * again, claimable at once by another worker). Safe to call more than once.
   */
  stop(options?: { graceMs?: number } | null): Promise<void>;
  stats(): WorkerStats;
}

const milliseconds = (min: number, max: number) =>
  z
    .number({ error: 'must be a number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(min, { error: `must be at least ${min} ms` })
    .max(max, { error: `must be at most ${max} ms` });

const optionsSchema = z.object({
  workerId: workerIdSchema.optional(),
  concurrency: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(1000, { error: 'must be at most 1000' })
    .default(1),
  leaseSeconds: leaseSeconds.default(Math.min(60, DEFAULT_LEASE_SECONDS)),
  pollIntervalMs: milliseconds(100, 3_600_000).default(30_000),
  fallbackPollIntervalMs: milliseconds(100, 3_600_000).default(1_000),
  stopGraceMs: milliseconds(0, 3_600_000).default(10_000),
  handler: z.custom<WorkerHandler>((value) => typeof value === 'function', { error: 'must be a function' }),
  listen: z
    .union([z.boolean(), z.strictObject({ connectionString: z.string({ error: 'must be a postgres:// URL' }).min(1) })], {
      error: 'must be true, false or { connectionString }',
    })
    .default(true),
});

/** The delays between retries of a run's final write (complete or fail) whose outcome is unknown. */
const FINAL_WRITE_RETRY_MS = [250, 1_000];
/** Slack after a lease's end before claiming it: the claim compares with the server's statement time. */
const EXPIRY_SLACK_MS = 20;

/**
 * Starts a worker loop over the evaluation queue.
 *
 * Delivery is at least once: a run whose worker died (or lost its lease) is run again by another
 * worker once its lease ends, so a handler must tolerate a run that was partly done before. The
 * listening connection is a direct one and cannot go through a transaction pooler (see `listen`).
 * For SIGTERM, abort `signal` (or call `stop()`) from your own handler; the worker does not exit
 * the process.
 *
 * @throws ValidationError when an option is out of range (every failing field is named).
 * @throws ConfigError when `database` was not made by `createDatabase()`.
 * @example
 * ```ts
 * const database = createDatabase({ role: 'worker' });
 * const shutdown = new AbortController();
 * process.once('SIGTERM', () => shutdown.abort());
 * const worker = createWorker({
 *   database,
 *   concurrency: 8,
 *   signal: shutdown.signal,
 *   handler: async (evaluation, { signal, lease }) => runAgents(evaluation, { signal, lease }),
 * });
 * await worker.stopped;
 * await database.close();
 * ```
 */
export function createWorker(options: CreateWorkerOptions): Worker {
  const { database, onEvent, signal } = options;
  const session = directSessionOf(database ?? {});
  if (!session) {
    throw new ConfigError([{ variable: 'database', message: 'must be a handle made by createDatabase() (with the worker path)' }]);
  }
  if (!('worker' in database)) {
    throw new ConfigError([
      { variable: 'database', message: "has no worker path: make it with createDatabase({ role: 'worker' }) (or the owner role)" },
    ]);
  }
  const parsed = parseInput(optionsSchema, options, 'worker options');
  const unlistenable = listenRefusal(session.pool, parsed.listen);
  if (unlistenable) throw new ConfigError([{ variable: 'listen', message: unlistenable }]);
  const { concurrency, handler, stopGraceMs } = parsed;
  const workerId = parsed.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const leaseFor = parsed.leaseSeconds;
  const renewEveryMs = Math.max(250, Math.floor((leaseFor * 1000) / 3));
  const logger = options.logger ?? session.logger;
  const db: Executor<'worker'> = database.worker;

  interface Job {
    lease: Lease;
    controller: AbortController;
    renewal: NodeJS.Timeout;
    renewing: boolean;
    /** No more writes for this run: its lease was lost, or stop() released it. */
    ended: boolean;
    /** The handler has returned and its outcome is being written. */
    writing: boolean;
    done: Promise<void>;
  }
  const jobs = new Map<string, Job>();
  const counts = { claimed: 0, completed: 0, failed: 0, released: 0, leaseLost: 0, errors: 0 };
  let state: 'running' | 'stopping' | 'stopped' = 'running';
  let pumping = false;
  let wakeAgain = false;
  let idleTimer: NodeJS.Timeout | undefined;
  let claimFailures = 0;

  const emit = (event: WorkerEvent): void => {
    if (event.type === 'error' || event.type === 'listenerLost') {
      counts.errors += event.type === 'error' ? 1 : 0;
      logger.warn(
        { err: event.error, workerId, ...('during' in event ? { during: event.during } : {}) },
        `queue worker: ${describe(event)}`,
      );
    }
    if (!onEvent) return;
    try {
      onEvent(event);
    } catch (error) {
      logger.warn({ err: error, workerId }, 'queue worker: onEvent threw; ignored');
    }
  };

  // Looking for work -------------------------------------------------------------------------

  /** Claims until the queue is empty or every slot is busy; one pass at a time. */
  const wake = (): void => {
    if (state !== 'running') return;
    if (pumping) {
      wakeAgain = true;
      return;
    }
    pumping = true;
    pass = pump();
  };

  let pass: Promise<void> = Promise.resolve();
  const pump = async (): Promise<void> => {
    pumping = true;
    clearTimeout(idleTimer);
    try {
      do {
        wakeAgain = false;
        while (state === 'running' && jobs.size < concurrency) {
          let evaluation: Evaluation | null;
          try {
            evaluation = await claimNext(db, workerId, { leaseSeconds: leaseFor });
            claimFailures = 0;
          } catch (error) {
            emit({ type: 'error', during: 'claim', error: asError(error) });
            // Backing off from a failing server: 100 ms, doubled per failure, up to the fallback poll.
            sleepThenWake(Math.min(parsed.fallbackPollIntervalMs, 100 * 2 ** claimFailures++));
            return;
          }
          if (!evaluation) break;
          if (state !== 'running') {
            // stop() began during the claim: the run goes straight back.
            await releaseLease(db, evaluation.id, leaseOf(evaluation, workerId).token).catch((error: unknown) =>
              emit({ type: 'error', during: 'release', error: asError(error), evaluationId: evaluation.id }),
            );
            return;
          }
          start(evaluation);
        }
      } while (wakeAgain && state === 'running' && jobs.size < concurrency);
      if (state === 'running' && jobs.size < concurrency) await sleepUntilWork();
    } finally {
      pumping = false;
    }
    if (wakeAgain) wake();
  };

  /** Idle: until a notification, the next lease to run out, or the poll interval. */
  const sleepUntilWork = async (): Promise<void> => {
    const poll = listener?.listening === false ? parsed.fallbackPollIntervalMs : parsed.pollIntervalMs;
    let delay = poll;
    try {
      const inMs = await nextClaimableIn(db);
      if (inMs !== null) delay = Math.min(poll, inMs + EXPIRY_SLACK_MS);
    } catch (error) {
      emit({ type: 'error', during: 'wake', error: asError(error) });
      delay = Math.min(poll, parsed.fallbackPollIntervalMs);
    }
    sleepThenWake(delay);
  };

  const sleepThenWake = (delayMs: number): void => {
    clearTimeout(idleTimer);
    if (state !== 'running') return;
    idleTimer = setTimeout(wake, delayMs);
  };

  // Running a claimed run ---------------------------------------------------------------------

  const start = (evaluation: Evaluation): void => {
    counts.claimed++;
    const lease = leaseOf(evaluation, workerId);
    const job: Job = {
      lease,
      controller: new AbortController(),
      renewal: setInterval(() => void renew(job), renewEveryMs),
      renewing: false,
      ended: false,
      writing: false,
      done: Promise.resolve(),
    };
    jobs.set(lease.id, job);
    emit({ type: 'claimed', evaluation });
    job.done = run(job, evaluation).finally(() => {
      clearInterval(job.renewal);
      jobs.delete(lease.id);
      wake();
    });
  };

  const run = async (job: Job, evaluation: Evaluation): Promise<void> => {
    const started = performance.now();
    let outcome: { ok: true; results: CompleteEvaluationInput['results'] } | { ok: false; errorMessage: string };
    try {
      const results = await handler(evaluation, { signal: job.controller.signal, lease: job.lease, workerId });
      outcome = { ok: true, results };
    } catch (error) {
      outcome = { ok: false, errorMessage: errorMessageOf(error) };
    }
    job.writing = true;
    for (let attempt = 0; !job.ended; attempt++) {
      const during = outcome.ok ? 'complete' : 'fail';
      try {
        if (outcome.ok) {
          await completeEvaluation(db, job.lease.id, { ...job.lease.token, results: outcome.results });
          counts.completed++;
          emit({ type: 'completed', evaluationId: job.lease.id, durationMs: performance.now() - started });
        } else {
          await failEvaluation(db, job.lease.id, { ...job.lease.token, errorMessage: outcome.errorMessage });
          counts.failed++;
          emit({ type: 'failed', evaluationId: job.lease.id, errorMessage: outcome.errorMessage, durationMs: performance.now() - started });
        }
        return;
      } catch (error) {
        if (leaseLost(error)) return lose(job, asError(error));
        if (error instanceof ValidationError && outcome.ok) {
          // Results the schema refuses are the handler's failure: the run fails rather than stays stuck.
          outcome = { ok: false, errorMessage: errorMessageOf(error, "the handler's results were refused: ") };
          continue;
        }
        emit({ type: 'error', during, error: asError(error), evaluationId: job.lease.id });
        const delay = FINAL_WRITE_RETRY_MS[attempt];
        // Given up: the lease runs out and another worker runs the evaluation again.
        if (delay === undefined) return;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  const renew = async (job: Job): Promise<void> => {
    if (job.renewing || job.ended) return;
    job.renewing = true;
    try {
      await renewLease(db, job.lease.id, { ...job.lease.token, leaseSeconds: leaseFor });
      emit({ type: 'renewed', evaluationId: job.lease.id });
    } catch (error) {
      if (job.ended) return;
      if (leaseLost(error)) lose(job, asError(error));
      // A failed round trip: the lease still runs; the next renewal tries again.
      else emit({ type: 'error', during: 'renew', error: asError(error), evaluationId: job.lease.id });
    } finally {
      job.renewing = false;
    }
  };

  /** The run is no longer this worker's: its handler is aborted and nothing more is written for it. */
  const lose = (job: Job, error: Error): void => {
    if (job.ended) return;
    job.ended = true;
    clearInterval(job.renewal);
    counts.leaseLost++;
    job.controller.abort(error);
    emit({ type: 'leaseLost', evaluationId: job.lease.id, error });
  };

  // Listening ---------------------------------------------------------------------------------

  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let listenerSettled = parsed.listen === false;
  let firstLookDone = false;
  const settleReady = (): void => {
    if (listenerSettled && firstLookDone) markReady();
  };

  const listener: Listener | undefined =
    parsed.listen === false
      ? undefined
      : startListener({
          clientConfig: listenerConfig(session, parsed.listen),
          onNotification: wake,
          onListening: (pid) => {
            emit({ type: 'listening', pid });
            listenerSettled = true;
            settleReady();
            // Work queued while the connection was down sent its notification to nobody.
            wake();
          },
          onLost: (error, retryInMs) => {
            emit({ type: 'listenerLost', error, retryInMs });
            listenerSettled = true;
            settleReady();
            // Polling at the fallback interval from now on, until listening again.
            if (!pumping) sleepThenWake(Math.min(parsed.fallbackPollIntervalMs, retryInMs));
          },
        });

  pumping = true;
  pass = pump();
  void pass.finally(() => {
    firstLookDone = true;
    settleReady();
  });

  // Stopping ----------------------------------------------------------------------------------

  let markStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  let stopping: Promise<void> | undefined;

  const stop = (stopOptions?: { graceMs?: number } | null): Promise<void> => {
    const graceMs =
      stopOptions?.graceMs === undefined
        ? stopGraceMs
        : parseInput(z.strictObject({ graceMs: milliseconds(0, 3_600_000) }), stopOptions, 'worker stop options').graceMs;
    stopping ??= (async () => {
      state = 'stopping';
      clearTimeout(idleTimer);
      signal?.removeEventListener('abort', onAbort);
      const closing = listener?.close();
      // A claim under way finishes first (a run it gets is released at once).
      await pass;
      const running = [...jobs.values()];
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running.map((job) => job.done)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      // Past the grace period: abort what still runs and give its runs back. An outcome already
      // being written is let finish (its retries are bounded): a release would race it.
      await Promise.all(
        [...jobs.values()]
          .filter((job) => !job.ended)
          .map(async (job) => {
            if (job.writing) return job.done;
            job.ended = true;
            clearInterval(job.renewal);
            job.controller.abort(new WorkerStoppedError());
            try {
              await releaseLease(db, job.lease.id, job.lease.token);
              counts.released++;
              emit({ type: 'released', evaluationId: job.lease.id });
            } catch (error) {
              // Lost already, or unreachable: either way the lease runs out by itself.
              if (leaseLost(error)) counts.leaseLost++;
              else emit({ type: 'error', during: 'release', error: asError(error), evaluationId: job.lease.id });
            }
          }),
      );
      await closing;
      state = 'stopped';
      emit({ type: 'stopped' });
      markStopped();
    })();
    return stopping;
  };

  const onAbort = (): void => void stop();
  if (signal?.aborted) void stop();
  else signal?.addEventListener('abort', onAbort, { once: true });

  return {
    workerId,
    ready,
    stopped,
    stop,
    stats: () => ({ inFlight: jobs.size, ...counts, listening: listener?.listening ?? false }),
  };
}

// -----------------------------------------------------------------------------------------------

/** The listening connection's client settings: the handle's session, or the `listen` URL with the handle's credentials. */
function listenerConfig(
  session: NonNullable<ReturnType<typeof directSessionOf>>,
  listen: true | { connectionString: string },
): ReturnType<typeof sessionOptions> {
  let connection = session.connection;
  if (listen !== true) {
    const given = parseConnectionUrl(listen.connectionString, 'listen.connectionString');
    connection =
      given.password !== undefined
        ? given
        : withCredentials(given, { password: session.connection.password, passwordProvider: session.connection.passwordProvider })
            .connection;
  }
  const options = sessionOptions(connection, session.pool);
  // Named apart from the pool's sessions in pg_stat_activity (63 bytes at most, as PostgreSQL keeps).
  return { ...options, application_name: `${session.pool.applicationName.slice(0, 54)} listener` };
}

/** An error message failEvaluation accepts (1 to 10,000 characters of well-formed text, no NUL). */
function errorMessageOf(error: unknown, prefix = ''): string {
  const raw = error instanceof Error ? error.message || error.name : typeof error === 'string' ? error : '';
  let message = `${prefix}${raw}`.replaceAll('\u0000', '').trim();
  if (hasLoneSurrogate(message))
    message = message.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  if (message === '') message = `${prefix}the handler failed without a message`.trim();
  return charLength(message) <= 10_000 ? message : `${[...message].slice(0, 9_990).join('')} [cut]`;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function describe(event: WorkerEvent): string {
  switch (event.type) {
    case 'listenerLost':
      return `the listening connection was lost; polling, reconnecting in ${event.retryInMs} ms`;
    case 'error':
      return `${event.during} failed${event.evaluationId ? ` for evaluation ${event.evaluationId}` : ''}`;
    default:
      return event.type;
  }
}
