/**
 * `npm run seed [-- --set <name>] [--scale N] [--force]`: loads a seed set (dev by default) into
 * the configured database (DATABASE_URL / PG*), or into the embedded development server when
 * none is configured, then runs the validation checks. The database must already be migrated.
 * A set already recorded at the same version and scale is skipped (seed_history).
 */
import { parseCommandLine, printUsage, runMain, UsageError } from './lib/main.js';

const usage = `Usage: npm run seed [-- [--set <name>] [--scale <N>] [--force] [--no-checks]]

Loads a seed set into DATABASE_URL (or PG*), or into the embedded development server when no
database is configured, then validates the data (row counts, foreign keys, score ranges,
statuses, leases and timestamps). Run migrations first.

  --set <name>   dev (default): a small, fixed set covering every status
                 load: bulk data for performance work (about 191,000 rows per unit of scale)
  --scale <N>    load only: a positive number, rows grow linearly (default 1)
  --force        run even when the set is already recorded or NODE_ENV=production
  --no-checks    skip the validation checks
  -h, --help     this text

A set + version + scale that is already recorded is skipped. A newer version of dev is applied
over the old one; other sets refuse and ask for npm run db:clean first. Exit codes: 0 ok,
1 failure or a failed check, 2 usage error, 130 or 143 interrupted (the set's transaction
is rolled back).
`;

runMain(
  async (argv, context) => {
    const { values, positionals, help } = parseCommandLine(argv, {
      // `npm run seed -- dev` (the older form) still works: one positional.
      positionals: 1,
      options: {
        set: { type: 'string', value: '<name>' },
        scale: { type: 'string', value: '<N>' },
        force: { type: 'boolean' },
        'no-checks': { type: 'boolean' },
      },
      usage,
    });
    if (help) return printUsage(usage);
    if (positionals.length === 1 && values.set) {
      throw new UsageError(`give the set once (got --set ${values.set} and ${positionals[0]})`, usage);
    }
    const name = values.set ?? positionals[0] ?? 'dev';
    const scale = values.scale === undefined ? 1 : Number(values.scale);
    if (values.scale !== undefined && (!/^\d*\.?\d+$/.test(values.scale.trim()) || !(scale > 0))) {
      throw new UsageError(`--scale must be a positive number (got "${values.scale}")`, usage);
    }

    const { getSeedSet, seedSetNames } = await import('../seeds/index.js');
    if (!seedSetNames().includes(name)) {
      throw new UsageError(`unknown seed set "${name}" (known: ${seedSetNames().join(', ')})`, usage);
    }
    const { assertDevelopmentTarget } = await import('../seeds/guards.js');
    const force = values.force ?? false;
    const { openSeedTarget, openOwnerDatabase } = await import('./lib/seed-cli.js');
    const { runSeedSet } = await import('../seeds/runner.js');
    const { formatChecks } = await import('../seeds/checks.js');
    const { createProgress } = await import('../seeds/progress.js');
    const { progressLogger } = await import('./lib/dev-server.js');

    const target = await openSeedTarget(process.env);
    try {
      // Seeding only adds development data, so only production is refused here (reset/clean also check the name).
      assertDevelopmentTarget({
        action: `npm run seed (${name})`,
        database: target.config.migrationConnection.database,
        env: process.env,
        force,
        checkName: false,
      });
      const set = await getSeedSet(name);
      console.log(`Seeding "${set.name}" v${set.version}${set.scalable ? ` at scale ${scale}` : ''} into ${target.description}`);
      const database = openOwnerDatabase(target.config);
      try {
        const outcome = await runSeedSet(database, set, {
          scale,
          force,
          logger: progressLogger,
          progress: createProgress(),
          // A signal stops the load between COPY chunks; its transaction is rolled back.
          signal: context.signal,
          checks: !values['no-checks'],
        });
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
  },
  { graceMs: 5_000 },
);
