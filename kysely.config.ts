/**
 * The one place that turns configuration into Kysely's dialect and plugins, and the one place
 * that tells kysely-codegen how to type the schema. The library, the scripts and codegen all
 * import from here, so a plugin or a type mapping cannot differ between them.
 */
import { CamelCasePlugin, PostgresDialect, type KyselyPlugin, type PostgresPool } from 'kysely';

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

/** kysely-codegen settings. `typeMapping` must agree with the type parsers in `src/db/pool.ts`. */
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
  },
  overrides: {
    columns: {
      'evaluations.results': 'ColumnType<EvaluationResults | null, string | null, string | null>',
      'agent_results.input_data': 'ColumnType<AgentInputData, string, string>',
      'agent_results.output_data': 'ColumnType<AgentOutputData | null, string | null, string | null>',
      'agent_results.insights': 'ColumnType<AgentInsights | null, string | null, string | null>',
    },
  },
} as const;
