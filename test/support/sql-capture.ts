/**
 * Compiles repository functions without a database: a Kysely over DummyDriver (every query
 * returns no rows) with the library's plugins, recording the SQL each call sends. The unit tests
 * write these into committed `.sql` snapshot files so a query change shows up in review as SQL.
 */
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type QueryResult,
} from 'kysely';
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

/** Options for `captureSql()`. */
export interface CaptureOptions {
  /**
   * Every query returns this one row instead of none, to reach the statements of the success
   * paths (an evaluation found, then its agent results; a claim, then its idea).
   */
  row?: Record<string, unknown>;
}

export function captureSql(options: CaptureOptions = {}): Capture {
  const queries: CompiledQuery[] = [];
  const { row } = options;
  const db = asExecutor<'owner'>(
    new Kysely<DB>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => (row === undefined ? new DummyDriver() : new RowDriver(row)),
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

/** DummyDriver whose every query returns `row`. */
class RowDriver extends DummyDriver {
  readonly #connection: DatabaseConnection;
  constructor(row: Record<string, unknown>) {
    super();
    this.#connection = {
      executeQuery: async <R>(): Promise<QueryResult<R>> => ({ rows: [row as R] }),
      streamQuery: () => {
        throw new Error('captureSql: streaming is not captured');
      },
    };
  }
  override async acquireConnection(): Promise<DatabaseConnection> {
    return this.#connection;
  }
}

/** Renders named entries as one reviewable .sql document. */
export function sqlDocument(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([name, text]) => `-- ${name}\n${text || '-- (no query: rejected before the database)'}\n`)
    .join('\n');
}
