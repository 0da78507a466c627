/**
 * `npm run db:backup [-- --file <path>]`: pg_dump (custom format) of the configured database,
 * through the migration connection (DATABASE_MIGRATION_URL, else DATABASE_URL / PG*), or of the
 * embedded development server when none is configured.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseCommandLine, printUsage, runMain } from './lib/main.js';

const usage = `Usage: npm run db:backup [-- --file <path>]

Dumps the database in pg_dump's custom format (compressed; restore with npm run db:restore).
Target: DATABASE_MIGRATION_URL, else DATABASE_URL (or PG*), else the embedded development server.
The password goes to pg_dump through PGPASSWORD, never on its command line. The local pg_dump must
be of the server's major version or newer.

  --file <path>  where to write (default backups/<database>-<UTC timestamp>.dump)
  -h, --help     this text

Exit codes: 0 ok, 1 failure, 2 usage error, 130 or 143 interrupted (pg_dump is stopped).
`;

runMain(async (argv) => {
  const { values, help } = parseCommandLine(argv, { options: { file: { type: 'string', value: '<path>' } }, usage });
  if (help) return printUsage(usage);
  const { BackupError, checkDumpVersion, dumpArgs, resolveTarget, run, serverVersion, toolEnv, toolMajor } =
    await import('./lib/pg-tools.js');
  const { describeConnection } = await import('../src/connection.js');
  const tool = await toolMajor('pg_dump');
  const target = await resolveTarget(process.env);
  try {
    const where = describeConnection(target.connection);
    const server = await serverVersion(target.connection);
    checkDumpVersion(tool, server, where);
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const file = resolve(values.file ?? `backups/${target.connection.database}-${stamp}.dump`);
    mkdirSync(dirname(file), { recursive: true });
    const started = performance.now();
    const { code, stderr } = await run('pg_dump', dumpArgs(file), await toolEnv(target.connection));
    if (code !== 0) throw new BackupError(`pg_dump of ${where} failed (exit ${code}): ${stderr.trim()}`);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `Backed up ${where} (PostgreSQL ${server.version}, from ${target.source}) to ${file} (${statSync(file).size} bytes, ${seconds} s)`,
    );
    return 0;
  } finally {
    await target.release();
  }
});
