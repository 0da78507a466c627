/**
 * The one place that turns configuration into Kysely's dialect and plugins, and the one place
 * that tells kysely-codegen how to type the schema. The library, the scripts and codegen all
 * import from here, so a plugin or a type mapping cannot differ between them.
 */
import { CamelCasePlugin, PostgresDialect, type KyselyPlugin, type PostgresPool } from 'kysely';
import type { Config as CodegenConfig } from 'kysely-codegen';

/** The dialect over an existing pool (the pool is tuned in `src/db/pool.ts`). */
export function createDialect(pool: PostgresPool): PostgresDialect {
  return new PostgresDialect({ pool });
}

/**
 * snake_case in SQL, camelCase in TypeScript; JSONB payload keys are data and are never rewritten.
 */
export function createPlugins(): KyselyPlugin[] {
  return [new CamelCasePlugin({ maintainNestedObjectKeys: true })];
}

/**
 * kysely-codegen settings, read by `scripts/codegen.ts` (`npm run codegen`).
 *
 * - `typeMapping` must agree with the type parsers in `src/db/pool.ts` (int8 and numeric are
 *   parsed to numbers, date stays a string).
 * - JSONB columns are typed with their payloads from `src/db/json-types.ts`. A string override
 *   replaces the column type verbatim: codegen neither adds `| null` for a nullable column nor
 *   wraps a defaulted one in `Generated`, so both are spelled out. Writes take a string (the
 *   caller `JSON.stringify`-es the payload); `input_data` has a default, so inserts may omit it.
 * - `excludePattern` keeps the migration ledger out of `DB`.
 */
export const codegen = {
  outFile: 'src/db/schema.generated.ts',
  camelCase: true,
  runtimeEnums: false,
  typeOnlyImports: true,
  defaultSchemas: ['public'],
  excludePattern: 'public.schema_migrations',
  typeMapping: {
    int8: 'number',
    numeric: 'number',
    date: 'string',
  },
  customImports: {
    EvaluationResults: './json-types.js#EvaluationResults',
    AgentInputData: './json-types.js#AgentInputData',
    AgentOutputData: './json-types.js#AgentOutputData',
    AgentInsights: './json-types.js#AgentInsights',
    AuditRowData: './json-types.js#JsonObject',
  },
  overrides: {
    columns: {
      'evaluations.results': 'ColumnType<EvaluationResults | null, string | null, string | null>',
      'agent_results.input_data': 'ColumnType<AgentInputData, string | undefined, string>',
      'agent_results.output_data': 'ColumnType<AgentOutputData | null, string | null, string | null>',
      'agent_results.insights': 'ColumnType<AgentInsights | null, string | null, string | null>',
      // Written only by the audit triggers (to_jsonb of a row): read-only here.
      'audit_log.old_row': 'ColumnType<AuditRowData | null, never, never>',
      'audit_log.new_row': 'ColumnType<AuditRowData | null, never, never>',
      // Rows per table written by a seed run (seeds/runner.ts).
      'seed_history.row_counts': 'ColumnType<Record<string, number>, string | undefined, string>',
    },
  },
} as const satisfies CodegenConfig;
