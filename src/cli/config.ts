/**
 * The configuration of a command: the environment only (`loadConfig`), never a `.env` file (the
 * npm scripts load that themselves, before). A missing `DATABASE_URL` is a `ConfigError` naming it,
 * which the CLI reports as a usage error (exit 2).
 */
import { isDatabaseConfigured, loadConfig, type Config, type Env } from '../config.js';
import { ConfigError } from '../errors.js';

/**
 * `loadConfig(env)`; for migrations (`migration: true`) `DATABASE_MIGRATION_URL` alone is enough,
 * so a migration job needs no application connection.
 *
 * @example
 * ```ts
 * const config = loadCommandConfig(process.env, { migration: true });
 * ```
 */
export function loadCommandConfig(env: Env, options: { migration?: boolean } = {}): Config {
  if (!options.migration) return loadConfig(env);
  if (!isDatabaseConfigured(env) && env.DATABASE_MIGRATION_URL?.trim())
    return loadConfig({ ...env, DATABASE_URL: env.DATABASE_MIGRATION_URL });
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Name the variable migrations look at first.
    throw new ConfigError(
      error.issues.map((issue) =>
        issue.variable === 'DATABASE_URL' && !isDatabaseConfigured(env)
          ? {
              variable: 'DATABASE_MIGRATION_URL, DATABASE_URL',
              message: 'neither is set; set one of them, or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE',
            }
          : issue,
      ),
      { cause: error },
    );
  }
}

/** Whether `loadCommandConfig(env, options)` has a server to connect to (else the scripts use the embedded one). */
export function isCommandConfigured(env: Env, options: { migration?: boolean } = {}): boolean {
  return isDatabaseConfigured(env) || (options.migration === true && Boolean(env.DATABASE_MIGRATION_URL?.trim()));
}
