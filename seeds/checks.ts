/**
 * Validation checks run after seeding: row counts, foreign keys (anti-joins, so rows written with
 * triggers off are caught too), score ranges, every enum value represented, and lease/timestamp
 * consistency. Every check is one aggregate query, so they stay cheap on the load set.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../src/schema/generated.js';

/**
 * Why a check failed, so that the message says what to do:
 * - `data`: rows that are not the seed set's (adopted, restored or written by the application)
 *   break a database rule: fix those rows; seeding again will not;
 * - `seed`: the seed set's own rows break a rule or an expectation: a defect of the set;
 * - `incomplete`: the seed set expects rows that are missing (deleted since it ran, say):
 *   `npm run seed -- --force` writes them again.
 */
export type CheckCause = 'data' | 'seed' | 'incomplete';

/** One check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found ("0 orphans", "missing: low"). */
  detail: string;
  /** rule: what the schema's constraints and foreign keys demand; expectation: what seed data should look like beyond them. */
  kind: 'rule' | 'expectation' | 'completeness';
  /** Why it failed; absent when ok. */
  cause?: CheckCause;
  /** A failed rule or an unmet expectation: the table and the ids of the first offending rows (at most 5). */
  rows?: { table: string; ids: string[] };
  /** Rows not from the seed set that miss an expectation (allowed by the schema, so not a failure). */
  note?: string;
}

/** All checks, and the row counts they saw. */
export interface CheckReport {
  ok: boolean;
  /** Rows per table (SQL names). */
  counts: Record<string, number>;
  results: CheckResult[];
}

/** What to insist on beyond integrity. */
export interface CheckOptions {
  /** Every value of every status/priority enum must occur at least once (the dev set). */
  everyStatus?: boolean;
  /** At least this many rows per table (SQL names). */
  minimumRows?: Partial<Record<string, number>>;
  /**
   * Which rows are the seed set's own: a LIKE pattern on the id (the dev set's fixed ids). With
   * it, a failed check says whether other rows (adopted or application data) or the set's rows
   * are at fault, `minimumRows` and `everyStatus` count the set's rows only, and other rows that
   * miss an expectation are noted, not failed. Without it every row counts as the set's.
   */
  ownIdPattern?: string;
}

/** The tables counted, in dependency order. */
export const SEEDED_TABLES = ['users', 'business_ideas', 'evaluations', 'agent_results', 'audit_log', 'seed_history'] as const;

/** Enum type -> the column holding it. */
const ENUM_COLUMNS: readonly { type: string; table: string; column: string }[] = [
  { type: 'idea_status', table: 'business_ideas', column: 'status' },
  { type: 'evaluation_status', table: 'evaluations', column: 'status' },
  { type: 'evaluation_priority', table: 'evaluations', column: 'priority' },
  { type: 'agent_result_status', table: 'agent_results', column: 'status' },
];

/**
 * Checks that find offending rows of `table` (aliased `x`, joined as `from` says) matching
 * `where`: there must be none. `rule`: the schema enforces it (checked anyway, since rows written
 * with triggers off or constraints dropped escape it); `expectation`: seed data keeps it, the
 * schema allows otherwise.
 */
const VIOLATIONS: readonly { name: string; kind: 'rule' | 'expectation'; table: string; from?: string; where: string }[] = [
  {
    name: 'fk: business_ideas.user_id -> users',
    kind: 'rule',
    table: 'business_ideas',
    where: `NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)`,
  },
  {
    name: 'fk: evaluations.business_idea_id -> business_ideas',
    kind: 'rule',
    table: 'evaluations',
    where: `NOT EXISTS (SELECT 1 FROM business_ideas i WHERE i.id = x.business_idea_id)`,
  },
  {
    name: 'fk: agent_results.evaluation_id -> evaluations',
    kind: 'rule',
    table: 'agent_results',
    where: `NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.id = x.evaluation_id)`,
  },
  { name: 'score: agent_results.score within 0..100', kind: 'rule', table: 'agent_results', where: `x.score < 0 OR x.score > 100` },
  {
    name: 'score: completed agent results are scored',
    kind: 'expectation',
    table: 'agent_results',
    where: `x.status = 'completed' AND x.score IS NULL`,
  },
  {
    name: 'score: evaluations.results overallScore within 0..100',
    kind: 'expectation',
    table: 'evaluations',
    where: `x.results IS NOT NULL AND CASE WHEN jsonb_typeof(x.results->'overallScore') = 'number' THEN (x.results->>'overallScore')::numeric NOT BETWEEN 0 AND 100 ELSE true END`,
  },
  {
    name: 'results: completed evaluations have results',
    kind: 'expectation',
    table: 'evaluations',
    where: `x.status = 'completed' AND x.results IS NULL`,
  },
  {
    name: 'lease: exactly the analyzing evaluations hold a lease and a worker',
    kind: 'rule',
    table: 'evaluations',
    where: `(x.status = 'analyzing') <> (x.lease_expires_at IS NOT NULL) OR (x.status = 'analyzing' AND x.claimed_by IS NULL) OR (x.status = 'pending' AND (x.claimed_by IS NOT NULL OR x.started_at IS NOT NULL))`,
  },
  {
    name: 'time: evaluations started/completed consistent with status',
    kind: 'rule',
    table: 'evaluations',
    where: `x.completed_at < x.started_at OR (x.status IN ('completed', 'failed', 'dead')) <> (x.completed_at IS NOT NULL) OR (x.status IN ('analyzing', 'completed') AND x.started_at IS NULL) OR x.started_at < x.created_at OR x.updated_at < x.created_at`,
  },
  {
    name: 'time: agent results started/completed consistent with status',
    kind: 'rule',
    table: 'agent_results',
    where: `x.completed_at < x.started_at OR (x.status IN ('completed', 'failed')) <> (x.completed_at IS NOT NULL) OR (x.status IN ('running', 'completed') AND x.started_at IS NULL) OR x.updated_at < x.created_at`,
  },
  {
    name: 'time: evaluations created after their idea',
    kind: 'expectation',
    table: 'evaluations',
    from: `JOIN business_ideas i ON i.id = x.business_idea_id`,
    where: `x.created_at < i.created_at`,
  },
  {
    name: 'time: ideas created after their owner, deletions after creation',
    kind: 'expectation',
    table: 'business_ideas',
    from: `JOIN users u ON u.id = x.user_id`,
    where: `x.created_at < u.created_at OR x.deleted_at < x.created_at OR x.updated_at < x.created_at`,
  },
];

/** How many offending ids a failed check names. */
const SAMPLE = 5;

/**
 * Runs every check and returns a report (it does not throw on a failed check).
 *
 * @example
 * ```ts
 * const report = await runChecks(database.owner, { everyStatus: true });
 * console.log(formatChecks(report));
 * if (!report.ok) process.exitCode = 1;
 * ```
 */
export async function runChecks(db: Kysely<DB>, options: CheckOptions = {}): Promise<CheckReport> {
  const counts: Record<string, number> = {};
  const results: CheckResult[] = [];
  // The set's own rows: all of them unless the set says how to tell.
  const own = (alias: string) =>
    options.ownIdPattern === undefined ? sql`true` : sql`${sql.ref(`${alias}.id`)}::text LIKE ${options.ownIdPattern}`;
  const whose = options.ownIdPattern === undefined ? '' : ' of the seed set';
  for (const table of SEEDED_TABLES) {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(db);
    counts[table] = rows[0]?.n ?? 0;
  }
  for (const [table, minimum] of Object.entries(options.minimumRows ?? {})) {
    if (minimum === undefined) continue;
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)} x WHERE ${own('x')}`.execute(db);
    const n = rows[0]?.n ?? 0;
    results.push({
      name: `rows: ${table} >= ${minimum}`,
      ok: n >= minimum,
      kind: 'completeness',
      detail: `${n} rows${whose}`,
      ...(n >= minimum ? {} : { cause: 'incomplete' as const }),
    });
  }
  for (const check of VIOLATIONS) {
    const { rows } = await sql<{ own: number; other: number; ownsample: string[] | null; othersample: string[] | null }>`
      SELECT count(*) FILTER (WHERE ${own('x')})::int AS own, count(*) FILTER (WHERE NOT ${own('x')})::int AS other,
             (array_agg(x.id::text ORDER BY x.id) FILTER (WHERE ${own('x')}))[1:${sql.lit(SAMPLE)}] AS ownsample,
             (array_agg(x.id::text ORDER BY x.id) FILTER (WHERE NOT ${own('x')}))[1:${sql.lit(SAMPLE)}] AS othersample
        FROM ${sql.table(check.table)} x ${sql.raw(check.from ?? '')}
       WHERE ${sql.raw(check.where)}`.execute(db);
    const { own: mine = 0, other = 0, ownsample: ownIds, othersample: otherIds } = rows[0] ?? {};
    const base = { name: check.name, kind: check.kind };
    if (check.kind === 'rule' && other > 0) {
      results.push({
        ...base,
        ok: false,
        cause: 'data',
        rows: { table: check.table, ids: otherIds ?? [] },
        detail:
          `${other} row(s) not from the seed set: ${check.table} ${(otherIds ?? []).join(', ')}${other > SAMPLE ? ', ...' : ''}` +
          (mine > 0 ? `; and ${mine} of the seed set's` : ''),
      });
    } else if (mine > 0) {
      results.push({
        ...base,
        ok: false,
        cause: 'seed',
        rows: { table: check.table, ids: ownIds ?? [] },
        detail:
          options.ownIdPattern === undefined
            ? `${mine} offending row(s)`
            : `${mine} of the seed set's row(s): ${check.table} ${(ownIds ?? []).join(', ')}${mine > SAMPLE ? ', ...' : ''}`,
      });
    } else {
      results.push({
        ...base,
        ok: true,
        detail: 'ok',
        // An expectation other rows miss: the schema allows it, so it is reported, not failed.
        ...(other > 0
          ? {
              note: `${other} row(s) not from the seed set do not meet it (the schema allows them): ${check.table} ${(otherIds ?? []).join(', ')}${other > SAMPLE ? ', ...' : ''}`,
            }
          : {}),
      });
    }
  }
  if (options.everyStatus) {
    for (const { type, table, column } of ENUM_COLUMNS) {
      const { rows } = await sql<{ value: string; present: boolean }>`
        SELECT e.enumlabel AS value,
               EXISTS (SELECT 1 FROM ${sql.table(table)} x WHERE x.${sql.ref(column)}::text = e.enumlabel AND ${own('x')}) AS present
        FROM pg_enum e JOIN pg_type ty ON ty.oid = e.enumtypid
        WHERE ty.typname = ${type} AND ty.typnamespace = 'public'::regnamespace
        ORDER BY e.enumsortorder`.execute(db);
      const missing = rows.filter((r) => !r.present).map((r) => r.value);
      const ok = rows.length > 0 && missing.length === 0;
      results.push({
        name: `statuses: every ${type} in ${table}.${column}`,
        ok,
        kind: 'completeness',
        ...(ok ? {} : { cause: 'incomplete' as const }),
        detail:
          rows.length === 0
            ? `enum ${type} not found`
            : missing.length === 0
              ? rows.map((r) => r.value).join(', ')
              : `missing${whose ? ` among the seed set's rows` : ''}: ${missing.join(', ')}`,
      });
    }
  }
  return { ok: results.every((r) => r.ok), counts, results };
}

/** What each cause of a failure means, for the report. */
const CAUSES: Record<CheckCause, { label: string; advice: string }> = {
  data: {
    label: 'your data breaks a database rule',
    advice:
      "rows that are not the seed set's (adopted, restored or written by the application) break it: fix or remove them; seeding again will not",
  },
  seed: { label: 'the seed set breaks it', advice: "the seed set's own rows break it: a defect of the set (seeds/)" },
  incomplete: {
    label: 'the seed set is incomplete',
    advice: 'rows the seed set writes are missing (deleted since it ran?): npm run seed -- --force writes them again',
  },
};

/**
 * The report as text: a count per table, then one line per check (`ok` or `FAIL`).
 *
 * @example
 * ```ts
 * console.log(formatChecks(await runChecks(db)));
 * ```
 */
export function formatChecks(report: CheckReport): string {
  const width = Math.max(...Object.keys(report.counts).map((t) => t.length));
  const lines = [
    'Row counts:',
    ...Object.entries(report.counts).map(([t, n]) => `  ${t.padEnd(width)}  ${n.toLocaleString('en-US').padStart(9)}`),
  ];
  lines.push(
    'Checks:',
    ...report.results.flatMap((r) => [
      `  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.cause ? `[${CAUSES[r.cause].label}] ` : ''}${r.name}${r.ok && r.detail === 'ok' ? '' : ` (${r.detail})`}`,
      ...(r.note ? [`        note: ${r.note}`] : []),
    ]),
  );
  const failed = report.results.filter((r) => !r.ok);
  if (failed.length === 0) {
    lines.push('All checks passed.');
  } else {
    lines.push(`${failed.length} check(s) FAILED:`);
    for (const cause of Object.keys(CAUSES) as CheckCause[]) {
      const n = failed.filter((r) => r.cause === cause).length;
      if (n > 0) lines.push(`  ${n}: ${CAUSES[cause].label}: ${CAUSES[cause].advice}.`);
    }
  }
  return lines.join('\n');
}
