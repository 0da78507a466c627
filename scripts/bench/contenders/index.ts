/**
 * The contenders of `npm run bench -- queries`, in the order of the table. `raw-pg-named` is the
 * baseline every ratio is taken against.
 */
import { plainDrizzle, preparedDrizzle } from './drizzle.js';
import { plainKysely } from './kysely.js';
import { prisma } from './prisma.js';
import { rawPg } from './raw-pg.js';
import { repositoryThroughPgBouncer } from './repo-pgbouncer.js';
import { replicaRouted } from './replica.js';
import { repository, repositoryAsUser } from './repository.js';
import type { ContenderSpec } from './types.js';

export const BASELINE = 'raw-pg-named';

/** pgbench is special: it runs in its own process (see ./pgbench.ts), for the point read only. */
export const PGBENCH = 'pgbench';

export const CONTENDERS: readonly ContenderSpec[] = [
  { name: 'raw-pg-named', label: 'raw pg, named prepared statements', create: async (c) => rawPg(c, true) },
  { name: 'raw-pg-unnamed', label: 'raw pg, unnamed statements', create: async (c) => rawPg(c, false) },
  { name: 'kysely', label: 'plain Kysely with CamelCasePlugin', create: async (c) => plainKysely(c) },
  { name: 'drizzle', label: 'Drizzle, plain', create: async (c) => plainDrizzle(c) },
  { name: 'drizzle-prepared', label: 'Drizzle, .prepare()', create: async (c) => preparedDrizzle(c) },
  { name: 'prisma', label: 'Prisma 7 with @prisma/adapter-pg', create: (c) => prisma(c) },
  { name: 'repo', label: "this project's repositories (database.owner)", create: async (c) => repository(c) },
  {
    name: 'repo-unprepared',
    label: "this project's repositories, preparedStatements: false",
    create: async (c) =>
      'preparedStatements' in c.config.pool
        ? repository(c, { preparedStatements: false })
        : { skipped: 'this version of the library has no preparedStatements setting' },
  },
  { name: 'repo-app', label: "this project's getIdea via withUser (application role, RLS)", create: async (c) => repositoryAsUser(c) },
  { name: 'repo-pgbouncer', label: "this project's repositories through PgBouncer (transaction mode)", create: repositoryThroughPgBouncer },
  { name: 'repo-replica', label: "this project's getIdea, replica-routed to a streaming standby", create: (c) => replicaRouted(c, true) },
  { name: 'repo-replica-primary', label: "this project's getIdea on the same pair's primary only", create: (c) => replicaRouted(c, false) },
];

/** Every contender name, pgbench included, in table order. */
export const CONTENDER_NAMES: readonly string[] = [PGBENCH, ...CONTENDERS.map((c) => c.name)];
