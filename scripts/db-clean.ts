/**
 * `npm run db:clean [-- --force]`: empties every table of the project (audit_log and
 * seed_history included) and keeps the schema and the migration ledger, in one TRUNCATE.
 * Refuses production and databases whose name does not look like development or test.
 */
import { parseCommandLine, printUsage, runMain } from './lib/main.js';

const usage = `Usage: npm run db:clean [-- --force]

Empties every table in the public schema except schema_migrations (TRUNCATE ... RESTART IDENTITY),
in DATABASE_URL (or PG*), or in the embedded development server when none is configured.
The schema and the migration ledger stay. Refuses when NODE_ENV=production or when the database
name does not look like a development or test database (a dev, development, test, testing or
local word, ai_validation_platform[_test], or a dl_ prefix), unless --force is given.

Exit codes: 0 ok, 1 failure or refusal, 2 usage error, 130 or 143 interrupted.
`;

runMain(async (argv) => {
  const { values, help } = parseCommandLine(argv, { options: { force: { type: 'boolean' } }, usage });
  if (help) return printUsage(usage);
  const { assertDevelopmentTarget } = await import('../seeds/guards.js');
  const { cleanDatabase } = await import('../seeds/clean.js');
  const { openSeedTarget, openOwnerDatabase } = await import('./lib/seed-cli.js');
  const target = await openSeedTarget(process.env);
  try {
    assertDevelopmentTarget({
      action: 'db:clean',
      database: target.config.migrationConnection.database,
      env: process.env,
      force: values.force ?? false,
    });
    const database = openOwnerDatabase(target.config, 1);
    try {
      const emptied = await cleanDatabase(database.owner);
      console.log(`Emptied ${emptied.length} tables in ${target.description}:`);
      for (const t of emptied) console.log(`  ${t.table.padEnd(16)} ${String(t.rows).padStart(9)} rows removed`);
    } finally {
      await database.close();
    }
  } finally {
    await target.release();
  }
  return 0;
});
