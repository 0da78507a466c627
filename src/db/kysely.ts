/**
 * The one place that turns the tuned pool into Kysely's dialect and plugins, so the library, the
 * scripts and the SQL snapshot tests compile queries the same way.
 */
import { CamelCasePlugin, PostgresDialect, type KyselyPlugin, type PostgresPool } from 'kysely';

/** snake_case in SQL, camelCase in TypeScript; JSONB payload keys are data and are never rewritten. */
const CAMEL_CASE = { maintainNestedObjectKeys: true } as const;

/** The dialect over an existing pool (the pool is tuned in `pool.ts`). */
export function createDialect(pool: PostgresPool): PostgresDialect {
  return new PostgresDialect({ pool });
}

/** The plugins every handle compiles with: see `CAMEL_CASE`. */
export function createPlugins(): KyselyPlugin[] {
  return [new CamelCasePlugin(CAMEL_CASE)];
}

/** The plugin's own (memoized) column name mapping, for results built without its result pass (direct.ts). */
class ResultKeys extends CamelCasePlugin {
  key(column: string): string {
    return this.camelCase(column);
  }
}
const resultKeys = new ResultKeys(CAMEL_CASE);

/** The key a result column arrives under, exactly as `createPlugins()`'s result pass names it. */
export function resultKey(column: string): string {
  return resultKeys.key(column);
}
