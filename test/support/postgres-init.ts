/**
 * Runs a scripts/postgres-init/ script the way the postgres image does on its first start: bash,
 * psql on PATH, the superuser in POSTGRES_USER/POSTGRES_DB, here pointed at the run's server.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { resolve } from 'node:path';
import { repoRoot } from './cli.js';
import { adminConnection } from './database.js';

/** The local psql's major version (0 when there is none); the init scripts need 15 or newer. */
export const psqlMajor = Number(/(\d+)/.exec(spawnSync('psql', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? 0);

/** Runs `scripts/postgres-init/<name>` with the server's admin settings plus `env`. */
export function runInitScript(name: string, env: Record<string, string>): SpawnSyncReturns<string> {
  const admin = adminConnection();
  return spawnSync('bash', [resolve(repoRoot, 'scripts', 'postgres-init', name)], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      PGHOST: admin.host,
      PGPORT: String(admin.port),
      ...(admin.password ? { PGPASSWORD: admin.password } : {}),
      POSTGRES_USER: admin.user,
      POSTGRES_DB: 'postgres',
      ...env,
    },
  });
}
