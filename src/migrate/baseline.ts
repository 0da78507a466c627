/**
 * Adopting a database whose schema was built some other way: `baseline` records migrations as
 * applied without running them, once the database is shown to hold what they would create (its
 * catalog compared with that of a throwaway database on the same server, freshly migrated to the
 * same point); and `refuseUnrecordedSchema`, the check that stops `up` from running the first
 * migration on such a database (which would fail with 42P07 "already exists").
 */
import type pg from 'pg';
import { BaselineMismatchError, MigrationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeDifference, diffCatalogs, readCatalog, type CatalogDifference } from './catalog.js';
import type { MigrationFile } from './files.js';
import { ensureLedger, INSERT_LEDGER_ROW, LEDGER_TABLE, recordedLintIgnores, type LedgerRow } from './ledger.js';

/** How many differences the refusal's message lists (the error's `differences` holds them all). */
const LISTED = 40;

/** What `migrator.baseline()` did. */
export interface BaselineResult {
  /** The migrations recorded as applied, in order (with `dryRun`: those that would be). */
  recorded: string[];
  /** The migrations up to the target that the ledger already held. */
  alreadyApplied: string[];
  /** Objects in the database that the migrations up to the target do not make: listed, not a reason to refuse. */
  extra: CatalogDifference[];
  dryRun: boolean;
}

/** What `baseline` works with: the migrator's connection (holding the lock unless `dryRun`) and its scratch-database helpers. */
export interface BaselineContext {
  client: pg.Client;
  files: readonly MigrationFile[];
  ledger: readonly LedgerRow[];
  /** The resolved name of the newest migration to record. */
  target: string;
  dryRun: boolean;
  logger: Logger;
  /** Migrates the (empty) database `database` on the same server up to and including `to`. */
  migrateScratch(database: string, to: string): Promise<void>;
  /** A connection to `database` on the same server, as the migrator connects. */
  connectTo(database: string): Promise<pg.Client>;
}

/**
 * Records the migrations up to `context.target` as applied, without running them, after checking
 * that the database holds what they create: every object of a throwaway database migrated to the
 * target must be there with the same definition. Refuses with a `BaselineMismatchError` listing
 * what is missing or different; nothing is recorded then.
 *
 * @example
 * ```ts
 * // through the migrator, which takes the lock and resolves the target:
 * const { recorded } = await createMigrator({ connection }).baseline({ to: '20261125090000' });
 * ```
 */
export async function baseline(context: BaselineContext): Promise<BaselineResult> {
  const { client, files, ledger, target, dryRun, logger } = context;
  const applied = new Set(ledger.map((r) => r.name));
  const beyond = ledger.filter((r) => r.name > target).map((r) => r.name);
  if (beyond.length > 0) {
    throw new MigrationError(
      `cannot baseline to ${target}: ${beyond.join(', ')} ${beyond.length === 1 ? 'is' : 'are'} already applied, after it; nothing was recorded`,
      { code: 'MIGRATION_OPTIONS' },
    );
  }
  const upTo = files.filter((f) => f.name <= target);
  const toRecord = upTo.filter((f) => !applied.has(f.name));
  const alreadyApplied = upTo.filter((f) => applied.has(f.name)).map((f) => f.name);
  if (toRecord.length === 0) {
    logger.info({ target }, `nothing to record: every migration up to ${target} is already applied`);
    return { recorded: [], alreadyApplied, extra: [], dryRun };
  }

  const differences = await compareWithFresh(context);
  const problems = differences.filter((d) => d.change !== 'extra');
  const extra = differences.filter((d) => d.change === 'extra');
  if (problems.length > 0) {
    throw new BaselineMismatchError(
      `baseline refused: the database does not hold what the migrations up to ${target} create ` +
        `(compared with a throwaway database migrated to it on the same server); nothing was recorded:\n` +
        problems
          .slice(0, LISTED)
          .map((d) => `  - ${describeDifference(d)}`)
          .join('\n') +
        (problems.length > LISTED ? `\n  ... and ${problems.length - LISTED} more (all of them in the error's differences)` : '') +
        `\nBring the database to that shape first (or baseline to an earlier migration with --to, then migrate up).`,
      problems,
    );
  }
  for (const d of extra) logger.warn({ name: d.name }, `baseline: ${describeDifference(d)} (kept; not a reason to refuse)`);
  if (dryRun) {
    for (const f of toRecord) logger.info({ migration: f.name }, `would record ${f.name} as applied`);
    return { recorded: toRecord.map((f) => f.name), alreadyApplied, extra, dryRun };
  }

  await client.query('BEGIN');
  try {
    await ensureLedger(client);
    for (const f of toRecord) {
      await client.query(INSERT_LEDGER_ROW, [f.name, f.checksum, 0, recordedLintIgnores(f.lintIgnores)]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(
      `baseline: recording the migrations in ${LEDGER_TABLE} failed: ${(error as Error).message}; nothing was recorded`,
      {
        cause: error,
        code: 'MIGRATION_FAILED',
      },
    );
  }
  for (const f of toRecord) logger.info({ migration: f.name }, `recorded ${f.name} as applied (not run)`);
  return { recorded: toRecord.map((f) => f.name), alreadyApplied, extra, dryRun };
}

/** The differences between the database and a throwaway one migrated to the target (dropped afterwards). */
async function compareWithFresh(context: BaselineContext): Promise<CatalogDifference[]> {
  const { client, target, logger } = context;
  const scratch = await createScratch(client);
  try {
    logger.info({ database: scratch }, `baseline: migrating a throwaway database ${scratch} to ${target} to compare with`);
    await context.migrateScratch(scratch, target);
    const fresh = await context.connectTo(scratch);
    let expected;
    try {
      expected = await readCatalog(fresh);
    } finally {
      await fresh.end().catch(() => undefined);
    }
    return diffCatalogs(expected, await readCatalog(client));
  } finally {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch((err: unknown) => {
      logger.warn({ err }, `baseline: could not drop the throwaway database ${scratch}; drop it by hand`);
    });
  }
}

/** An empty database beside the target, with its encoding and locale, from template0 (nothing local added). */
async function createScratch(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{
    name: string;
    encoding: string;
    collate: string;
    ctype: string;
    provider: string | null;
    locale: string | null;
  }>(
    `SELECT left(current_database(), 30) || '_baseline_' || to_hex(pg_backend_pid()) || '_' || substr(md5(random()::text), 1, 6) AS name,
            pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate, d.datctype AS ctype,
            to_jsonb(d) ->> 'datlocprovider' AS provider, COALESCE(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale') AS locale
       FROM pg_database d WHERE d.datname = current_database()`,
  );
  const db = rows[0]!;
  const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;
  const provider =
    db.provider === 'i' && db.locale
      ? ` LOCALE_PROVIDER icu ICU_LOCALE ${lit(db.locale)}`
      : db.provider === 'b' && db.locale
        ? ` LOCALE_PROVIDER builtin BUILTIN_LOCALE ${lit(db.locale)}`
        : '';
  try {
    await client.query(
      `CREATE DATABASE ${quoteIdent(db.name)} TEMPLATE template0 ENCODING ${lit(db.encoding)} LC_COLLATE ${lit(db.collate)} LC_CTYPE ${lit(db.ctype)}${provider}`,
    );
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new MigrationError(
      `baseline needs a throwaway database on the same server to compare with, and creating one failed` +
        `${code ? ` (PostgreSQL error ${code})` : ''}: ${(error as Error).message}` +
        (code === '42501' ? '. The migration role needs CREATEDB (ALTER ROLE ... CREATEDB) for baseline.' : '') +
        ' Nothing was recorded.',
      { cause: error, code: 'MIGRATION_BASELINE_SCRATCH' },
    );
  }
  return db.name;
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** `CREATE TABLE|TYPE|SCHEMA|VIEW|SEQUENCE name` without IF NOT EXISTS / OR REPLACE, at the start of a statement. */
const CREATES =
  /^create\s+(?:(?:global\s+|local\s+)?(?:temp|temporary|unlogged)\s+)?(table|type|schema|view|materialized\s+view|sequence)\s+(?!if\s+not\s+exists\b)((?:"[^"]+"|[a-z_][\w$]*)(?:\.(?:"[^"]+"|[a-z_][\w$]*))?)/i;

/** The placeholder schema of the story this project comes from (see docs/migrations.md, "Adopting an existing database"). */
export const LEGACY_TABLES = ['users', 'business_evaluations', 'agent_executions'] as const;

/**
 * Before `up` applies the first migration to a database whose ledger records nothing: refuses
 * (`MIGRATION_NOT_ADOPTED`) when objects that migration creates already exist, since its SQL would
 * fail with 42P07 "already exists", explaining `migrate baseline` (and, for the placeholder
 * schema, `migrate adopt-legacy`) instead. Reads only.
 *
 * @example
 * ```ts
 * if (ledger.length === 0 && steps.length > 0) await refuseUnrecordedSchema(client, steps[0].migration);
 * ```
 */
export async function refuseUnrecordedSchema(client: Pick<pg.ClientBase, 'query'>, first: MigrationFile): Promise<void> {
  const created = first.up.statements
    .map((s) => CREATES.exec(s.sql.replace(/^(\s|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)+/, '')))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ kind: m[1]!.toLowerCase().replace(/\s+/, ' '), name: m[2]! }));
  if (created.length === 0) return;
  const { rows } = await client.query<{ kind: string; name: string; exists: boolean }>(
    `SELECT c.kind, c.name,
            CASE c.kind WHEN 'type' THEN to_regtype(c.name) IS NOT NULL
                        WHEN 'schema' THEN to_regnamespace(c.name) IS NOT NULL
                        ELSE to_regclass(c.name) IS NOT NULL END AS exists
       FROM jsonb_to_recordset($1::jsonb) AS c(kind text, name text)`,
    [JSON.stringify(created)],
  );
  const existing = rows.filter((r) => r.exists);
  if (existing.length === 0) return;
  const legacy = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM unnest($1::text[]) t WHERE to_regclass('public.' || t) IS NOT NULL`,
    [LEGACY_TABLES],
  );
  const isLegacy = (legacy.rows[0]?.n ?? 0) === LEGACY_TABLES.length;
  throw new MigrationError(
    `the database already holds ${existing.map((r) => `${r.kind} ${r.name}`).join(', ')}, which ${first.fileName} creates, ` +
      `but ${LEDGER_TABLE} records no migration: the schema was built some other way. Nothing was run.\n` +
      (isLegacy
        ? `  It looks like the earlier placeholder schema (${LEGACY_TABLES.join(', ')}). To bring it to the current schema ` +
          `with every row kept, run migrate adopt-legacy (npm run migrate -- adopt-legacy; --dry-run checks the rows first): ` +
          `it moves the three tables into schema legacy, applies the migrations and copies the rows over ` +
          `(docs/migrations.md, "Adopting an existing database").\n` +
          `  If it already matches the migrations instead, record them as applied without running them: migrate baseline.`
        : `  If it matches the migrations, record them as applied without running them: migrate baseline ` +
          `(or baseline --to <name>, then migrate up); baseline checks the schema first and lists any difference. ` +
          `See docs/migrations.md, "Adopting an existing database".`),
    { file: first.fileName, code: 'MIGRATION_NOT_ADOPTED' },
  );
}
