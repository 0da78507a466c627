/**
 * scripts/postgres-init/ (run by the postgres image on its first start): creates a login role
 * with CREATEDB, not superuser, owning both databases, with the password from the environment or
 * a secret file; running it again changes nothing. Run here against the test server, with
 * run-unique names for the role and databases, all removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { adminQuery, dropDatabaseNamed, pgConfig, quoteIdent, uniqueDatabaseName } from '../../scripts/lib/server.js';
import { adminConnection } from '../support/database.js';
import { psqlMajor, runInitScript } from '../support/postgres-init.js';
import { testDatabasePrefix } from '../support/names.js';

const role = `dl_role_${randomBytes(5).toString('hex')}`;
const prefix = testDatabasePrefix(inject('dlRunId'));
const appDb = uniqueDatabaseName(prefix);
const testDb = uniqueDatabaseName(prefix);
const password = `pw-${randomBytes(9).toString('base64url')}`;
const scratch = mkdtempSync(join(tmpdir(), 'dl-init-'));

afterAll(async () => {
  const admin = adminConnection();
  await dropDatabaseNamed(admin, appDb);
  await dropDatabaseNamed(admin, testDb);
  await adminQuery(admin, `DROP ROLE IF EXISTS ${quoteIdent(role)}`);
  rmSync(scratch, { recursive: true, force: true });
});

function runInit(env: Record<string, string>): ReturnType<typeof runInitScript> {
  return runInitScript('01-create-app-databases.sh', { APP_DB_USER: role, APP_DB_NAME: appDb, APP_TEST_DB_NAME: testDb, ...env });
}

async function connectAs(database: string, pass: string): Promise<{ owner: string; superuser: boolean; createdb: boolean }> {
  const admin = adminConnection();
  const client = new pg.Client({ ...pgConfig(admin), user: role, password: pass, database });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT pg_get_userbyid(d.datdba) AS owner, r.rolsuper AS superuser, r.rolcreatedb AS createdb
         FROM pg_database d, pg_roles r WHERE d.datname = current_database() AND r.rolname = current_user`,
    );
    return rows[0];
  } finally {
    await client.end();
  }
}

describe.skipIf(psqlMajor < 15)('scripts/postgres-init/01-create-app-databases.sh', () => {
  it('refuses to run without a password', () => {
    const result = runInit({});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('set DEV_USER_PASSWORD or DEV_USER_PASSWORD_FILE');
  });

  it('creates the role and both databases it owns; a second run changes nothing', async () => {
    const first = runInit({ DEV_USER_PASSWORD: password });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).not.toContain(password);
    // Under trust authentication any password connects, so also check one was set.
    const stored = await adminQuery(adminConnection(), 'SELECT rolpassword IS NOT NULL AS set FROM pg_authid WHERE rolname = $1', [role]);
    expect(stored).toEqual([{ set: true }]);
    for (const database of [appDb, testDb]) {
      expect(await connectAs(database, password)).toEqual({ owner: role, superuser: false, createdb: true });
    }
    const again = runInit({ DEV_USER_PASSWORD: password });
    expect(again.status).toBe(0);
    expect(await connectAs(appDb, password)).toMatchObject({ owner: role });
  });

  it('reads the password from DEV_USER_PASSWORD_FILE (a Docker secret) for a new role', async () => {
    // Drop what the previous test created and start over with the secret file.
    const admin = adminConnection();
    await dropDatabaseNamed(admin, appDb);
    await dropDatabaseNamed(admin, testDb);
    await adminQuery(admin, `DROP ROLE ${quoteIdent(role)}`);
    const secret = join(scratch, 'dev_user_password');
    writeFileSync(secret, 'from-the-secret-file', { mode: 0o600 });
    const result = runInit({ DEV_USER_PASSWORD_FILE: secret });
    expect(result.status).toBe(0);
    expect(await connectAs(testDb, 'from-the-secret-file')).toMatchObject({ owner: role, createdb: true });
  });
});
