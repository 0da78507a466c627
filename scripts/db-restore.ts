/**
 * `npm run db:restore -- --file <path> [--force]`: pg_restore of a db:backup archive into the
 * configured database (the migration connection, as for db:backup), replacing the objects the
 * archive holds, in one transaction. Refuses NODE_ENV=production without --force.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCommandLine, printUsage, runMain, UsageError } from './lib/main.js';

const usage = `Usage: npm run db:restore -- --file <path> [--force]

Restores a pg_dump custom-format archive (npm run db:backup) into the database: every object the
archive holds is dropped and recreated (--clean --if-exists), owned by the connecting role
(--no-owner), in a single transaction: on any error nothing changes.
Target: DATABASE_MIGRATION_URL, else DATABASE_URL (or PG*), else the embedded development server.
The roles the archive grants to (ai_validation_app, ai_validation_worker) must exist on the server.

  --file <path>  the archive to restore (required)
  --force        allow NODE_ENV=production
  -h, --help     this text

Exit codes: 0 ok, 1 failure or refusal, 2 usage error, 130 or 143 interrupted (pg_restore
is stopped; its transaction is rolled back).
`;

runMain(async (argv) => {
  const { values, help } = parseCommandLine(argv, {
    options: { file: { type: 'string', value: '<path>' }, force: { type: 'boolean' } },
    usage,
  });
  if (help) return printUsage(usage);
  if (!values.file) throw new UsageError('--file is required: --file <path>', usage);
  const { BackupError, resolveTarget, restoreArgs, run, toolEnv, toolMajor } = await import('./lib/pg-tools.js');
  const { describeConnection } = await import('../src/connection.js');
  if (process.env.NODE_ENV === 'production' && !values.force) {
    throw new BackupError(
      'refusing to restore with NODE_ENV=production: a restore drops and recreates every table the archive holds, ' +
        'replacing the data in them. Pass --force if that is what you mean. Nothing was changed.',
    );
  }
  const file = resolve(values.file);
  if (!existsSync(file)) throw new BackupError(`${file} does not exist; nothing was changed`);
  await toolMajor('pg_restore');
  const target = await resolveTarget(process.env);
  try {
    const where = describeConnection(target.connection);
    const started = performance.now();
    const { code, stderr } = await run('pg_restore', restoreArgs(file, target.connection.database), await toolEnv(target.connection));
    if (code !== 0) {
      throw new BackupError(
        `pg_restore into ${where} failed (exit ${code}); the transaction was rolled back, nothing was changed:\n${stderr.trim()}`,
      );
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`Restored ${file} into ${where} (from ${target.source}) in ${seconds} s`);
    return 0;
  } finally {
    await target.release();
  }
});
