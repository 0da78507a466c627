/**
 * `migrate adopt-legacy`: brings a database holding the earlier placeholder schema (users,
 * business_evaluations, agent_executions; test/fixtures/legacy/placeholder-schema.sql) to the
 * current schema with every row kept. Under the migration lock:
 *
 * 1. one transaction moves the three tables into schema `legacy` and checks every row against
 *    the mapping (migrations/adopt/placeholder.sql); a row that cannot be mapped rolls it back
 *    and refuses with the list, nothing changed;
 * 2. the normal migrations run as `up` runs them (a file per transaction, `transaction:false`
 *    sections on their own: 20261203090000 adds an enum value later files use, which PostgreSQL
 *    refuses before it is committed, so they cannot share one transaction);
 * 3. one transaction copies the rows into the new (empty) tables, keeps old id -> new id in
 *    `legacy.id_map`, checks that every row arrived and records the adoption in
 *    `legacy.adoption`.
 *
 * Each step leaves a state the next run recognises: after a failure in 2 or 3 the same command
 * resumes (the tables wait in `legacy`); after 3 it reports the adoption and does nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { LegacyAdoptionError, MigrationError, type LegacyRowProblem } from '../errors.js';
import type { Logger } from '../logger.js';
import { LEDGER_TABLE } from './ledger.js';
import { defaultMigrationsDir } from './paths.js';
import { splitSql, type SqlStatement } from './sql-splitter.js';

/** The schema the placeholder tables are moved into, and kept in (drop it when satisfied). */
export const LEGACY_SCHEMA = 'legacy';

/** The placeholder tables and the columns the mapping reads (docs/migrations.md lists their types). */
export const PLACEHOLDER_COLUMNS: Readonly<Record<'users' | 'business_evaluations' | 'agent_executions', readonly string[]>> = {
  users: ['id', 'email', 'name', 'password', 'created_at'],
  business_evaluations: ['id', 'user_id', 'idea_title', 'idea_description', 'status', 'result', 'created_at', 'updated_at'],
  agent_executions: ['id', 'evaluation_id', 'agent_name', 'status', 'output', 'started_at', 'finished_at', 'created_at'],
};
type PlaceholderTable = keyof typeof PLACEHOLDER_COLUMNS;
const TABLES = Object.keys(PLACEHOLDER_COLUMNS) as PlaceholderTable[];

/** Which new table each placeholder table's rows become (business_evaluations: an idea and its evaluation). */
const BECOMES: Readonly<Record<PlaceholderTable, readonly string[]>> = {
  users: ['users'],
  business_evaluations: ['business_ideas', 'evaluations'],
  agent_executions: ['agent_results'],
};
const NEW_TABLES = ['users', 'business_ideas', 'evaluations', 'agent_results'] as const;

/** How many problems the refusal's message lists (the error's `problems` holds them all). */
const LISTED = 40;

/** What `migrator.adoptLegacy()` did. */
export interface AdoptLegacyResult {
  /** adopted: copied now; already-adopted: an earlier run did (nothing changed); dry-run: checked only. */
  outcome: 'adopted' | 'already-adopted' | 'dry-run';
  /** Rows per placeholder table (`legacy.*`). */
  legacyRows: Record<string, number>;
  /** Rows written per new table (with `dry-run`: would be written); for already-adopted, as recorded then. */
  copied: Record<string, number>;
  /** The migrations this run applied. */
  applied: string[];
  /** When the adoption's copy committed (already-adopted and adopted). */
  adoptedAt?: Date;
}

/** What adoption works with: the migrator's connection, holding the migration lock, and a way to run `up` on it. */
export interface AdoptContext {
  client: pg.Client;
  dryRun: boolean;
  logger: Logger;
  /** How many migrations the ledger records (a dbmate ledger already converted). */
  appliedCount(): Promise<number>;
  /** Runs `up` on `client` (the lock is held): the names applied. */
  migrateUp(): Promise<string[]>;
  /** The mapping file. Default: the package's migrations/adopt/placeholder.sql. */
  mappingFile?: string;
}

/** The sections of the mapping file, split as migrations are. */
interface Mapping {
  file: string;
  prepare: SqlStatement[];
  problems: SqlStatement;
  copy: SqlStatement[];
}

/**
 * Adopts the placeholder schema (see the module comment): refuses, changing nothing, with every
 * row that cannot be mapped (`LegacyAdoptionError`, code `MIGRATION_ADOPT_REFUSED`), and when the
 * database holds neither the placeholder tables nor an adoption.
 *
 * @example
 * ```ts
 * const { copied } = await createMigrator({ connection }).adoptLegacy();
 * // { users: 4, business_ideas: 5, evaluations: 5, agent_results: 9 }
 * ```
 */
export async function adoptLegacy(context: AdoptContext): Promise<AdoptLegacyResult> {
  const { client, dryRun, logger } = context;
  const mapping = loadMapping(context.mappingFile ?? join(defaultMigrationsDir(), 'adopt', 'placeholder.sql'));

  const recorded = await readAdoption(client);
  if (recorded) {
    logger.info(
      { adoptedAt: recorded.adoptedAt },
      `the placeholder schema was adopted on ${recorded.adoptedAt.toISOString()} (${formatCounts(recorded.copied)}); nothing to do. ` +
        `Its tables are kept in schema ${LEGACY_SCHEMA}: drop it when satisfied (DROP SCHEMA ${LEGACY_SCHEMA} CASCADE).`,
    );
    return {
      outcome: 'already-adopted',
      legacyRows: recorded.legacyRows,
      copied: recorded.copied,
      applied: [],
      adoptedAt: recorded.adoptedAt,
    };
  }

  const where = await locate(client);
  await checkShape(client, where);
  let legacyRows: Record<string, number>;
  if (where === 'public') {
    const applied = await context.appliedCount();
    if (applied > 0) {
      throw new MigrationError(
        `adopt-legacy: ${LEDGER_TABLE} records ${applied} migration${applied === 1 ? '' : 's'} beside the placeholder tables; ` +
          `adoption starts from the placeholder schema alone. Nothing was changed.`,
        { code: 'MIGRATION_ADOPT_REFUSED' },
      );
    }
    // Moved and checked in one transaction: a refusal rolls the move back too.
    legacyRows = await inTransaction(
      client,
      async () => {
        await client.query(`CREATE SCHEMA ${LEGACY_SCHEMA}`);
        for (const table of TABLES) await client.query(`ALTER TABLE public.${table} SET SCHEMA ${LEGACY_SCHEMA}`);
        await refuseProblems(client, mapping, 'public');
        return countLegacy(client);
      },
      dryRun,
    );
    if (dryRun) return dryRunResult(legacyRows, logger);
    logger.info({ schema: LEGACY_SCHEMA }, `moved ${TABLES.join(', ')} into schema ${LEGACY_SCHEMA} (${formatCounts(legacyRows)})`);
  } else {
    logger.info({ schema: LEGACY_SCHEMA }, `the placeholder tables wait in schema ${LEGACY_SCHEMA} from an earlier run: resuming`);
    legacyRows = await inTransaction(
      client,
      async () => {
        await refuseProblems(client, mapping, LEGACY_SCHEMA);
        return countLegacy(client);
      },
      true,
    );
    if (dryRun) return dryRunResult(legacyRows, logger);
  }

  const applied = await context.migrateUp();
  const copied = await copyRows(client, mapping, legacyRows, logger);
  const adoption = await readAdoption(client);
  return { outcome: 'adopted', legacyRows, copied, applied, ...(adoption ? { adoptedAt: adoption.adoptedAt } : {}) };
}

function loadMapping(file: string): Mapping {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/\r\n/g, '\n');
  } catch (error) {
    throw new MigrationError(`adopt-legacy: cannot read the mapping ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, {
      cause: error,
      code: 'MIGRATION_INVALID',
    });
  }
  const sections = new Map<string, SqlStatement[]>();
  const lines = text.split('\n');
  let current: { name: string; start: number } | undefined;
  const close = (end: number): void => {
    if (current) sections.set(current.name, splitSql(lines.slice(current.start, end).join('\n'), current.start + 1));
  };
  lines.forEach((line, i) => {
    const marker = /^-- adopt:(\w+)\s*$/.exec(line);
    if (!marker) return;
    close(i);
    current = { name: marker[1]!, start: i + 1 };
  });
  close(lines.length);
  const problems = sections.get('problems') ?? [];
  const prepare = sections.get('prepare');
  const copy = sections.get('copy');
  if (!prepare || !copy || problems.length !== 1) {
    throw new MigrationError(`adopt-legacy: ${file} needs the sections -- adopt:prepare, -- adopt:problems (one query) and -- adopt:copy`, {
      file,
      code: 'MIGRATION_INVALID',
    });
  }
  return { file, prepare, problems: problems[0]!, copy };
}

/** Where the placeholder tables are: public (not adopted yet) or legacy (an earlier run moved them). */
async function locate(client: pg.Client): Promise<'public' | typeof LEGACY_SCHEMA> {
  const { rows } = await client.query<{ schema: string; present: string[]; schema_exists: boolean }>(
    `SELECT s.schema, ARRAY(SELECT t FROM unnest($1::text[]) t WHERE to_regclass(format('%I.%I', s.schema, t)) IS NOT NULL) AS present,
            to_regnamespace(s.schema) IS NOT NULL AS schema_exists
       FROM unnest(ARRAY['public', $2]) AS s(schema)`,
    [TABLES, LEGACY_SCHEMA],
  );
  const inPublic = rows.find((r) => r.schema === 'public')!;
  const aside = rows.find((r) => r.schema === LEGACY_SCHEMA)!;
  if (aside.present.length === TABLES.length) return LEGACY_SCHEMA;
  if (inPublic.present.length === TABLES.length && !aside.schema_exists) return 'public';
  const found = (r: (typeof rows)[number]) => (r.present.length > 0 ? r.present.map((t) => `${r.schema}.${t}`).join(', ') : 'none of them');
  throw new MigrationError(
    `adopt-legacy: the database does not hold the placeholder schema (${TABLES.join(', ')} in public) ` +
      `nor an adoption left part-done (the same tables in schema ${LEGACY_SCHEMA}); found in public: ${found(inPublic)}, ` +
      `in ${LEGACY_SCHEMA}: ${aside.schema_exists ? found(aside) : 'no such schema'}. ` +
      (aside.schema_exists && aside.present.length < TABLES.length
        ? `A schema ${LEGACY_SCHEMA} of your own is in the way: rename it first. `
        : `For a schema built another way from the migrations' SQL, see migrate baseline. `) +
      `Nothing was changed.`,
    { code: 'MIGRATION_ADOPT_REFUSED' },
  );
}

/** Refuses tables that lack a column the mapping reads, or have one it would drop. */
async function checkShape(client: pg.Client, schema: string): Promise<void> {
  const { rows } = await client.query<{ table: string; columns: string[] }>(
    `SELECT c.relname AS table, array_agg(a.attname::text ORDER BY a.attnum) AS columns
       FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relnamespace = to_regnamespace($1) AND c.relname = ANY($2::text[])
      GROUP BY c.relname`,
    [schema, TABLES],
  );
  const problems: string[] = [];
  for (const table of TABLES) {
    const columns = rows.find((r) => r.table === table)?.columns ?? [];
    const missing = PLACEHOLDER_COLUMNS[table].filter((c) => !columns.includes(c));
    const extra = columns.filter((c) => !PLACEHOLDER_COLUMNS[table].includes(c));
    if (missing.length > 0) problems.push(`${schema}.${table} lacks ${missing.join(', ')}`);
    if (extra.length > 0)
      problems.push(`${schema}.${table} has ${extra.join(', ')}, which the mapping does not carry over (it would be lost)`);
  }
  if (problems.length === 0) return;
  throw new MigrationError(
    `adopt-legacy: the tables are not the placeholder schema the mapping knows (docs/migrations.md, "Adopting an existing database"); nothing was changed:\n` +
      problems.map((p) => `  - ${p}`).join('\n'),
    { code: 'MIGRATION_ADOPT_REFUSED' },
  );
}

/** Runs the mapping's checks (the tables are in schema legacy, in this transaction at least); refuses on any problem. */
async function refuseProblems(client: pg.Client, mapping: Mapping, fixWhere: string): Promise<void> {
  await prepare(client, mapping);
  const { rows } = await client.query<{ legacy_table: string; legacy_id: string; problem: string }>(mapping.problems.sql);
  if (rows.length === 0) return;
  const problems: LegacyRowProblem[] = rows.map((r) => ({ table: r.legacy_table, id: r.legacy_id, problem: r.problem }));
  throw new LegacyAdoptionError(
    `adopt-legacy refused: ${problems.length} placeholder row${problems.length === 1 ? '' : 's'} cannot be mapped onto the current schema; nothing was changed:\n` +
      problems
        .slice(0, LISTED)
        .map((p) => `  - ${p.table} id ${p.id}: ${p.problem}`)
        .join('\n') +
      (problems.length > LISTED ? `\n  ... and ${problems.length - LISTED} more (all of them in the error's problems)` : '') +
      `\nFix these rows in ${fixWhere}.${problems[0]!.table} (and the others), then run migrate adopt-legacy again ` +
      `(migrate adopt-legacy --dry-run checks without changing anything).`,
    problems,
  );
}

/** The mapping's session-local helpers and views: dropped with the transaction that made them, when it rolls back, or replaced. */
async function prepare(client: pg.Client, mapping: Mapping): Promise<void> {
  await client.query(
    `DO $$ DECLARE r record; BEGIN
       FOR r IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = pg_my_temp_schema() AND c.relkind = 'v' AND c.relname LIKE 'adopt\\_%' LOOP
         EXECUTE format('DROP VIEW pg_temp.%I CASCADE', r.relname);
       END LOOP;
       FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p WHERE p.pronamespace = pg_my_temp_schema() AND p.proname LIKE 'adopt\\_%' LOOP
         EXECUTE format('DROP FUNCTION %s CASCADE', r.f);
       END LOOP;
     END $$`,
  );
  for (const statement of mapping.prepare) await runMappingStatement(client, mapping, statement);
}

async function runMappingStatement(client: pg.Client, mapping: Mapping, statement: SqlStatement): Promise<pg.QueryResult> {
  try {
    return await client.query(statement.sql);
  } catch (error) {
    const pgError = error as { code?: string; detail?: string; constraint?: string };
    throw new MigrationError(
      `adopt-legacy: ${mapping.file}:${statement.line} failed: PostgreSQL error ${pgError.code ?? '?'}: ${(error as Error).message}` +
        (pgError.detail ? ` (${pgError.detail})` : '') +
        (pgError.constraint ? `; constraint ${pgError.constraint}` : ''),
      { cause: error, file: mapping.file, code: 'MIGRATION_FAILED' },
    );
  }
}

async function countLegacy(client: pg.Client): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${LEGACY_SCHEMA}.${table}`);
    counts[table] = rows[0]!.n;
  }
  return counts;
}

/** What a dry run reports: the rows there are and what they would become. */
function dryRunResult(legacyRows: Record<string, number>, logger: Logger): AdoptLegacyResult {
  const copied: Record<string, number> = {};
  for (const table of TABLES) for (const target of BECOMES[table]) copied[target] = legacyRows[table]!;
  logger.info({}, `dry run: every placeholder row can be mapped (${formatCounts(legacyRows)}); nothing was changed`);
  return { outcome: 'dry-run', legacyRows, copied, applied: [] };
}

/** The copy, in one transaction: into empty tables only, every row accounted for, the adoption recorded. */
async function copyRows(
  client: pg.Client,
  mapping: Mapping,
  legacyRows: Record<string, number>,
  logger: Logger,
): Promise<Record<string, number>> {
  try {
    return await inTransaction(client, async () => {
      // The audit trigger records who wrote the rows.
      await client.query(`SELECT set_config('app.actor_id', 'migrate adopt-legacy', true)`);
      const occupied: string[] = [];
      for (const table of NEW_TABLES) {
        const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.${table}`);
        if (rows[0]!.n > 0) occupied.push(`${table} (${rows[0]!.n} rows)`);
      }
      if (occupied.length > 0) {
        throw new MigrationError(
          `adopt-legacy: the new tables already hold rows: ${occupied.join(', ')}; the copy goes into empty tables only, so that ` +
            `every row there is a placeholder row. Empty them (npm run db:clean on a development database) and run migrate adopt-legacy again. ` +
            `Nothing was copied; the placeholder tables wait in schema ${LEGACY_SCHEMA}.`,
          { code: 'MIGRATION_ADOPT_REFUSED' },
        );
      }
      await refuseProblems(client, mapping, LEGACY_SCHEMA);
      const copied: Record<string, number> = {};
      for (const statement of mapping.copy) {
        const result = await runMappingStatement(client, mapping, statement);
        const into = /^\s*INSERT\s+INTO\s+public\.(\w+)/i.exec(statement.sql)?.[1];
        if (into) copied[into] = (copied[into] ?? 0) + (result.rowCount ?? 0);
      }
      const lost = TABLES.flatMap((table) =>
        BECOMES[table].filter((t) => copied[t] !== legacyRows[table]).map((t) => `${table} ${legacyRows[table]} -> ${t} ${copied[t] ?? 0}`),
      );
      if (lost.length > 0) {
        throw new MigrationError(`adopt-legacy: the mapping did not carry every row over (${lost.join('; ')}); nothing was copied`, {
          file: mapping.file,
          code: 'MIGRATION_FAILED',
        });
      }
      await client.query(
        `CREATE TABLE ${LEGACY_SCHEMA}.adoption (adopted_at timestamptz NOT NULL DEFAULT now(), legacy_rows jsonb NOT NULL, copied jsonb NOT NULL)`,
      );
      await client.query(`COMMENT ON TABLE ${LEGACY_SCHEMA}.adoption IS 'Written by migrate adopt-legacy when the copy committed.'`);
      await client.query(`INSERT INTO ${LEGACY_SCHEMA}.adoption (legacy_rows, copied) VALUES ($1, $2)`, [
        JSON.stringify(legacyRows),
        JSON.stringify(copied),
      ]);
      logger.info({ copied }, `copied ${formatCounts(copied)}; old ids -> new ids in ${LEGACY_SCHEMA}.id_map`);
      return copied;
    });
  } catch (error) {
    if (!(error instanceof MigrationError)) throw error;
    const state = `The migrations are applied and the placeholder tables wait in schema ${LEGACY_SCHEMA}; fix the cause and run migrate adopt-legacy again to copy.`;
    if (error instanceof LegacyAdoptionError) {
      throw new LegacyAdoptionError(error.message.replace('nothing was changed', 'nothing was copied') + `\n${state}`, error.problems);
    }
    throw new MigrationError(`${error.message}\n${state}`, {
      cause: error.cause ?? error,
      code: error.code,
      ...(error.file ? { file: error.file } : {}),
    });
  }
}

async function readAdoption(
  client: pg.Client,
): Promise<{ adoptedAt: Date; legacyRows: Record<string, number>; copied: Record<string, number> } | undefined> {
  const { rows: exists } = await client.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [`${LEGACY_SCHEMA}.adoption`]);
  if (!exists[0]?.t) return undefined;
  const { rows } = await client.query<{ adopted_at: Date; legacy_rows: Record<string, number>; copied: Record<string, number> }>(
    `SELECT adopted_at, legacy_rows, copied FROM ${LEGACY_SCHEMA}.adoption ORDER BY adopted_at DESC LIMIT 1`,
  );
  const row = rows[0];
  return row ? { adoptedAt: row.adopted_at, legacyRows: row.legacy_rows, copied: row.copied } : undefined;
}

/** Runs `fn` in a transaction, committed unless `rollback` (a check or a dry run), rolled back when it throws. */
async function inTransaction<T>(client: pg.Client, fn: () => Promise<T>, rollback = false): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const formatCounts = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .map(([table, n]) => `${n} ${table}`)
    .join(', ');
