/**
 * DATABASE_SSL against a hostssl-only server with a certificate from a throwaway CA:
 * require, verify-full (right CA, wrong CA, no CA), disable, sslmode in the URL, and the migrator.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Env } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { ConnectionError } from '../../src/errors.js';
import { createMigrator } from '../../src/migrate/index.js';
import { startEphemeralServer, type EphemeralServer } from '../support/tls-server.js';

let ephemeral: EphemeralServer;
let password: string;

beforeAll(async () => {
  ephemeral = await startEphemeralServer({ tls: 'only' });
  password = ephemeral.admin.password ?? '';
  expect(password).not.toBe('');
}, 120_000);

afterAll(async () => {
  await ephemeral?.stop();
});

function env(extra: Env = {}, query = ''): Env {
  return {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${ephemeral.admin.port}/postgres${query}`,
    PGPASSWORD: password,
    DATABASE_CONNECTION_TIMEOUT_MS: '10000',
    ...extra,
  };
}

/** Whether the session runs over TLS, as the server sees it. */
async function sessionUsesTls(variables: Env, query = ''): Promise<boolean> {
  const database = createDatabase({ env: env(variables, query), pool: { max: 1 } });
  try {
    const { rows } = await sql<{ ssl: boolean }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(database.db);
    return rows[0]?.ssl === true;
  } finally {
    await database.close();
  }
}

async function connectFailure(variables: Env, query = ''): Promise<ConnectionError> {
  const database = createDatabase({ env: env(variables, query), pool: { max: 1 } });
  try {
    const error = await sql`select 1`.execute(database.db).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    const message = (error as Error).message;
    expect(message).not.toContain(password);
    return error as ConnectionError;
  } finally {
    await database.close();
  }
}

describe('DATABASE_SSL', () => {
  it('require: connects over TLS without checking the certificate', async () => {
    expect(await sessionUsesTls({ DATABASE_SSL: 'require' })).toBe(true);
  });

  it('verify-full with the CA that signed the server certificate connects over TLS', async () => {
    expect(await sessionUsesTls({ DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: ephemeral.certificates!.caFile })).toBe(true);
  });

  it('verify-full with the wrong CA fails, naming certificate verification and DATABASE_SSL_CA_FILE', async () => {
    const error = await connectFailure({ DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: ephemeral.certificates!.otherCaFile });
    expect(error.message).toMatch(/TLS certificate verification failed/);
    expect(error.message).toContain('DATABASE_SSL_CA_FILE');
    expect(error.message).toContain(`postgres://postgres@127.0.0.1:${ephemeral.admin.port}/postgres`);
  });

  it("verify-full without a CA file checks against Node's bundle, which does not hold a private CA", async () => {
    const error = await connectFailure({ DATABASE_SSL: 'verify-full' });
    expect(error.message).toMatch(
      /TLS certificate verification failed \((unable to verify the first certificate|self[- ]signed certificate in certificate chain)\)/,
    );
  });

  it('disable against a hostssl-only server fails, telling to enable DATABASE_SSL', async () => {
    const error = await connectFailure({ DATABASE_SSL: 'disable' });
    expect(error.message).toMatch(/only over TLS \(pg_hba\.conf hostssl\); set DATABASE_SSL=require or verify-full/);
  });

  it('nothing set means disable (the default), with the same clear failure', async () => {
    const error = await connectFailure({});
    expect(error.message).toContain('set DATABASE_SSL=require or verify-full');
  });

  it('honours sslmode in DATABASE_URL, with DATABASE_SSL_CA_FILE for verify-full', async () => {
    expect(await sessionUsesTls({ DATABASE_SSL_CA_FILE: ephemeral.certificates!.caFile }, '?sslmode=verify-full')).toBe(true);
    const error = await connectFailure({ DATABASE_SSL_CA_FILE: ephemeral.certificates!.otherCaFile }, '?sslmode=verify-full');
    expect(error.message).toMatch(/TLS certificate verification failed/);
  });

  it('the migrator connects with the same TLS settings', async () => {
    const config = loadConfig(env({ DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: ephemeral.certificates!.caFile }));
    const status = await createMigrator({ connection: config.migrationConnection }).status();
    expect(status.length).toBeGreaterThan(0);
    expect(status.every((s) => s.state === 'pending')).toBe(true);

    const wrong = loadConfig(env({ DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: ephemeral.certificates!.otherCaFile }));
    await expect(createMigrator({ connection: wrong.migrationConnection }).status()).rejects.toThrow(/TLS certificate verification failed/);
  });
});

describe('a server without TLS', () => {
  it('require fails, saying the server does not accept TLS', async () => {
    const plain = await startEphemeralServer();
    try {
      const database = createDatabase({
        env: {
          DATABASE_URL: `postgres://postgres@127.0.0.1:${plain.admin.port}/postgres`,
          PGPASSWORD: plain.admin.password,
          DATABASE_SSL: 'require',
        },
      });
      await expect(sql`select 1`.execute(database.db)).rejects.toThrow(/the server does not accept TLS connections, but DATABASE_SSL/);
      await database.close();
    } finally {
      await plain.stop();
    }
  }, 120_000);
});
