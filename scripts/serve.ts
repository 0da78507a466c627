/**
 * `npm run db:serve`: like `npm start`, but keeps the embedded PostgreSQL running (on
 * EMBEDDED_POSTGRES_PORT, default 54320) for app development until Ctrl+C / SIGTERM, then stops
 * it cleanly. With DATABASE_URL set there is nothing to serve: it migrates and seeds that
 * database and exits.
 */
import type { Interrupted } from '../src/cli/process.js';
import { parseCommandLine, printUsage, runMain } from './lib/main.js';

const usage = `Usage: npm run db:serve

Starts the embedded PostgreSQL in .data/postgres (EMBEDDED_POSTGRES_DIR) on 127.0.0.1, port
EMBEDDED_POSTGRES_PORT (default 54320), applies migrations, loads the development data set, and
keeps the server running until Ctrl+C or SIGTERM. With DATABASE_URL set, migrates and seeds that
database and exits.

Exit codes: 0 served and stopped by Ctrl+C (SIGINT), SIGTERM or SIGHUP, or (DATABASE_URL)
migrated and seeded; 1 failure (the port is taken, say); 2 usage error; 130 or 143 stopped
by SIGINT or SIGTERM before it was serving. Whichever process of the npm chain gets the
signal, the server is stopped before the command ends.
`;

runMain(
  async (argv, context) => {
    if (parseCommandLine(argv, { options: {}, usage }).help) return printUsage(usage);
    // Loaded after argument checks, so usage errors and --help answer at once.
    const { formatSummary, openDevTarget, prepareDevDatabase, progressLogger } = await import('./lib/dev-server.js');
    const stopped = new Promise<Interrupted>((resolve) =>
      context.signal.addEventListener('abort', () => resolve(context.signal.reason as Interrupted), { once: true }),
    );
    const target = await openDevTarget(process.env, { strictPort: true });
    try {
      // A signal while starting, migrating or seeding stops at once (the server is stopped below),
      // and the command ends with 128 + the signal's number; while serving, it is the way to stop.
      context.signal.throwIfAborted();
      const prepared = await Promise.race([
        prepareDevDatabase(target.config, progressLogger),
        stopped.then((interrupted) => Promise.reject(interrupted)),
      ]);
      console.log(`\n${formatSummary(prepared)}\n`);
      if (!target.embedded) {
        console.log('DATABASE_URL is set, so there is no embedded server to keep running. Connect:');
        console.log(target.connectHelp().join('\n'));
        return 0;
      }
      if (target.embedded.server.reused) {
        console.log('The embedded server is already being served by another process. Connect:');
        console.log(target.connectHelp().join('\n'));
        return 0;
      }
      console.log('Connect:');
      console.log(target.connectHelp().join('\n'));
      console.log('\nServing. Press Ctrl+C to stop.');
      const { signal } = await stopped;
      console.log(`\n${signal}: stopping the embedded PostgreSQL...`);
    } finally {
      await target.release();
    }
    console.log('Stopped.');
    return 0;
  },
  // Time for the server to stop cleanly after a signal before the shutdown hooks take over.
  { graceMs: 15_000 },
);
