/**
 * Shared by `npm run seed`, `npm run db:reset` and `npm run db:clean`: the database they work
 * on (DATABASE_URL / PG*, else the embedded development server) and how to open it.
 */
import { isDatabaseConfigured, loadConfig, type Config, type Env } from '../../src/config.js';
import { toConnectionUrl } from '../../src/connection.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { maskedUrl, startEmbeddedDevServer } from './dev-server.js';

/** The target database and how to let it go. */
export interface SeedCliTarget {
  config: Config;
  /** True when this is the embedded development server. */
  embedded: boolean;
  /** Printable, password masked. */
  description: string;
  release(): Promise<void>;
}

/**
 * DATABASE_URL / PG* when configured, else the embedded development server (started, or reused
 * when `npm run db:serve` runs).
 */
export async function openSeedTarget(env: Env): Promise<SeedCliTarget> {
  if (isDatabaseConfigured(env)) {
    const config = loadConfig(env);
    return { config, embedded: false, description: maskedUrl(config.migrationConnection), release: async () => {} };
  }
  const dev = await startEmbeddedDevServer({ env, strictPort: false });
  try {
    const config = loadConfig({ ...env, DATABASE_URL: toConnectionUrl(dev.connection), DATABASE_MIGRATION_URL: undefined });
    return {
      config,
      embedded: true,
      description: `${maskedUrl(config.migrationConnection)} (embedded development server)`,
      release: () => dev.server.stop(),
    };
  } catch (error) {
    await dev.server.stop();
    throw error;
  }
}

/**
 * A Database on the migration (owner) connection: seeds and cleaning write every table, so they
 * run as the schema owner, like migrations. No client-side query timeout: the load set's COPY runs
 * as long as it takes (it sets its own statement_timeout).
 */
export function openOwnerDatabase(config: Config, max = 4): Database {
  return createDatabase({ config: { ...config, connection: config.migrationConnection }, pool: { max, queryTimeoutMs: 0 } });
}
