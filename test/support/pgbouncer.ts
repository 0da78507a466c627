/**
 * The PgBouncer starter for the harness (`TEST_DATABASE_POOLER=pgbouncer`) and the pooler tests:
 * scripts/lib/pgbouncer.ts, which the benchmark's `repo-pgbouncer` contender uses too.
 */
export { PGBOUNCER, startPgBouncer, type PgBouncer, type PgBouncerOptions } from '../../scripts/lib/pgbouncer.js';
