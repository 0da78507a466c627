/**
 * `npm run db:reset [-- --force]`: migrates down to zero, up again, and loads the dev set: a
 * fresh development database in one command. Refuses production and databases whose name does
 * not look like development or test, unless --force.
 */
import { parseCommandLine, printUsage, runMain } from './lib/main.js';

const usage = `Usage: npm run db:reset [-- --force]

Reverts every migration (down to 0), applies them all again, and loads the dev seed set, in
DATABASE_URL (or PG*), or in the embedded development server when none is configured. All data
is lost. Refuses when NODE_ENV=production or when the database name does not look like a
development or test database (a dev, development, test, testing or local word,
ai_validation_platform[_test], or a dl_ prefix), unless --force is given.

Exit codes: 0 ok, 1 failure or refusal, 2 usage error, 130 or 143 interrupted.
`;

runMain(async (argv) => {
  const { values, help } = parseCommandLine(argv, { options: { force: { type: 'boolean' } }, usage });
  if (help) return printUsage(usage);
  const force = values.force ?? false;
  const { assertDevelopmentTarget } = await import('../seeds/guards.js');
  const { openSeedTarget, openOwnerDatabase } = await import('./lib/seed-cli.js');
  const { createMigrator } = await import('../src/migrate/index.js');
  const { devSet } = await import('../seeds/dev.js');
  const { runSeedSet } = await import('../seeds/runner.js');
  const { formatChecks } = await import('../seeds/checks.js');
  const { progressLogger } = await import('./lib/dev-server.js');

  const target = await openSeedTarget(process.env);
  try {
    assertDevelopmentTarget({ action: 'db:reset', database: target.config.migrationConnection.database, env: process.env, force });
    console.log(`Resetting ${target.description}`);
    const migrator = createMigrator({ connection: target.config.migrationConnection, ...target.config.migrations, logger: progressLogger });
    const down = await migrator.down({ to: 0 });
    console.log(`Reverted ${down.length} migration(s)`);
    const up = await migrator.up();
    console.log(`Applied ${up.length} migration(s)`);
    const database = openOwnerDatabase(target.config);
    try {
      const outcome = await runSeedSet(database, devSet, { logger: progressLogger });
      console.log(outcome.message);
      if (outcome.checks) {
        console.log(formatChecks(outcome.checks));
        if (!outcome.checks.ok) return 1;
      }
    } finally {
      await database.close();
    }
  } finally {
    await target.release();
  }
  return 0;
});
