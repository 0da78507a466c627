/**
 * Binds a repository module (plain functions taking `db` first) to one `Kysely<DB>`, so
 * `database.users.getUser(id)` calls `users.getUser(db, id)`.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../schema/generated.js';

type RepositoryFunction = (db: Kysely<DB>, ...args: never[]) => unknown;

/** The module's functions without their first (`db`) parameter. */
export type Bound<M> = {
  [K in keyof M as M[K] extends RepositoryFunction ? K : never]: M[K] extends (db: Kysely<DB>, ...args: infer A) => infer R
    ? (...args: A) => R
    : never;
};

/** The module's function-valued exports, each with `db` applied; frozen. */
export function bindRepository<M extends object>(module: M, db: Kysely<DB>): Bound<M> {
  const bound: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(module)) {
    if (typeof value === 'function') bound[name] = (...args: unknown[]) => (value as (...a: unknown[]) => unknown)(db, ...args);
  }
  return Object.freeze(bound) as Bound<M>;
}
