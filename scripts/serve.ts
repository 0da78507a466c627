/**
 * `npm run db:serve`: like `npm start`, but keeps the embedded PostgreSQL running (on
 * EMBEDDED_POSTGRES_PORT, default 54320) for app development until Ctrl+C / SIGTERM, then stops
 * it cleanly. With DATABASE_URL set there is nothing to serve: it migrates and seeds that
 * database and exits.
 */
import { runMain } from './lib/main.js';

const usage = `Usage: npm run db:serve

Starts the embedded PostgreSQL in .data/postgres (EMBEDDED_POSTGRES_DIR) on 127.0.0.1, port
EMBEDDED_POSTGRES_PORT (default 54320), applies migrations, loads the development data set, and
keeps the server running until Ctrl+C or SIGTERM. With DATABASE_URL set, migrates and seeds that
database and exits.
`;

runMain(async (argv) => {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    return 0;
  }
  if (argv.length > 0) {
    console.error(`error: unexpected argument "${argv[0]}"\n\n${usage}`);
    return 2;
  }
  // Loaded after argument checks, so usage errors and --help answer at once.
  const { formatSummary, openDevTarget, prepareDevDatabase, progressLogger } = await import('./lib/dev-server.js');
  const target = await openDevTarget(process.env, { strictPort: true });
  let stopRequested: (signal: NodeJS.Signals) => void = () => {};
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    stopRequested = resolve;
  });
  // Installed before the slow steps, so Ctrl+C during migration still stops the server cleanly.
  process.once('SIGINT', () => stopRequested('SIGINT'));
  process.once('SIGTERM', () => stopRequested('SIGTERM'));
  try {
    const prepared = await prepareDevDatabase(target.config, progressLogger);
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
    const signal = await stopSignal;
    console.log(`\n${signal}: stopping the embedded PostgreSQL...`);
  } finally {
    await target.release();
  }
  console.log('Stopped.');
  return 0;
});
