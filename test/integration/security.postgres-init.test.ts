/**
 * scripts/postgres-init/02-create-roles.sh (run by the postgres image on its first start): the
 * group roles the roles migration grants to, and LOGIN roles in them when passwords are given.
 * Run here against the test server with run-unique login names, dropped afterwards (the group
 * roles are shared by every database of the cluster and stay).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { adminQuery, pgConfig, quoteIdent } from '../../scripts/lib/server.js';
import { adminConnection, useTestDatabase } from '../support/database.js';
import { psqlMajor, runInitScript } from '../support/postgres-init.js';

const t = useTestDatabase();

const suffix = randomBytes(5).toString('hex');
const appLogin = `dl_app_${suffix}`;
const workerLogin = `dl_worker_${suffix}`;
const appPassword = `pw-${randomBytes(9).toString('base64url')}`;
const workerPassword = `pw-${randomBytes(9).toString('base64url')}`;
const scratch = mkdtempSync(join(tmpdir(), 'dl-roles-init-'));

afterAll(async () => {
  for (const name of [appLogin, workerLogin]) await adminQuery(adminConnection(), `DROP ROLE IF EXISTS ${quoteIdent(name)}`);
  rmSync(scratch, { recursive: true, force: true });
});

function runInit(env: Record<string, string>): ReturnType<typeof runInitScript> {
  return runInitScript('02-create-roles.sh', { APP_LOGIN_USER: appLogin, WORKER_LOGIN_USER: workerLogin, ...env });
}

async function memberships(): Promise<Record<string, string[]>> {
  const rows = await adminQuery<{ member: string; groups: string[] }>(
    adminConnection(),
    `SELECT m.rolname AS member, array_agg(g.rolname::text ORDER BY g.rolname) FILTER (WHERE g.rolname IS NOT NULL) AS groups
       FROM pg_roles m LEFT JOIN pg_auth_members am ON am.member = m.oid LEFT JOIN pg_roles g ON g.oid = am.roleid
      WHERE m.rolname = ANY($1) GROUP BY m.rolname`,
    [[appLogin, workerLogin]],
  );
  return Object.fromEntries(rows.map((r) => [r.member, r.groups ?? []]));
}

/** Connects as `user` to this file's (migrated) database and runs `text`; the SQLSTATE on failure. */
async function runAs(user: string, password: string, text: string): Promise<string | undefined> {
  const client = new pg.Client({ ...pgConfig(t.testDatabase.connection), user, password });
  await client.connect();
  try {
    await client.query(text);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  } finally {
    await client.end();
  }
}

describe.skipIf(psqlMajor < 15)('scripts/postgres-init/02-create-roles.sh', () => {
  it('without passwords ensures the group roles only', async () => {
    const result = runInit({});
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('group roles ai_validation_app and ai_validation_worker are in place');
    expect(await memberships()).toEqual({});
    const groups = await adminQuery(
      adminConnection(),
      `SELECT count(*)::int AS n FROM pg_roles WHERE rolname IN ('ai_validation_app', 'ai_validation_worker') AND NOT rolcanlogin`,
    );
    expect(groups[0]?.n).toBe(2);
  });

  it('creates the login roles in their groups (password from a variable or a file); a second run changes nothing', async () => {
    const file = join(scratch, 'worker-password');
    writeFileSync(file, workerPassword, { mode: 0o600 });
    const first = runInit({ APP_LOGIN_PASSWORD: appPassword, WORKER_LOGIN_PASSWORD_FILE: file });
    expect(first.status).toBe(0);
    expect(`${first.stdout}${first.stderr}`).not.toContain(appPassword);
    expect(`${first.stdout}${first.stderr}`).not.toContain(workerPassword);
    expect(await memberships()).toEqual({ [appLogin]: ['ai_validation_app'], [workerLogin]: ['ai_validation_worker'] });

    // The logins work, with the group's privileges and no more.
    expect(await runAs(appLogin, appPassword, 'SELECT count(*) FROM users')).toBeUndefined();
    expect(await runAs(appLogin, appPassword, 'TRUNCATE business_ideas')).toBe('42501');
    expect(await runAs(workerLogin, workerPassword, 'SELECT count(*) FROM evaluations')).toBeUndefined();
    expect(await runAs(workerLogin, workerPassword, 'SELECT count(*) FROM users')).toBe('42501');

    // Again, with another password: the existing role and its password are kept.
    const second = runInit({ APP_LOGIN_PASSWORD: 'another-password', WORKER_LOGIN_PASSWORD: 'another-password' });
    expect(second.status).toBe(0);
    expect(await runAs(appLogin, appPassword, 'SELECT 1')).toBeUndefined();
    expect(await memberships()).toEqual({ [appLogin]: ['ai_validation_app'], [workerLogin]: ['ai_validation_worker'] });
  });
});
