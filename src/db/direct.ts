/**
 * The repositories' compiled queries (repositories/compiled.ts), run straight on a handle's pool:
 * one checkout, one `client.query`, rows built with camelCase keys from the field list, the query
 * logged as Kysely logs it. Kysely's own path adds, per query, a connection provider, two driver
 * wrappers, a copy of the parameters and a result pass that rebuilds every row: at a point read's
 * size that was as much Node CPU as the protocol work itself. The pool is the same, so are the
 * checkout's guarantees (typed errors, the read retry, named statements, close()).
 */
import type { CompiledQuery, LogEvent, PostgresPool, QueryResult } from 'kysely';
import type pg from 'pg';
import type { DirectRun } from '../repositories/compiled.js';
import { resultKey } from './kysely.js';

/** The commands whose row count Kysely reports as `numAffectedRows`. */
const AFFECTING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

type ArrayQuery = (config: pg.QueryArrayConfig) => Promise<pg.QueryArrayResult>;

/** Runs compiled queries on `pool` for a handle made with `createPlugins()` and `log`. */
export function directRun(pool: PostgresPool, log: (event: LogEvent) => void): DirectRun {
  return async <R>(query: CompiledQuery<R>): Promise<QueryResult<R>> => {
    const client = await pool.connect();
    const started = performance.now();
    let result: pg.QueryArrayResult;
    try {
      result = await (client.query as unknown as ArrayQuery)({ text: query.sql, values: query.parameters as unknown[], rowMode: 'array' });
    } catch (error) {
      client.release();
      log({ level: 'error', error, query, queryDurationMillis: performance.now() - started });
      throw error;
    }
    client.release();
    log({ level: 'query', query, queryDurationMillis: performance.now() - started });
    return { rows: rowsOf<R>(query, result), numAffectedRows: AFFECTING.has(result.command) ? BigInt(result.rowCount ?? 0) : undefined };
  };
}

/**
 * How a compiled query's rows are built, by its operation node (the same object on every run of a
 * compiled query): worked out once, and used while the server names the same columns.
 */
const buildersByQuery = new WeakMap<object, { names: string[]; build: RowBuilder }>();

type RowBuilder = (values: unknown[]) => Record<string, unknown>;

/** The plugin's result pass copies arrays (element by element, nested objects kept): so does a builder. */
const copied = (value: unknown): unknown => (Array.isArray(value) ? value.slice() : value);

/**
 * A function that builds one row as an object literal with these keys: every row it builds has
 * the same shape from the start, about a sixth of the CPU of adding the keys one by one. A later
 * key of the same name wins, as in the plugin's pass; `__proto__` is written as a computed key,
 * which defines an own property (a literal one would set the prototype). The keys are JSON string
 * literals, so no column name can become code. Where code generation is disallowed
 * (`node --disallow-code-generation-from-strings`), the keys are added one by one instead.
 * Exported for its test.
 */
export function rowBuilder(keys: readonly string[]): RowBuilder {
  const properties = keys.map((key, i) => `${key === '__proto__' ? '["__proto__"]' : JSON.stringify(key)}: copied(values[${i}])`);
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- built from JSON string literals only (above)
    const make = new Function('copied', `return (values) => ({ ${properties.join(', ')} });`) as (copy: typeof copied) => RowBuilder;
    return make(copied);
  } catch (error) {
    if (!(error instanceof EvalError)) throw error;
    return (values) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++)
        Object.defineProperty(row, keys[i]!, { value: copied(values[i]), enumerable: true, writable: true, configurable: true });
      return row;
    };
  }
}

function builderOf(query: CompiledQuery, fields: readonly pg.FieldDef[]): RowBuilder {
  const known = buildersByQuery.get(query.query);
  if (known !== undefined && known.names.length === fields.length) {
    let same = true;
    for (let i = 0; i < fields.length && same; i++) same = fields[i]!.name === known.names[i];
    if (same) return known.build;
  }
  const names = fields.map((field) => field.name);
  const build = rowBuilder(names.map(resultKey));
  buildersByQuery.set(query.query, { names, build });
  return build;
}

/** The rows as objects keyed as the CamelCase plugin's result pass keys them. */
function rowsOf<R>(query: CompiledQuery, { fields, rows }: pg.QueryArrayResult): R[] {
  if (rows.length === 0) return [];
  const build = builderOf(query, fields);
  const objects = new Array<R>(rows.length);
  for (let r = 0; r < rows.length; r++) objects[r] = build(rows[r]!) as R;
  return objects;
}
