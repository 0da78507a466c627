/**
 * kysely-codegen's settings, read by `scripts/codegen.ts` (`npm run codegen`). The library never
 * imports this file; it imports from the library where the two must agree (the type mapping).
 */
import type { Config as CodegenConfig } from 'kysely-codegen';
import { PARSED_TYPES } from './src/db/pool.js';

/**
 * - `typeMapping` is what the pool's type parsers produce (`src/db/pool.ts`: int8 and numeric
 *   are parsed to numbers, date stays a string).
 * - JSONB columns are typed with their payloads from `src/schema/json.ts`. A string override
 *   replaces the column type verbatim: codegen neither adds `| null` for a nullable column nor
 *   wraps a defaulted one in `Generated`, so both are spelled out. Writes take a string (the
 *   caller `JSON.stringify`-es the payload); `input_data` has a default, so inserts may omit it.
 * - `excludePattern` keeps the migration ledger out of `DB`.
 */
export const codegen = {
  outFile: 'src/schema/generated.ts',
  camelCase: true,
  runtimeEnums: false,
  typeOnlyImports: true,
  defaultSchemas: ['public'],
  excludePattern: 'public.schema_migrations',
  typeMapping: PARSED_TYPES,
  customImports: {
    EvaluationResults: './json.js#EvaluationResults',
    AgentInputData: './json.js#AgentInputData',
    AgentOutputData: './json.js#AgentOutputData',
    AgentInsights: './json.js#AgentInsights',
    AuditRowData: './json.js#JsonObject',
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
