/**
 * Guards for destructive commands (db:reset, db:clean) and for seeding: refuse production, and
 * refuse databases whose name does not say "development or test", unless --force.
 */
import type { Env } from '../src/config.js';
import { SeedError } from './errors.js';

/**
 * Names that look like a development or test database: a `dev`, `development`, `test`, `testing`
 * or `local` word (delimited by `_`, `-` or the ends: `app_dev`, `test-shop`, `local`), the
 * embedded dev database `ai_validation_platform` and its `_test` twin, and `dl_*` (this
 * repository's test harness and tooling).
 */
export const DEVELOPMENT_DATABASE_NAME = /(^|[_-])(dev|development|test|testing|local)([_-]|$)|^ai_validation_platform(_test)?$|^dl_/i;

/** True when `name` looks like a development or test database (see DEVELOPMENT_DATABASE_NAME). */
export function isDevelopmentDatabaseName(name: string): boolean {
  return DEVELOPMENT_DATABASE_NAME.test(name);
}

/**
 * Throws SeedError(SEED_GUARD) unless `force`: when NODE_ENV is production, and (with
 * `checkName`, the default) when the database name does not look like a development database.
 *
 * @example
 * ```ts
 * assertDevelopmentTarget({ action: 'db:clean', database: config.connection.database, env: process.env, force });
 * ```
 */
export function assertDevelopmentTarget(options: {
  action: string;
  database: string;
  env: Env;
  force: boolean;
  checkName?: boolean;
}): void {
  if (options.force) return;
  if (options.env.NODE_ENV?.trim().toLowerCase() === 'production') {
    throw new SeedError(
      'SEED_GUARD',
      `refusing to run ${options.action} on "${options.database}": NODE_ENV is production. ` +
        'This command writes development data or deletes data; pass --force if you really mean it.',
    );
  }
  if (options.checkName !== false && !isDevelopmentDatabaseName(options.database)) {
    throw new SeedError(
      'SEED_GUARD',
      `refusing to run ${options.action} on "${options.database}": the name does not look like a development or test ` +
        'database (expected a dev, development, test, testing or local word, ai_validation_platform[_test], or a dl_ prefix). ' +
        'Pass --force if you really mean it.',
    );
  }
}
