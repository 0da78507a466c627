/**
 * Validation checks run after seeding: row counts, foreign keys (anti-joins, so rows written with
 * triggers off are caught too), score ranges, every enum value represented, and lease/timestamp
 * consistency. Every check is one aggregate query, so they stay cheap on the load set.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../src/schema/generated.js';

/** One check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found ("0 orphans", "missing: low"). */
  detail: string;
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

/** Checks that count offending rows: each query returns `n`, which must be 0. */
const VIOLATIONS: readonly { name: string; query: string }[] = [
  {
    name: 'fk: business_ideas.user_id -> users',
    query: `SELECT count(*)::int AS n FROM business_ideas i WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = i.user_id)`,
  },
  {
    name: 'fk: evaluations.business_idea_id -> business_ideas',
    query: `SELECT count(*)::int AS n FROM evaluations e WHERE NOT EXISTS (SELECT 1 FROM business_ideas i WHERE i.id = e.business_idea_id)`,
  },
  {
    name: 'fk: agent_results.evaluation_id -> evaluations',
    query: `SELECT count(*)::int AS n FROM agent_results a WHERE NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.id = a.evaluation_id)`,
  },
  {
    name: 'score: agent_results.score within 0..100',
    query: `SELECT count(*)::int AS n FROM agent_results WHERE score < 0 OR score > 100`,
  },
  {
    name: 'score: completed agent results are scored',
    query: `SELECT count(*)::int AS n FROM agent_results WHERE status = 'completed' AND score IS NULL`,
  },
  {
    name: 'score: evaluations.results overallScore within 0..100',
    query: `SELECT count(*)::int AS n FROM evaluations WHERE results IS NOT NULL AND CASE WHEN jsonb_typeof(results->'overallScore') = 'number' THEN (results->>'overallScore')::numeric NOT BETWEEN 0 AND 100 ELSE true END`,
  },
  {
    name: 'results: completed evaluations have results',
    query: `SELECT count(*)::int AS n FROM evaluations WHERE status = 'completed' AND results IS NULL`,
  },
  {
    name: 'lease: exactly the analyzing evaluations hold a lease and a worker',
    query: `SELECT count(*)::int AS n FROM evaluations WHERE (status = 'analyzing') <> (lease_expires_at IS NOT NULL) OR (status = 'analyzing' AND claimed_by IS NULL) OR (status = 'pending' AND (claimed_by IS NOT NULL OR started_at IS NOT NULL))`,
  },
  {
    name: 'time: evaluations started/completed consistent with status',
    query: `SELECT count(*)::int AS n FROM evaluations WHERE completed_at < started_at OR (status IN ('completed', 'failed', 'dead')) <> (completed_at IS NOT NULL) OR (status IN ('analyzing', 'completed') AND started_at IS NULL) OR started_at < created_at OR updated_at < created_at`,
  },
  {
    name: 'time: agent results started/completed consistent with status',
    query: `SELECT count(*)::int AS n FROM agent_results WHERE completed_at < started_at OR (status IN ('completed', 'failed')) <> (completed_at IS NOT NULL) OR (status IN ('running', 'completed') AND started_at IS NULL) OR updated_at < created_at`,
  },
  {
    name: 'time: evaluations created after their idea',
    query: `SELECT count(*)::int AS n FROM evaluations e JOIN business_ideas i ON i.id = e.business_idea_id WHERE e.created_at < i.created_at`,
  },
  {
    name: 'time: ideas created after their owner, deletions after creation',
    query: `SELECT count(*)::int AS n FROM business_ideas i JOIN users u ON u.id = i.user_id WHERE i.created_at < u.created_at OR i.deleted_at < i.created_at OR i.updated_at < i.created_at`,
  },
];

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
  for (const table of SEEDED_TABLES) {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(db);
    counts[table] = rows[0]?.n ?? 0;
  }
  for (const [table, minimum] of Object.entries(options.minimumRows ?? {})) {
    if (minimum === undefined) continue;
    const n = counts[table] ?? 0;
    results.push({ name: `rows: ${table} >= ${minimum}`, ok: n >= minimum, detail: `${n} rows` });
  }
  for (const check of VIOLATIONS) {
    const { rows } = await sql<{ n: number }>`${sql.raw(check.query)}`.execute(db);
    const n = rows[0]?.n ?? 0;
    results.push({ name: check.name, ok: n === 0, detail: n === 0 ? 'ok' : `${n} offending row(s)` });
  }
  if (options.everyStatus) {
    for (const { type, table, column } of ENUM_COLUMNS) {
      const { rows } = await sql<{ value: string; present: boolean }>`
        SELECT e.enumlabel AS value,
               EXISTS (SELECT 1 FROM ${sql.table(table)} t WHERE t.${sql.ref(column)}::text = e.enumlabel) AS present
        FROM pg_enum e JOIN pg_type ty ON ty.oid = e.enumtypid
        WHERE ty.typname = ${type} AND ty.typnamespace = 'public'::regnamespace
        ORDER BY e.enumsortorder`.execute(db);
      const missing = rows.filter((r) => !r.present).map((r) => r.value);
      results.push({
        name: `statuses: every ${type} in ${table}.${column}`,
        ok: rows.length > 0 && missing.length === 0,
        detail:
          rows.length === 0
            ? `enum ${type} not found`
            : missing.length === 0
              ? rows.map((r) => r.value).join(', ')
              : `missing: ${missing.join(', ')}`,
      });
    }
  }
  return { ok: results.every((r) => r.ok), counts, results };
}

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
    ...report.results.map((r) => `  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.name}${r.ok && r.detail === 'ok' ? '' : ` (${r.detail})`}`),
  );
  lines.push(report.ok ? 'All checks passed.' : `${report.results.filter((r) => !r.ok).length} check(s) FAILED.`);
  return lines.join('\n');
}
