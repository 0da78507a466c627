/**
 * Loads the load set: the four tables, parents first, each with one COPY FROM STDIN fed by the
 * lazy generator, all in one transaction (a failed or aborted load leaves nothing behind).
 *
 * Audit triggers: the AFTER INSERT audit trigger would write an audit_log row (a to_jsonb image)
 * for every loaded row, roughly tripling the cost. By default (`auditTriggers: 'auto'`) the
 * load disables the triggers that fire on INSERT, by name, inside its transaction, and enables
 * them again, as they were, before it commits. ALTER TABLE is transactional, so other sessions
 * never see them disabled (they wait on the table lock instead), a rollback restores them, and
 * normal use afterwards is audited exactly as before; the loaded rows themselves have no
 * "insert" history, like rows restored from a dump. ALTER TABLE needs ownership of the tables:
 * a role that does not own them keeps the triggers (with a warning) under 'auto', and fails under
 * 'disable'. `session_replication_role = replica` was not used: it needs superuser and would also
 * switch off the foreign-key checks. updated_at is only touched by a BEFORE UPDATE trigger, so
 * COPY writes the generated created_at/updated_at as they are.
 */
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { SeedError } from '../errors.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { silentProgress } from '../progress.js';
import type { Progress } from '../types.js';
import { chunkStream, copyChunks, copyInto, newChecksum } from './copy.js';
import { loadTables, type LoadTable, type LoadTableName } from './generate.js';
import { loadPasswordHashes } from './passwords.js';

/** The load set's PRNG seed. */
export const LOAD_SEED = 'load';

/** What to do with the audit triggers during the load (see the module comment). */
export type AuditTriggerMode = 'auto' | 'disable' | 'keep';

/** One table's data for `bulkLoad()`. */
export interface BulkSource {
  table: LoadTableName;
  columns: readonly string[];
  /** Expected rows (for progress); the count reported is the server's. */
  rows: number;
  /** A fresh stream of COPY text. */
  open(): Readable;
}

/** Options for `bulkLoad()`. */
export interface BulkLoadOptions {
  auditTriggers?: AuditTriggerMode;
  /** When it aborts, the load rolls back and rejects with its reason. */
  signal?: AbortSignal;
  logger?: Logger;
  progress?: Progress;
}

/** What `bulkLoad()` did. */
export interface BulkLoadResult {
  rows: Record<LoadTableName, number>;
  /** Wall time from BEGIN to COMMIT. */
  durationMs: number;
  /** Whether the insert-firing triggers were switched off during the load. */
  auditTriggers: 'disabled' | 'kept';
}

interface TriggerRow {
  table: string;
  trigger: string;
  enabled: string;
  owned: boolean;
}

/**
 * COPYs each source, in order, into its table on `client`, in one transaction. The caller owns
 * the client (it must not be inside a transaction); the building block of `loadLoadSet()` and
 * of the benchmark's plain-COPY baseline, so both do exactly the same database work.
 *
 * @example
 * ```ts
 * const result = await bulkLoad(client, [{ table: 'users', columns, rows: 10, open: () => fs.createReadStream(file) }]);
 * ```
 */
export async function bulkLoad(
  client: pg.ClientBase,
  sources: readonly BulkSource[],
  options: BulkLoadOptions = {},
): Promise<BulkLoadResult> {
  const mode = options.auditTriggers ?? 'auto';
  const logger = options.logger ?? silentLogger;
  const progress = options.progress ?? silentProgress;
  const started = performance.now();
  const rows = {} as Record<LoadTableName, number>;
  let disabled: TriggerRow[] = [];
  await client.query('BEGIN');
  try {
    // The session's statement_timeout (a pool default) must not cut a long COPY short.
    await client.query('SET LOCAL statement_timeout = 0');
    if (mode !== 'keep')
      disabled = await disableInsertTriggers(
        client,
        sources.map((s) => s.table),
        mode,
        logger,
      );
    for (const source of sources) {
      progress.start(source.table, source.rows);
      try {
        rows[source.table] = await copyInto(client, source.table, source.columns, source.open());
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw loadError(source.table, error);
      }
      progress.done();
    }
    for (const t of disabled) {
      const how = t.enabled === 'A' ? 'ENABLE ALWAYS TRIGGER' : t.enabled === 'R' ? 'ENABLE REPLICA TRIGGER' : 'ENABLE TRIGGER';
      await client.query(`ALTER TABLE ${quoteIdent(t.table)} ${how} ${quoteIdent(t.trigger)}`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return { rows, durationMs: performance.now() - started, auditTriggers: disabled.length > 0 ? 'disabled' : 'kept' };
}

async function disableInsertTriggers(
  client: pg.ClientBase,
  tables: readonly string[],
  mode: AuditTriggerMode,
  logger: Logger,
): Promise<TriggerRow[]> {
  // tgtype bit 2 (value 4) = fires on INSERT; internal triggers (foreign keys) are never touched.
  const { rows } = await client.query<TriggerRow>(
    `SELECT c.relname AS table, t.tgname AS trigger, t.tgenabled AS enabled, pg_has_role(c.relowner, 'USAGE') AS owned
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND c.relname = ANY($1) AND NOT t.tgisinternal AND t.tgenabled <> 'D' AND (t.tgtype & 4) <> 0
      ORDER BY 1, 2`,
    [tables],
  );
  const notOwned = [...new Set(rows.filter((r) => !r.owned).map((r) => r.table))];
  if (notOwned.length > 0) {
    const why = `${notOwned.join(', ')} ${notOwned.length === 1 ? 'is' : 'are'} not owned by the loading role, so the audit triggers cannot be switched off`;
    if (mode === 'disable')
      throw new SeedError('SEED_TRIGGERS', `${why}; load as the owner (the migration role) or use auditTriggers: 'keep'`);
    logger.warn({ tables: notOwned }, `${why}: every loaded row is audited, which is several times slower`);
    return [];
  }
  // ALTER TABLE takes a SHARE ROW EXCLUSIVE lock until COMMIT: concurrent writers wait for the load.
  for (const t of rows) await client.query(`ALTER TABLE ${quoteIdent(t.table)} DISABLE TRIGGER ${quoteIdent(t.trigger)}`);
  return rows;
}

function loadError(table: string, error: unknown): Error {
  const pgError = error as { code?: string; message?: string; constraint?: string };
  if (pgError.code === '23505') {
    return new SeedError(
      'SEED_CONFLICT',
      `loading ${table}: rows with the load set's ids are already there (${pgError.constraint ?? 'unique violation'}); empty the database first (npm run db:clean)`,
      { cause: error },
    );
  }
  return new SeedError('SEED_LOAD_FAILED', `loading ${table} failed: ${pgError.message ?? String(error)}`, { cause: error });
}

/** Options for `loadLoadSet()`. */
export interface LoadSetOptions extends BulkLoadOptions {
  scale: number;
  /** Default `LOAD_SEED`. */
  seed?: string;
  /** COPY chunk size in bytes (default 128 KiB). */
  chunkBytes?: number;
}

/** What `loadLoadSet()` did. */
export interface LoadSetResult extends BulkLoadResult {
  /** sha256 (hex) of the COPY text of all four tables: equal checksums mean identical data. */
  checksum: string;
}

/**
 * The generated tables of the load set at `scale` (parents first), with the password pool ready.
 *
 * @example
 * ```ts
 * const tables = await loadSetTables({ scale: 0.01 });
 * tables.map((t) => [t.name, t.count]); // [['users', 10], ['business_ideas', 100], ...]
 * ```
 */
export async function loadSetTables(options: { scale: number; seed?: string }): Promise<LoadTable[]> {
  return loadTables({ scale: options.scale, seed: options.seed ?? LOAD_SEED, passwordHashes: await loadPasswordHashes() });
}

/**
 * Generates and loads the load set at `options.scale` through `client`, streaming, in one
 * transaction. Fails with SeedError SEED_CONFLICT when its rows are already there.
 *
 * @example
 * ```ts
 * const client = await pool.connect();
 * try {
 *   const result = await loadLoadSet(client, { scale: 0.1, progress: createProgress() });
 *   console.log(result.rows, result.checksum);
 * } finally {
 *   client.release();
 * }
 * ```
 */
export async function loadLoadSet(client: pg.ClientBase, options: LoadSetOptions): Promise<LoadSetResult> {
  const tables = await loadSetTables(options);
  const progress = options.progress ?? silentProgress;
  const hash = newChecksum();
  const sources = tables.map((table): BulkSource => ({
    table: table.name,
    columns: table.columns,
    rows: table.count,
    open: () => {
      hash.update(`${table.name}\n`);
      return chunkStream(
        copyChunks(table.rows(), {
          hash,
          plain: table.plain,
          onRows: (n) => progress.tick(n),
          ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
    },
  }));
  const result = await bulkLoad(client, sources, { ...options, progress });
  return { ...result, checksum: hash.digest('hex') };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
