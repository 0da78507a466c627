/**
 * Database names of one test run. Everything a run creates is `dl_tpl_<runId>` (the template) or
 * starts with `dl_t_<runId>_`, so teardown can find this run's leftovers and nobody else's.
 */

export function templateName(runId: string): string {
  return `dl_tpl_${runId}`;
}

/** The prefix for `uniqueDatabaseName()`: `dl_t_<runId>`. */
export function testDatabasePrefix(runId: string): string {
  return `dl_t_${runId}`;
}

/** A LIKE pattern (escape character `\`) matching this run's test databases. */
export function runDatabasePattern(runId: string): string {
  return `${testDatabasePrefix(runId).replaceAll('_', '\\_')}\\_%`;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The admin connection URL (with its password) of the test server. */
    dlAdminUrl: string;
    /** The migrated template database test databases are cloned from. */
    dlTemplate: string;
    /** This run's id; every database this run creates starts with `dl_t_<runId>_` or is the template. */
    dlRunId: string;
    /**
     * `postgres://host:port` of the transaction pooler the test files' handles go through
     * (`TEST_DATABASE_POOLER=pgbouncer` or `TEST_POOLER_URL`), or '' when they connect directly.
     */
    dlPoolerUrl: string;
  }
}
