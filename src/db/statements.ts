/**
 * Named prepared statements: each query the library sends runs as a statement named after its
 * SQL text, so a connection parses and plans it once and then only binds new parameters. Each
 * connection keeps at most `max` of them; the least recently used is closed (the protocol's Close
 * message, which PgBouncer 1.21+ also tracks, rather than SQL `DEALLOCATE`) before another is
 * prepared, so a stream of distinct SQL cannot grow the server's memory without bound.
 *
 * A statement prepared before a schema change may fail with "cached plan must not change result
 * type" (0A000); one that vanished from the session (`DEALLOCATE ALL`, `DISCARD ALL`) fails with
 * 26000. Either way the statement is closed and forgotten, and the caller may run the query again
 * (it did nothing): checkout.ts retries it once outside a transaction, and `runTransaction` runs
 * the transaction again inside one.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type pg from 'pg';

type QueryArgs = Parameters<pg.PoolClient['query']>;

/** node-postgres's record of the statements parsed on a connection (pg 8, `client.connection`). */
interface ParsedStatements {
  connection: { parsedStatements: Record<string, string>; close(msg: { type: 'S'; name: string }): void; sync(): void };
}

/** What `createStatements()` returns; see the module comment. */
export interface Statements {
  /**
   * `args` to send on `client`: as a named statement when the SQL can be one, closing the least
   * recently used at the bound (only then a promise: the common case costs no extra turn).
   */
  prepare(client: pg.PoolClient, args: QueryArgs): QueryArgs | Promise<QueryArgs>;
  /** After `error` on `args`: whether it said the statement was stale or gone, which is now closed and forgotten. */
  forgetStale(client: pg.PoolClient, args: QueryArgs, error: unknown): Promise<boolean>;
}

/** A plain query of `client.query()`: `(text, values)`, or a config of only text, values and a row mode. */
interface PlainQuery {
  text: string;
  values?: unknown[];
  rowMode?: 'array';
}

/** The plain query `args` make, or undefined for anything else (named already, a submittable, callbacks, types). */
function queryOf(args: QueryArgs): PlainQuery | undefined {
  const [first, values] = args as unknown[];
  if (typeof first === 'string') {
    return values === undefined || Array.isArray(values) ? { text: first, values: values as unknown[] | undefined } : undefined;
  }
  if ((args as unknown[]).length !== 1 || typeof first !== 'object' || first === null) return undefined;
  const config = first as Record<string, unknown>;
  for (const key in config) if (key !== 'text' && key !== 'values' && key !== 'rowMode') return undefined;
  if (typeof config.text !== 'string' || (config.values !== undefined && !Array.isArray(config.values))) return undefined;
  return config as unknown as PlainQuery;
}

/** SQL that can be a named statement: one data statement (a parameterless text may hold several). */
const DATA_STATEMENT = /^\s*(select|insert|update|delete|with|values|table)\b/i;

/** Names of SQL texts seen lately, so a text is hashed once (bounded: dynamic SQL must not grow it). */
const names = new Map<string, string>();
/** Of the same texts, the name when the text is a data statement, else null. */
const dataNames = new Map<string, string | null>();
const MAX_NAMES = 10_000;

/** The statement name of `text`: stable across connections and processes, within NAMEDATALEN. */
export function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    if (names.size >= MAX_NAMES) names.clear();
    name = `dl_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`;
    names.set(text, name);
  }
  return name;
}

/** `statementName(text)` when `text` begins a data statement, else null; both remembered. */
function dataStatementName(text: string): string | null {
  let name = dataNames.get(text);
  if (name === undefined) {
    if (dataNames.size >= MAX_NAMES) dataNames.clear();
    name = DATA_STATEMENT.test(text) ? statementName(text) : null;
    dataNames.set(text, name);
  }
  return name;
}

/** Whether `error` means a named statement must be prepared again: stale after a schema change, or gone. */
export function isStaleStatementError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type')) ||
    (code === '26000' && typeof message === 'string' && /prepared statement .* does not exist/.test(message))
  );
}

/**
 * Closes statement `name` on `client` (the protocol's Close, then Sync). Closing a statement that
 * does not exist is not an error, and it works in an aborted transaction too.
 */
function closeStatement(client: pg.PoolClient, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const close = Object.assign(new EventEmitter(), {
      callback: (error?: Error | null) => (error ? reject(error) : resolve()),
      error: undefined as Error | undefined,
      submit(connection: ParsedStatements['connection']) {
        connection.close({ type: 'S', name });
        connection.sync();
      },
      handleError(error: Error) {
        close.error = error;
      },
      handleReadyForQuery() {
        close.callback(close.error);
      },
    });
    void (client.query as unknown as (submittable: typeof close) => unknown)(close);
  }).then(() => {
    delete (client as unknown as ParsedStatements).connection.parsedStatements[name];
  });
}

/** Named statements for every connection of a pool, at most `max` per connection. */
export function createStatements(max: number): Statements {
  // Per connection, its statement names, least recently used first (a Map keeps insertion order).
  const kept = new WeakMap<pg.PoolClient, Map<string, true>>();

  /** The query `args` make and its statement name, when it can be a named statement. */
  const namedOf = (args: QueryArgs): { query: PlainQuery; name: string } | undefined => {
    const query = queryOf(args);
    if (query === undefined) return undefined;
    const { text, values } = query;
    const name = dataStatementName(text);
    if (name === null || ((values === undefined || values.length === 0) && text.includes(';'))) return undefined;
    return { query, name };
  };

  return {
    prepare(client, args) {
      const named = namedOf(args);
      if (named === undefined) return args;
      const { query, name } = named;
      const send = [{ name, text: query.text, values: query.values, rowMode: query.rowMode }] as unknown as QueryArgs;
      let lru = kept.get(client);
      if (!lru) kept.set(client, (lru = new Map<string, true>()));
      if (lru.delete(name) || lru.size < max) {
        lru.set(name, true);
        return send;
      }
      const full = lru;
      return (async () => {
        for (const oldest of full.keys()) {
          if (full.size < max) break;
          await closeStatement(client, oldest);
          full.delete(oldest);
        }
        full.set(name, true);
        return send;
      })();
    },

    async forgetStale(client, args, error) {
      const name = namedOf(args)?.name;
      if (name === undefined || !isStaleStatementError(error)) return false;
      kept.get(client)?.delete(name);
      await closeStatement(client, name);
      return true;
    },
  };
}
