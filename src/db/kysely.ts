/**
 * The one place that turns the tuned pool into Kysely's dialect and plugins, so the library, the
 * scripts and the SQL snapshot tests compile queries the same way.
 */
import { CamelCasePlugin, PostgresDialect, type KyselyPlugin, type PostgresPool } from 'kysely';

/** The dialect over an existing pool (the pool is tuned in `pool.ts`). */
export function createDialect(pool: PostgresPool): PostgresDialect {
  return new PostgresDialect({ pool });
}

/** snake_case in SQL, camelCase in TypeScript; JSONB payload keys are data and are never rewritten. */
export function createPlugins(): KyselyPlugin[] {
  return [new CamelCasePlugin({ maintainNestedObjectKeys: true })];
}
