/**
 * Queries built and compiled once, then run with new parameters. A repository query has a fixed
 * shape: only its parameter values change from call to call, so building Kysely's operation tree,
 * running the plugins over it and compiling it to SQL again on every call is wasted work (it was
 * nearly half of a point read's client CPU). `compiled(build)` calls `build` once per database with
 * placeholders for its arguments, remembers the SQL and where each argument's value goes among
 * the parameters, and from then on only fills them in. The SQL that runs is exactly what `build`
 * compiles to (the committed snapshots in test/unit/__sql__ record it).
 *
 * Rules for `build`: it passes each argument straight into a value position (`where(col, '=', x)`,
 * `values({ col: x })`, `sql\`${x}\``, `limit(x)`), never looks inside one, computes nothing from
 * it and never branches on it; a query whose shape varies (optional filters) takes a `shape` of
 * booleans, and each shape is compiled once. An argument `build` did not place is an error at the
 * first call, not a silently constant parameter.
 */
import { createQueryId, NoResultError, type QueryNode, type Compilable, type CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import type { DB } from '../schema/generated.js';

/** Stands for argument `index` while `build` runs; compiled into the parameter list as itself. */
class Placeholder {
  constructor(readonly index: number) {}
}

/** One compiled shape: the SQL, and per parameter either the argument it takes or a constant. */
interface Template {
  query: CompiledQuery['query'];
  sql: string;
  sources: (number | { value: unknown })[];
}

/** A compiled query: run it on a handle (or transaction) with its arguments. */
export interface CompiledStatement<A extends unknown[], R> {
  /** The compiled query for these arguments (what `all`, `first` and `run` execute). */
  compile(db: Kysely<DB>, ...args: A): CompiledQuery<R>;
  /** Every row. */
  all(db: Kysely<DB>, ...args: A): Promise<R[]>;
  /** The first row, or undefined. */
  first(db: Kysely<DB>, ...args: A): Promise<R | undefined>;
  /** The first row; Kysely's `NoResultError` when there is none (as `executeTakeFirstOrThrow`). */
  one(db: Kysely<DB>, ...args: A): Promise<R>;
  /** The whole result (rows, `numAffectedRows`). */
  run(db: Kysely<DB>, ...args: A): Promise<QueryResult<R>>;
}

/**
 * Templates by the executor they were compiled for: its adapter (one per database, shared by its
 * transactions), then each of its plugins in order, since a plugin (`withPlugin`) may change the
 * SQL. A transaction copies its handle's plugin list, so the list itself cannot be the key.
 */
interface CacheNode {
  next: WeakMap<object, CacheNode>;
  templates?: Map<string, Template>;
}

/** One statement's templates: by executor (see CacheNode), and by handle, whose executor never changes (one lookup a call). */
interface Cache {
  byExecutor: WeakMap<object, CacheNode>;
  byHandle: WeakMap<Kysely<DB>, Map<string, Template>>;
}

const newCache = (): Cache => ({ byExecutor: new WeakMap(), byHandle: new WeakMap() });

function templatesFor(cache: Cache, db: Kysely<DB>): Map<string, Template> {
  let templates = cache.byHandle.get(db);
  if (templates === undefined) cache.byHandle.set(db, (templates = templatesOfExecutor(cache.byExecutor, db)));
  return templates;
}

function templatesOfExecutor(cache: WeakMap<object, CacheNode>, db: Kysely<DB>): Map<string, Template> {
  const executor = db.getExecutor();
  let node: CacheNode | undefined = cache.get(executor.adapter);
  if (node === undefined) {
    node = { next: new WeakMap() };
    cache.set(executor.adapter, node);
  }
  for (const plugin of executor.plugins) {
    let next: CacheNode | undefined = node.next.get(plugin);
    if (next === undefined) {
      next = { next: new WeakMap() };
      node.next.set(plugin, next);
    }
    node = next;
  }
  return (node.templates ??= new Map<string, Template>());
}

function compileTemplate(query: Compilable<unknown>, arity: number): Template {
  const compiledQuery = query.compile();
  const used = new Set<number>();
  const sources = compiledQuery.parameters.map((value) => {
    if (!(value instanceof Placeholder)) return { value };
    used.add(value.index);
    return value.index;
  });
  for (let index = 0; index < arity; index++) {
    if (!used.has(index)) throw new Error(`compiled(): argument ${index + 1} is not used as a parameter value by the query built`);
  }
  if (compiledQuery.sql.includes('[object Object]'))
    throw new Error('compiled(): an argument was turned into SQL text instead of a parameter');
  return { query: compiledQuery.query, sql: compiledQuery.sql, sources };
}

/**
 * Runs a compiled query on a handle's own pool the way Kysely would, result plugins and log hook
 * included, without its per-query machinery (db/direct.ts).
 */
export type DirectRun = <R>(query: CompiledQuery<R>) => Promise<QueryResult<R>>;

const directRuns = new WeakMap<object, DirectRun>();

/**
 * Lets `db`'s compiled queries run through `run` instead of `db.executeQuery`. Only the handles
 * `createDatabase()` makes are registered (a transaction or a `withPlugin()` copy is another
 * object, and takes Kysely's path), so `run` knows exactly which plugins it stands in for.
 */
export function runCompiledThrough(db: Kysely<DB>, run: DirectRun): void {
  directRuns.set(db, run);
}

function execute<R>(db: Kysely<DB>, query: CompiledQuery<R>): Promise<QueryResult<R>> {
  const direct = directRuns.get(db);
  return direct ? direct(query) : db.executeQuery(query);
}

function statement<A extends unknown[], R>(compile: (db: Kysely<DB>, args: A) => CompiledQuery<R>): CompiledStatement<A, R> {
  return {
    compile: (db, ...args) => compile(db, args),
    all: async (db, ...args) => (await execute(db, compile(db, args))).rows,
    first: async (db, ...args) => (await execute(db, compile(db, args))).rows[0],
    one: async (db, ...args) => {
      const query = compile(db, args);
      const [row] = (await execute(db, query)).rows;
      if (row === undefined) throw new NoResultError(query.query as QueryNode);
      return row;
    },
    run: (db, ...args) => execute(db, compile(db, args)),
  };
}

function fill<R>(template: Template, args: readonly unknown[]): CompiledQuery<R> {
  const parameters = template.sources.map((source) => (typeof source === 'number' ? args[source] : source.value));
  return { query: template.query, queryId: createQueryId(), sql: template.sql, parameters };
}

/**
 * A fixed-shape query, compiled once per database.
 *
 * @example
 * ```ts
 * const byId = compiled((db, id: string) => db.selectFrom('users').select(USER_COLUMNS).where('users.id', '=', id));
 * const user = await byId.first(db, id);
 * ```
 */
export function compiled<A extends unknown[], R>(build: (db: Kysely<DB>, ...args: A) => Compilable<R>): CompiledStatement<A, R> {
  const cache = newCache();
  const arity = build.length - 1;
  return statement<A, R>((db, args) => {
    const templates = templatesFor(cache, db);
    let template = templates.get('');
    if (!template) {
      const placeholders = Array.from({ length: arity }, (_, index) => new Placeholder(index)) as unknown as A;
      template = compileTemplate(build(db, ...placeholders), arity);
      templates.set('', template);
    }
    return fill<R>(template, args);
  });
}

/**
 * A query whose shape depends on `shape` (which optional filters apply), compiled once per
 * database and shape. `build` may branch on `shape`, never on the arguments; an argument a shape
 * does not use is passed as `undefined` by convention and must not be placed.
 *
 * @example
 * ```ts
 * const list = compiledShapes((db, shape: { search: boolean }, userId: string, search: string | undefined) =>
 *   db.selectFrom('businessIdeas').selectAll().where('userId', '=', userId)
 *     .$if(shape.search, (qb) => qb.where(sql<boolean>`search @@ websearch_to_tsquery(${search})`)));
 * const rows = await list.all(db, { search: true }, userId, 'pricing');
 * ```
 */
export function compiledShapes<S extends Record<string, boolean>, A extends unknown[], R>(
  build: (db: Kysely<DB>, shape: S, ...args: A) => Compilable<R>,
): CompiledStatement<[S, ...A], R> {
  const cache = newCache();
  const arity = build.length - 2;
  return statement<[S, ...A], R>((db, [shape, ...args]) => {
    const templates = templatesFor(cache, db);
    // Callers write the shape's keys in one order; another order only compiles once more.
    let shapeKey = '';
    for (const name in shape) shapeKey += shape[name] ? `${name},` : `!${name},`;
    let template = templates.get(shapeKey);
    if (!template) {
      const placeholders = Array.from({ length: arity }, (_, index) => new Placeholder(index)) as unknown as A;
      // Arguments this shape does not use are allowed: only check that nothing became SQL text.
      template = compileTemplate(build(db, shape, ...placeholders), 0);
      templates.set(shapeKey, template);
    }
    return fill<R>(template, args);
  });
}
