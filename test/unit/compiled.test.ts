import {
  CamelCasePlugin,
  DummyDriver,
  Kysely,
  NoResultError,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  type KyselyPlugin,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import { compiled, compiledShapes } from '../../src/repositories/compiled.js';
import type { DB } from '../../src/schema/generated.js';

function database(plugins: KyselyPlugin[] = [new CamelCasePlugin()]): Kysely<DB> {
  return new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    plugins,
  });
}

describe('compiled()', () => {
  it('builds once per database and fills in each call’s arguments, constants kept in place', async () => {
    let builds = 0;
    const byEmail = compiled((db, email: string, limit: number) => {
      builds++;
      return db.selectFrom('users').select('users.id').where('users.email', '=', email).where('users.deletedAt', 'is', null).limit(limit);
    });
    const db = database();
    const first = byEmail.compile(db, 'a@example.com', 5);
    const second = byEmail.compile(db, 'b@example.com', 7);
    expect(builds).toBe(1);
    expect(second.sql).toBe(first.sql);
    expect(first.sql).toBe('select "users"."id" from "users" where "users"."email" = $1 and "users"."deleted_at" is null limit $2');
    expect(first.parameters).toEqual(['a@example.com', 5]);
    expect(second.parameters).toEqual(['b@example.com', 7]);
    expect(second.queryId).not.toBe(first.queryId);
    // The same SQL as building it on every call.
    const built = db
      .selectFrom('users')
      .select('users.id')
      .where('users.email', '=', 'b@example.com')
      .where('users.deletedAt', 'is', null)
      .limit(7)
      .compile();
    expect(second.sql).toBe(built.sql);
    expect(second.parameters).toEqual(built.parameters);
    // Transactions share their handle's templates; another database compiles its own.
    await db.transaction().execute(async (trx) => {
      byEmail.compile(trx, 'c@example.com', 1);
    });
    expect(builds).toBe(1);
    byEmail.compile(database(), 'd@example.com', 1);
    expect(builds).toBe(2);
  });

  it('compiles again for a handle with other plugins, which may change the SQL', () => {
    const byId = compiled((db, id: string) => db.selectFrom('users').select('users.deletedAt').where('users.id', '=', id));
    const db = database();
    expect(byId.compile(db, 'x').sql).toBe('select "users"."deleted_at" from "users" where "users"."id" = $1');
    // Without CamelCasePlugin the camelCase names go through as written.
    expect(byId.compile(db.withoutPlugins(), 'x').sql).toBe('select "users"."deletedAt" from "users" where "users"."id" = $1');
    expect(byId.compile(db, 'y').sql).toBe('select "users"."deleted_at" from "users" where "users"."id" = $1');
  });

  it('refuses, at the first call, an argument the query does not place as a parameter', () => {
    const unused = compiled((db, id: string, _name: string) => db.selectFrom('users').select('users.id').where('users.id', '=', id));
    expect(() => unused.compile(database(), 'x', 'y')).toThrow(
      'compiled(): argument 2 is not used as a parameter value by the query built',
    );
  });

  it('refuses an argument turned into SQL text instead of a parameter', () => {
    const inlined = compiled((db, id: string) =>
      db
        .selectFrom('users')
        .select('users.id')
        .where(sql.raw<boolean>(`users.id = '${String(id)}'`))
        .where('users.email', '=', id),
    );
    expect(() => inlined.compile(database(), 'x')).toThrow('compiled(): an argument was turned into SQL text instead of a parameter');
  });

  it('one() raises Kysely’s NoResultError when no row comes back; first() gives undefined', async () => {
    const byId = compiled((db, id: string) => db.selectFrom('users').select('users.id').where('users.id', '=', id));
    const db = database();
    await expect(byId.first(db, 'x')).resolves.toBeUndefined();
    await expect(byId.one(db, 'x')).rejects.toBeInstanceOf(NoResultError);
  });
});

describe('compiledShapes()', () => {
  it('compiles each shape once; arguments a shape does not use are passed as undefined', () => {
    let builds = 0;
    const list = compiledShapes((db, shape: { email: boolean }, id: string, email: string | undefined) => {
      builds++;
      return db
        .selectFrom('users')
        .select('users.id')
        .where('users.id', '=', id)
        .$if(shape.email, (qb) => qb.where('users.email', '=', email!));
    });
    const db = database();
    const plain = list.compile(db, { email: false }, 'a', undefined);
    const filtered = list.compile(db, { email: true }, 'a', 'a@example.com');
    list.compile(db, { email: true }, 'b', 'b@example.com');
    list.compile(db, { email: false }, 'b', undefined);
    expect(builds).toBe(2);
    expect(plain.sql).toBe('select "users"."id" from "users" where "users"."id" = $1');
    expect(plain.parameters).toEqual(['a']);
    expect(filtered.sql).toBe('select "users"."id" from "users" where "users"."id" = $1 and "users"."email" = $2');
    expect(filtered.parameters).toEqual(['a', 'a@example.com']);
  });
});
