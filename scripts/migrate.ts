/**
 * `npm run migrate -- <command> [options]`: the migration CLI of src/cli/migrate.ts (the same code
 * as `ai-data-layer migrate`), with this repository's conveniences: `.env` is loaded, `create` is
 * offered, and without DATABASE_MIGRATION_URL, DATABASE_URL or PG* the embedded development server
 * under .data/postgres (EMBEDDED_POSTGRES_DIR) is used.
 */
import type { Config, Env } from '../src/config.js';
import { isCommandConfigured, loadCommandConfig } from '../src/cli/config.js';
import { migrateCommand, migrateInterruptedHint, type MigrateFlavour } from '../src/cli/migrate.js';
import { runMain } from './lib/main.js';

/** The npm script's flavour of the migrate command. */
const NPM_MIGRATE: MigrateFlavour = {
  program: 'npm run migrate --',
  create: true,
  connectionHelp: `Connection: DATABASE_MIGRATION_URL when set (a direct, owner-role connection), else
DATABASE_URL or the PG* variables (.env is read first). With none set, the embedded
development server in .data/postgres (EMBEDDED_POSTGRES_DIR) is used (database
"ai_validation_platform"). Always put "--" after "migrate": npm keeps the flags before
it for itself, and the command then refuses to run.`,
  withConfig,
};

/** The configuration, or the embedded development server's when no database is configured. */
async function withConfig(env: Env, fn: (config: Config) => Promise<number>): Promise<number> {
  if (isCommandConfigured(env, { migration: true })) return fn(loadCommandConfig(env, { migration: true }));

  const [{ loadConfig }, { toConnectionUrl }, { embeddedDataDir, startEmbeddedDevServer }] = await Promise.all([
    import('../src/config.js'),
    import('../src/connection.js'),
    import('./lib/dev-server.js'),
  ]);
  console.error(`DATABASE_URL is not set: using the embedded development server (${embeddedDataDir(env)})`);
  const dev = await startEmbeddedDevServer({ env, strictPort: false });
  try {
    // loadConfig still validates the MIGRATION_* variables.
    return await fn(loadConfig({ ...env, DATABASE_URL: toConnectionUrl(dev.connection), DATABASE_MIGRATION_URL: undefined }));
  } finally {
    await dev.server.stop();
  }
}

runMain((argv) => migrateCommand(argv, NPM_MIGRATE), { interruptedHint: migrateInterruptedHint });
