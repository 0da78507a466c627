/**
 * Runs a seed set against a database: one run at a time (a session advisory lock), at most once
 * per set + version + scale (seed_history), with a clear refusal when the recorded version cannot
 * be brought forward, then the validation checks.
 */
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { DB } from '../src/schema/generated.js';
import { ACTOR_SETTING } from '../src/db/transaction.js';
import { SeedError } from './errors.js';
import { silentLogger, type Logger } from '../src/logger.js';
import { runChecks, type CheckReport } from './checks.js';
import { silentProgress } from './progress.js';
import { createRandom } from './random.js';
import { poolerRefusal, transactionPoolerEvidence } from '../src/migrate/pooler.js';
import type { Progress, SeedRunResult, SeedSet } from './types.js';

/** The advisory lock every seed run holds (one key for all sets: they write the same tables). */
export const SEED_LOCK_KEY = 'ai-validation:seeds';

/** Options for `runSeedSet()`. */
export interface RunSeedOptions {
  /** Default 1; sets with `scalable: false` accept only 1. */
  scale?: number;
  /** Run even when this set + version + scale is recorded, or when the recorded version would be refused. */
  force?: boolean;
  logger?: Logger;
  progress?: Progress;
  signal?: AbortSignal;
  /** Run the validation checks afterwards (default true). */
  checks?: boolean;
}

/** What `runSeedSet()` did. */
export interface SeedOutcome {
  set: string;
  version: number;
  scale: number;
  /** applied: first load; upgraded: brought an older recorded version forward; skipped: already recorded; forced: re-run with --force. */
  status: 'applied' | 'upgraded' | 'skipped' | 'forced';
  /** The highest version recorded before this run, if any. */
  previousVersion?: number;
  /** Rows written per table (empty when skipped). */
  rows: Record<string, number>;
  checksum?: string;
  durationMs: number;
  /** Present unless `checks: false`. */
  checks?: CheckReport;
  /** A sentence for humans. */
  message: string;
}

/** The parts of a `Database` the runner needs. */
export interface SeedTarget {
  db: Kysely<DB>;
  pool: pg.Pool;
}

/** The seed lock is a session advisory lock too: refused through a transaction pooler (src/migrate/pooler.ts). */
async function refusePooler(pool: pg.Pool, lockClient: pg.PoolClient): Promise<void> {
  const probe = await pool.connect();
  try {
    const evidence = await transactionPoolerEvidence(lockClient, probe);
    if (evidence) throw new SeedError('SEED_POOLER_REFUSED', poolerRefusal('seed', evidence));
  } finally {
    probe.release();
  }
}

/**
 * Runs `set` unless it is already recorded. Needs two pool connections (one holds the lock).
 * Throws SeedError (SEED_VERSION_REFUSED, SEED_SCHEMA_MISSING, SEED_SCALE_INVALID, SEED_POOLER_REFUSED) when it refuses.
 *
 * @example
 * ```ts
 * const database = createDatabase({ pool: { max: 4 } });
 * const outcome = await runSeedSet(database, await getSeedSet('dev'));
 * console.log(outcome.message);
 * ```
 */
export async function runSeedSet(target: SeedTarget, set: SeedSet, options: RunSeedOptions = {}): Promise<SeedOutcome> {
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale) || scale <= 0) throw new SeedError('SEED_SCALE_INVALID', `--scale must be a positive number (got ${scale})`);
  if (!set.scalable && scale !== 1)
    throw new SeedError('SEED_SCALE_INVALID', `the "${set.name}" set does not scale; drop --scale (got ${scale})`);
  const logger = options.logger ?? silentLogger;
  const started = Date.now();

  await assertSchema(target.db);
  const lockClient = await target.pool.connect();
  let locked = false;
  try {
    await refusePooler(target.pool, lockClient);
    const tried = await lockClient.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [SEED_LOCK_KEY]);
    if (!tried.rows[0]?.ok) {
      logger.info({ set: set.name }, 'another seed run holds the lock; waiting for it to finish');
      await lockClient.query('SELECT pg_advisory_lock(hashtext($1))', [SEED_LOCK_KEY]);
    }
    locked = true;

    const recorded = await target.db
      .selectFrom('seedHistory')
      .select(['version', 'scale'])
      .where('setName', '=', set.name)
      .orderBy('version', 'desc')
      .orderBy('appliedAt', 'desc')
      .execute();
    const previousVersion = recorded[0]?.version;
    const same = recorded.find((r) => r.version === set.version && Number(r.scale) === scale);
    const base = { set: set.name, version: set.version, scale, ...(previousVersion !== undefined ? { previousVersion } : {}) };

    let status: SeedOutcome['status'] = previousVersion === undefined ? 'applied' : 'upgraded';
    if (same && !options.force) {
      return finish(target, set, options, {
        ...base,
        status: 'skipped',
        rows: {},
        durationMs: Date.now() - started,
        message: `Already loaded: nothing to do (seed set "${set.name}" v${set.version}${scaleText(set, scale)} is recorded in seed_history; --force runs it again)`,
      });
    }
    if (options.force && recorded.length > 0) {
      status = 'forced';
    } else if (previousVersion !== undefined) {
      const refusal = refusalFor(set, scale, previousVersion, recorded);
      if (refusal) throw new SeedError('SEED_VERSION_REFUSED', refusal);
    }

    const context = {
      pool: target.pool,
      scale,
      random: createRandom(set.seed),
      logger,
      progress: options.progress ?? silentProgress,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    let result: SeedRunResult;
    try {
      if (set.transactional) {
        result = await target.db.transaction().execute(async (trx) => {
          await sql`SELECT set_config(${ACTOR_SETTING}, ${`seed:${set.name}`}, true)`.execute(trx);
          const r = await set.run({ ...context, db: trx });
          await record(trx, set, scale, r, Date.now() - started);
          return r;
        });
      } else {
        result = await set.run({ ...context, db: target.db });
        await record(target.db, set, scale, result, Date.now() - started);
      }
    } catch (error) {
      throw (await dataConflict(target.db, set, error)) ?? error;
    }
    const verb = status === 'upgraded' ? `upgraded from v${previousVersion} to` : status === 'forced' ? 're-ran' : 'loaded';
    return finish(target, set, options, {
      ...base,
      status,
      rows: result.rows,
      ...(result.checksum ? { checksum: result.checksum } : {}),
      durationMs: Date.now() - started,
      message: `Seed set "${set.name}" ${verb} v${set.version}${scaleText(set, scale)}: ${formatRows(result.rows)}`,
    });
  } finally {
    if (locked) await lockClient.query('SELECT pg_advisory_unlock(hashtext($1))', [SEED_LOCK_KEY]).catch(() => undefined);
    lockClient.release();
  }
}

function refusalFor(
  set: SeedSet,
  scale: number,
  previousVersion: number,
  recorded: { version: number; scale: number }[],
): string | undefined {
  if (previousVersion > set.version) {
    return (
      `seed set "${set.name}": the database has v${previousVersion}, newer than this code's v${set.version}; ` +
      `update the code, or empty the database (npm run db:clean) and seed again`
    );
  }
  if (previousVersion === set.version) {
    const scales = recorded.filter((r) => r.version === set.version).map((r) => Number(r.scale));
    return (
      `seed set "${set.name}" v${set.version} is loaded at scale ${scales.join(', ')}, not ${scale}; ` +
      `empty the database first (npm run db:clean), or pass --force to add to it`
    );
  }
  if (set.onOlderVersion === 'refuse') {
    return (
      `seed set "${set.name}": the database has v${previousVersion} and this code has v${set.version}, ` +
      `which cannot be applied on top of it; empty the database (npm run db:clean) and seed again, or pass --force`
    );
  }
  return undefined;
}

async function finish(target: SeedTarget, set: SeedSet, options: RunSeedOptions, outcome: SeedOutcome): Promise<SeedOutcome> {
  if (options.checks === false) return outcome;
  const checks = await runChecks(target.db, set.checks ?? {});
  return { ...outcome, checks };
}

async function record(db: Kysely<DB>, set: SeedSet, scale: number, result: SeedRunResult, durationMs: number): Promise<void> {
  const rowCounts = JSON.stringify(result.rows);
  await db
    .insertInto('seedHistory')
    .values({ setName: set.name, version: set.version, scale, durationMs, rowCounts, checksum: result.checksum ?? null })
    .onConflict((oc) =>
      oc
        .columns(['setName', 'version', 'scale'])
        .doUpdateSet({ appliedAt: sql`now()`, durationMs, rowCounts, checksum: result.checksum ?? null }),
    )
    .execute();
}

/**
 * A seed write refused by a constraint (SQLSTATE class 23): a SeedError (SEED_DATA_CONFLICT) that
 * names the table, the constraint and, for a unique key, the existing row in the way, and says
 * whether that row is the set's own or other data (adopted, or the application's). Undefined for
 * any other error.
 */
async function dataConflict(db: Kysely<DB>, set: SeedSet, error: unknown): Promise<SeedError | undefined> {
  type PgFields = { code?: string; table?: string; constraint?: string; detail?: string; message?: string; cause?: unknown };
  const isConstraint = (e: unknown): e is PgFields =>
    typeof (e as PgFields | undefined)?.code === 'string' && /^23[0-9A-Z]{3}$/.test((e as PgFields).code!);
  // The database maps PostgreSQL's error to a typed one (ConflictError, ...) and keeps it as the cause.
  const pgError = isConstraint(error)
    ? error
    : isConstraint((error as PgFields | undefined)?.cause)
      ? ((error as PgFields).cause as PgFields)
      : undefined;
  if (!pgError) return undefined;
  const table = pgError.table ?? 'a table';
  const rule = `${pgError.constraint ? `constraint ${pgError.constraint}` : 'a rule'} of ${table}`;
  let culprit = '';
  // "Key (email)=(a@example.com) already exists.": find that row (one-column keys only: values may hold commas).
  const key = /^Key \(([a-z_][a-z0-9_]*)\)=\((.*)\) already exists\.$/.exec(pgError.detail ?? '');
  if (key && pgError.table) {
    // The set's rows are told apart by their ids (checks.ownIdPattern); without one, nobody can say.
    const pattern = set.checks?.ownIdPattern;
    const { rows } = await sql<{ id: string; own: boolean | null }>`
      SELECT id::text AS id, ${pattern === undefined ? sql`NULL::boolean` : sql`id::text LIKE ${pattern}`} AS own
        FROM ${sql.table(pgError.table)} WHERE ${sql.ref(key[1]!)}::text = ${key[2]!} LIMIT 1`
      .execute(db)
      .catch(() => ({ rows: [] as { id: string; own: boolean | null }[] }));
    const id = rows[0]?.id;
    const own = rows[0]?.own;
    if (id !== undefined) {
      culprit =
        own === null || own === undefined
          ? ` The existing row in the way is ${table} ${id}.`
          : own
            ? ` The existing row ${table} ${id} is the seed set's own.`
            : ` The existing row ${table} ${id} is not the seed set's (adopted, restored or written by the application): your data holds ${key[1]} ${key[2]}, which the seed set's row needs. Change or remove that row, or seed an empty database.`;
    }
  }
  return new SeedError(
    'SEED_DATA_CONFLICT',
    `seed set "${set.name}" could not be written: a row of the set breaks ${rule} (PostgreSQL error ${pgError.code}: ${pgError.message ?? ''}` +
      `${pgError.detail ? `; ${pgError.detail}` : ''}).${culprit}${set.transactional ? ' Nothing was written.' : ''}`,
    // PostgreSQL's error itself, whatever the database mapped it to.
    { cause: pgError },
  );
}

async function assertSchema(db: Kysely<DB>): Promise<void> {
  const { rows } = await sql<{ users: string | null; history: string | null }>`
    SELECT to_regclass('public.users')::text AS users, to_regclass('public.seed_history')::text AS history`.execute(db);
  if (!rows[0]?.users || !rows[0]?.history) {
    throw new SeedError(
      'SEED_SCHEMA_MISSING',
      `the database has no ${rows[0]?.users ? 'seed_history table' : 'schema'} yet: run \`npm run migrate -- up\` (or \`npm start\`) first`,
    );
  }
}

const scaleText = (set: SeedSet, scale: number): string => (set.scalable ? ` at scale ${scale}` : '');

/** `3 users, 8 business_ideas, ...` */
export function formatRows(rows: Record<string, number>): string {
  const parts = Object.entries(rows).map(([table, n]) => `${n.toLocaleString('en-US')} ${table}`);
  return parts.length > 0 ? parts.join(', ') : 'no rows';
}
