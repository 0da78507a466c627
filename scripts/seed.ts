/**
 * `npm run seed [-- dev]`: loads a data set into the configured database (DATABASE_URL / PG*),
 * or into the embedded development server when none is configured. The database must already be
 * migrated (`npm run migrate up`, or `npm start` for the embedded one). Loading is idempotent.
 */
import { sql } from 'kysely';
import { seedDev } from '../seeds/dev.js';
import { isDatabaseConfigured, loadConfig, toConnectionUrl, type Config } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import { DataLayerError } from '../src/errors.js';
import { maskedUrl, startEmbeddedDevServer } from './lib/dev-server.js';
import { runMain } from './lib/main.js';

const sets = { dev: seedDev } as const;

const usage = `Usage: npm run seed [-- <set>]

Sets: ${Object.keys(sets).join(', ')} (default: dev)
Loads the set into DATABASE_URL (or PG*), or into the embedded development server when no
database is configured. Run migrations first. A set that is already loaded is left as is.
`;

runMain(async (argv) => {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    return 0;
  }
  const name = argv[0] ?? 'dev';
  if (argv.length > 1 || !Object.hasOwn(sets, name)) {
    console.error(`error: unknown seed set "${argv.join(' ')}"\n\n${usage}`);
    return 2;
  }
  const seed = sets[name as keyof typeof sets];

  let config: Config;
  let release = async (): Promise<void> => {};
  if (isDatabaseConfigured(process.env)) {
    config = loadConfig(process.env);
  } else {
    const dev = await startEmbeddedDevServer({ env: process.env, strictPort: false });
    release = () => dev.server.stop();
    config = loadConfig({ ...process.env, DATABASE_URL: toConnectionUrl(dev.connection), DATABASE_MIGRATION_URL: undefined });
  }
  try {
    console.log(`Seeding "${name}" into ${maskedUrl(config.connection)}`);
    const database = createDatabase({ config, pool: { max: 2 } });
    try {
      const { rows } = await sql<{ t: string | null }>`SELECT to_regclass('public.users')::text AS t`.execute(database.db);
      if (!rows[0]?.t) {
        throw new DataLayerError('SCHEMA_MISSING', 'the database has no schema yet: run `npm run migrate up` (or `npm start`) first');
      }
      const result = await seed(database.db);
      if (result.skipped) console.log('Already loaded: nothing to do');
      else console.log(`Loaded ${Object.entries(result.inserted).map(([table, n]) => `${n} ${table}`).join(', ')}`);
    } finally {
      await database.close();
    }
  } finally {
    await release();
  }
  return 0;
});
