/**
 * Compiles repository functions without a database: a Kysely over DummyDriver (every query
 * returns no rows) with the library's plugins, recording the SQL each call sends. The unit tests
 * write these into committed `.sql` snapshot files so a query change shows up in review as SQL.
 */
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery } from 'kysely';
import { createPlugins } from '../../src/db/kysely.js';
import { asExecutor, type Executor } from '../../src/repositories/executor.js';
import type { DB } from '../../src/schema/generated.js';

export interface Capture {
  /** The owner's path (every repository function takes it), over DummyDriver. */
  db: Executor<'owner'>;
  /** Runs `fn` and returns the SQL it sent (errors from empty results are ignored). */
  sqlOf: (fn: (db: Executor<'owner'>) => Promise<unknown>) => Promise<string>;
  /** Runs `fn` and returns the queries it sent, with their parameters. */
  queriesOf: (fn: (db: Executor<'owner'>) => Promise<unknown>) => Promise<CompiledQuery[]>;
}

export function captureSql(): Capture {
  const queries: CompiledQuery[] = [];
  const db = asExecutor<'owner'>(
    new Kysely<DB>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (k) => new PostgresIntrospector(k),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
      plugins: createPlugins(),
      log: (event) => {
        queries.push(event.query);
      },
    }),
  );
  const queriesOf = async (fn: (db: Executor<'owner'>) => Promise<unknown>): Promise<CompiledQuery[]> => {
    queries.length = 0;
    await fn(db).catch(() => undefined);
    return [...queries];
  };
  return {
    db,
    queriesOf,
    sqlOf: async (fn) => (await queriesOf(fn)).map((q) => `${q.sql};`).join('\n'),
  };
}

/** Renders named entries as one reviewable .sql document. */
export function sqlDocument(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([name, text]) => `-- ${name}\n${text || '-- (no query: rejected before the database)'}\n`)
    .join('\n');
}
