/**
 * npm run db:backup / db:restore: a round trip (same row counts and the same md5 of every table's
 * ordered rows) against a server whose major matches the local client tools; the refusal when the
 * local pg_dump is older than the server (the embedded PostgreSQL 18 versus the local 15 tools);
 * the production guard; and the password kept off the command line.
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionSettings } from '../../src/connection.js';
import { createDatabase } from '../../src/db/database.js';
import { freePort, embeddedPostgresMajor } from '../../scripts/lib/embedded.js';
import { dumpArgs, restoreArgs, toolEnv, toolMajor } from '../../scripts/lib/pg-tools.js';
import { runCli } from '../support/cli.js';
import { adminConnection, createTestDatabase, type TestDatabase } from '../support/database.js';
import { createSubmittedIdea, createTestAgentResult, createTestEvaluation, createTestUser } from '../support/factories.js';

const work = mkdtempSync(join(tmpdir(), 'dl-backup-'));
chmodSync(work, 0o711); // the embedded server runs as the postgres OS user when we are root
let localMajor: number;
let serverMajor: number;
const dropLater: TestDatabase[] = [];

beforeAll(async () => {
  localMajor = await toolMajor('pg_dump');
  const admin = new pg.Client(adminConnection());
  await admin.connect();
  try {
    serverMajor = Math.floor(
      Number((await admin.query<{ n: string }>("select current_setting('server_version_num') as n")).rows[0]!.n) / 10_000,
    );
  } finally {
    await admin.end();
  }
});

afterAll(async () => {
  await Promise.allSettled(dropLater.map((d) => d.drop()));
  rmSync(work, { recursive: true, force: true });
});

/** Row count and md5 of the rows in a stable order, for every table in public. */
async function fingerprint(connection: ConnectionSettings): Promise<Record<string, { rows: number; md5: string }>> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    const tables = (await client.query<{ name: string }>("select tablename as name from pg_tables where schemaname = 'public' order by 1"))
      .rows;
    const out: Record<string, { rows: number; md5: string }> = {};
    for (const { name } of tables) {
      const { rows } = await client.query<{ rows: string; md5: string }>(
        `select count(*) as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as md5 from public.${pg.escapeIdentifier(name)} t`,
      );
      out[name] = { rows: Number(rows[0]!.rows), md5: rows[0]!.md5 };
    }
    return out;
  } finally {
    await client.end();
  }
}

describe('db:backup and db:restore', () => {
  it('round-trips a seeded database: same tables, row counts and checksums', async (ctx) => {
    if (serverMajor !== localMajor) {
      ctx.skip(
        `the test server is PostgreSQL ${serverMajor} and the local client tools are ${localMajor}; run with TEST_DATABASE_URL on a PostgreSQL ${localMajor} server`,
      );
    }
    const source = await createTestDatabase();
    const target = await createTestDatabase({ migrated: false });
    dropLater.push(source, target);

    const database = createDatabase({ connectionString: source.url, env: {}, pool: { max: 2 } });
    try {
      for (let i = 0; i < 3; i++) {
        const idea = await createSubmittedIdea(database.db);
        const evaluation = await createTestEvaluation(database.db, idea.id);
        await createTestAgentResult(database.db, evaluation.id, { agentType: 'market-research' });
        await createTestAgentResult(database.db, evaluation.id, { agentType: 'competitive-analysis' });
      }
      await createTestUser(database.db);
    } finally {
      await database.close();
    }
    const before = await fingerprint(source.connection);
    expect(before.users?.rows).toBe(4);
    expect(before.agent_results?.rows).toBe(6);
    expect(before.audit_log?.rows).toBeGreaterThan(0);

    const file = join(work, 'roundtrip.dump');
    const backup = await runCli('db-backup.ts', ['--file', file], { env: { DATABASE_URL: source.url } });
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toContain(`to ${file}`);
    expect(backup.stdout).not.toContain(source.connection.password ?? '\u0000');
    expect(statSync(file).size).toBeGreaterThan(0);

    const restore = await runCli('db-restore.ts', ['--file', file], { env: { DATABASE_URL: target.url } });
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    expect(await fingerprint(target.connection)).toEqual(before);

    // Restoring again over the restored copy (--clean --if-exists) leaves the same data.
    const again = await runCli('db-restore.ts', ['--file', file], { env: { DATABASE_URL: target.url } });
    expect(again.code).toBe(0);
    expect(await fingerprint(target.connection)).toEqual(before);
  }, 120_000);

  it('refuses to dump the embedded PostgreSQL 18 server with the older local pg_dump', async (ctx) => {
    const embedded = Number(await embeddedPostgresMajor());
    if (localMajor >= embedded) ctx.skip(`the local pg_dump (${localMajor}) is not older than the embedded server (${embedded})`);
    const dataDir = join(work, 'embedded');
    const file = join(work, 'refused.dump');
    // No database configured: the script uses the embedded development server.
    const result = await runCli('db-backup.ts', ['--file', file], {
      env: { EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()) },
      cwd: work,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^error: the local pg_dump is PostgreSQL ${localMajor}, older than the server at postgres://postgres@127\\.0\\.0\\.1:\\d+/ai_validation_platform \\(PostgreSQL ${embedded}\\.`,
      ),
    );
    expect(result.stderr).toContain(`Install the PostgreSQL ${embedded} client tools`);
    expect(() => statSync(file)).toThrow(); // nothing written
  }, 120_000);

  it('refuses a restore with NODE_ENV=production unless --force, before touching anything', async () => {
    const target = await createTestDatabase({ migrated: false });
    dropLater.push(target);
    const missing = join(work, 'does-not-exist.dump');
    const refused = await runCli('db-restore.ts', ['--file', missing], { env: { DATABASE_URL: target.url, NODE_ENV: 'production' } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: refusing to restore with NODE_ENV=production');
    expect(refused.stderr).toContain('--force');
    // With --force it gets past the guard (and stops at the missing file).
    const forced = await runCli('db-restore.ts', ['--file', missing, '--force'], {
      env: { DATABASE_URL: target.url, NODE_ENV: 'production' },
    });
    expect(forced.code).toBe(1);
    expect(forced.stderr).toContain(`error: ${missing} does not exist; nothing was changed`);
    const usage = await runCli('db-restore.ts', [], { env: { DATABASE_URL: target.url } });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--file is required');
  }, 60_000);

  it('passes the password through PGPASSWORD, never on the command line', async () => {
    const connection: ConnectionSettings = { host: 'db.internal', port: 6432, user: 'owner', database: 'ideas' };
    Object.defineProperty(connection, 'password', { value: 's3cret-pa55', enumerable: false });
    const env = await toolEnv(connection, {
      PATH: '/usr/bin',
      PGPASSWORD: 'stale',
      DATABASE_URL: 'postgres://x:y@z/w',
      PGSERVICE: 'other',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      PGHOST: 'db.internal',
      PGPORT: '6432',
      PGUSER: 'owner',
      PGDATABASE: 'ideas',
      PGAPPNAME: 'data-layer backup',
      PGPASSWORD: 's3cret-pa55',
      PGSSLMODE: 'disable',
    });
    for (const args of [dumpArgs('/tmp/x.dump'), restoreArgs('/tmp/x.dump', 'ideas')]) {
      expect(args.join(' ')).not.toContain('s3cret-pa55');
      expect(args.join(' ')).not.toMatch(/postgres(ql)?:\/\//);
    }
    expect(restoreArgs('/tmp/x.dump', 'ideas')).toEqual([
      '--clean',
      '--if-exists',
      '--no-owner',
      '--single-transaction',
      '--exit-on-error',
      '--no-password',
      '--dbname=ideas',
      '/tmp/x.dump',
    ]);
  });
});
