/**
 * `npm start`: a ready development database in one command. Without DATABASE_URL it starts the
 * embedded PostgreSQL (data in .data/postgres, kept between runs); with it, it uses that server.
 * Either way: create the database if missing, apply migrations, load the development data set
 * (once), print how to connect and a row count per table, and exit (the embedded server is
 * stopped again; `npm run db:serve` keeps it running).
 */
import { parseCommandLine, printUsage, runMain } from './lib/main.js';

const usage = `Usage: npm start

Without DATABASE_URL (or PGHOST/PGDATABASE): starts the embedded PostgreSQL in .data/postgres
(EMBEDDED_POSTGRES_DIR), creates the database ai_validation_platform, applies the migrations,
loads the development data set, prints how to connect and a summary, then stops the server.
With DATABASE_URL: does the same against that server.

Exit codes: 0 ready; 1 failure; 2 usage error; 130 or 143 interrupted by SIGINT or SIGTERM
(the embedded server is stopped first).
`;

runMain(async (argv) => {
  if (parseCommandLine(argv, { options: {}, usage }).help) return printUsage(usage);
  // Loaded after argument checks, so usage errors and --help answer at once.
  const { embeddedPort, formatSummary, openDevTarget, prepareDevDatabase, progressLogger } = await import('./lib/dev-server.js');
  const target = await openDevTarget(process.env, { strictPort: false });
  try {
    const prepared = await prepareDevDatabase(target.config, progressLogger);
    console.log(`\n${formatSummary(prepared)}\n`);
    if (target.embedded?.server.reused) {
      console.log('Connect (the embedded server is being kept up by `npm run db:serve`):');
      console.log(target.connectHelp().join('\n'));
    } else if (target.embedded) {
      console.log('The embedded server stops when this command ends. To keep it running for your app, run');
      console.log('`npm run db:serve`, then connect with:');
      console.log(target.connectHelp(embeddedPort(process.env)).join('\n'));
    } else {
      console.log('Connect:');
      console.log(target.connectHelp().join('\n'));
    }
  } finally {
    await target.release();
  }
  return 0;
});
