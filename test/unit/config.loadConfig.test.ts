import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isDatabaseConfigured, loadConfig, parseConnectionUrl } from '../../src/config.js';
import { describeConnection, toConnectionUrl } from '../../src/connection.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'dl-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(content: string): string {
  const file = join(dir, `secret-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, content);
  return file;
}

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app:s3cret@db.internal:6543/ideas' });
    expect(config.connection).toEqual({ host: 'db.internal', port: 6543, user: 'app', database: 'ideas' });
    expect(config.connection.password).toBe('s3cret');
    expect(config.pool).toEqual({
      max: 20,
      connectionTimeoutMs: 5000,
      idleTimeoutMs: 10_000,
      maxLifetimeSeconds: 1800,
      statementTimeoutMs: 30_000,
      idleInTransactionTimeoutMs: 60_000,
      applicationName: 'ai-validation-data-layer',
      keepAliveInitialDelayMs: 10_000,
      preparedStatements: true,
      preparedStatementsMax: 100,
      pooler: 'none',
      poolerPreparedStatements: false,
    });
    expect(config.migrations).toEqual({ lockTimeoutMs: 5000, statementTimeoutMs: 900_000, lockWaitMs: 300_000 });
    expect(config.migrationConnection).toBe(config.connection);
  });

  it('reads overrides for every tunable', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://app@localhost/ideas',
      DATABASE_POOL_MAX: '5',
      DATABASE_CONNECTION_TIMEOUT_MS: '250',
      DATABASE_STATEMENT_TIMEOUT_MS: '0',
      DATABASE_APPLICATION_NAME: 'worker',
      MIGRATION_LOCK_TIMEOUT_MS: '100',
      DATABASE_PREPARED_STATEMENTS: 'false',
      DATABASE_PREPARED_STATEMENTS_MAX: '7',
      DATABASE_POOLER: 'transaction',
      DATABASE_POOLER_PREPARED_STATEMENTS: 'true',
    });
    expect(config.pool).toMatchObject({
      pooler: 'transaction',
      poolerPreparedStatements: true,
      max: 5,
      connectionTimeoutMs: 250,
      statementTimeoutMs: 0,
      applicationName: 'worker',
      preparedStatements: false,
      preparedStatementsMax: 7,
    });
    expect(config.migrations.lockTimeoutMs).toBe(100);
    expect(config.connection.port).toBe(5432);
  });

  it('builds the connection from PG* variables when there is no DATABASE_URL', () => {
    const config = loadConfig({ PGHOST: '10.0.0.5', PGPORT: '5433', PGUSER: 'svc', PGPASSWORD: 'pw', PGDATABASE: 'ideas' });
    expect(config.connection).toEqual({ host: '10.0.0.5', port: 5433, user: 'svc', database: 'ideas' });
    expect(config.connection.password).toBe('pw');
  });

  it('uses DATABASE_MIGRATION_URL for the migration connection only', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://app@pgbouncer:6432/ideas',
      DATABASE_MIGRATION_URL: 'postgres://owner:ownerpw@db:5432/ideas',
    });
    expect(config.connection).toMatchObject({ user: 'app', port: 6432 });
    expect(config.migrationConnection).toMatchObject({ user: 'owner', host: 'db', port: 5432 });
    expect(config.migrationConnection.password).toBe('ownerpw');
  });

  it('reads the password from DATABASE_PASSWORD_FILE, dropping one trailing newline', () => {
    const file = secretFile('from-file\n');
    const config = loadConfig({ DATABASE_URL: 'postgres://app@db/ideas', DATABASE_PASSWORD_FILE: file });
    expect(config.connection.password).toBe('from-file');
  });

  it('prefers DATABASE_PASSWORD_FILE over PGPASSWORD', () => {
    const file = secretFile('from-file');
    const config = loadConfig({ PGHOST: 'db', PGPASSWORD: 'from-env', DATABASE_PASSWORD_FILE: file });
    expect(config.connection.password).toBe('from-file');
  });

  it('names every variable at fault at once', () => {
    const error = configError({
      DATABASE_URL: 'postgres://app@db/ideas',
      DATABASE_POOL_MAX: 'lots',
      DATABASE_CONNECTION_TIMEOUT_MS: '0',
      DATABASE_APPLICATION_NAME: 'x'.repeat(64),
      DATABASE_PREPARED_STATEMENTS: 'yes',
      DATABASE_PREPARED_STATEMENTS_MAX: '0',
      DATABASE_POOLER: 'pgbouncer',
    });
    expect(error.issues.map((i) => i.variable)).toEqual([
      'DATABASE_POOL_MAX',
      'DATABASE_CONNECTION_TIMEOUT_MS',
      'DATABASE_PREPARED_STATEMENTS',
      'DATABASE_PREPARED_STATEMENTS_MAX',
      'DATABASE_APPLICATION_NAME',
      'DATABASE_POOLER',
    ]);
    expect(error.message).toContain('DATABASE_POOLER: must be none or transaction (got "pgbouncer")');
    expect(error.message).toContain('DATABASE_POOL_MAX: must be a whole number between 1 and 10000 (got "lots")');
    expect(error.message).toContain('DATABASE_CONNECTION_TIMEOUT_MS: must be at least 1');
  });

  it('requires a database to be named', () => {
    const error = configError({});
    expect(error.issues).toEqual([{ variable: 'DATABASE_URL', message: expect.stringContaining('is not set') }]);
    expect(isDatabaseConfigured({})).toBe(false);
    expect(isDatabaseConfigured({ DATABASE_URL: '  ' })).toBe(false);
    expect(isDatabaseConfigured({ PGHOST: 'db' })).toBe(true);
  });

  it('rejects a URL that is not postgres:// without echoing it', () => {
    const error = configError({ DATABASE_URL: 'mysql://root:hunter2@db/ideas' });
    expect(error.issues[0]?.variable).toBe('DATABASE_URL');
    expect(error.message).not.toContain('hunter2');
  });

  it('rejects a bad port, naming where it came from', () => {
    expect(configError({ DATABASE_URL: 'postgres://a:pw@db:99999/x' }).issues[0]?.variable).toBe('DATABASE_URL');
    expect(configError({ PGHOST: 'db', PGPORT: 'abc' }).issues[0]?.variable).toBe('PGPORT');
  });

  it('reports an unreadable or empty password file by variable and path', () => {
    const missing = join(dir, 'nope');
    const error = configError({ DATABASE_URL: 'postgres://app@db/ideas', DATABASE_PASSWORD_FILE: missing });
    expect(error.issues).toEqual([{ variable: 'DATABASE_PASSWORD_FILE', message: `cannot read "${missing}" (ENOENT)` }]);
    const empty = secretFile('\n');
    expect(configError({ PGHOST: 'db', DATABASE_PASSWORD_FILE: empty }).message).toContain('is empty');
  });

  it('refuses a password in both DATABASE_URL and DATABASE_PASSWORD_FILE', () => {
    const file = secretFile('file-secret');
    const error = configError({ DATABASE_URL: 'postgres://app:url-secret@db/ideas', DATABASE_PASSWORD_FILE: file });
    expect(error.issues[0]?.variable).toBe('DATABASE_PASSWORD_FILE');
    expect(error.message).not.toContain('url-secret');
    expect(error.message).not.toContain('file-secret');
  });

  it('never exposes the password through JSON, inspect or describeConnection', () => {
    const file = secretFile('file-secret');
    chmodSync(file, 0o600);
    const config = loadConfig({ DATABASE_URL: 'postgres://app@db/ideas', DATABASE_PASSWORD_FILE: file });
    expect(JSON.stringify(config)).not.toContain('file-secret');
    expect(inspect(config, { depth: 5 })).not.toContain('file-secret');
    expect(describeConnection(config.connection)).toBe('postgres://app@db:5432/ideas');
  });
});

describe('parseConnectionUrl / toConnectionUrl', () => {
  it('round-trips, encoding special characters', () => {
    const settings = parseConnectionUrl('postgres://us%40er:p%3Aw%2Fd@127.0.0.1:5433/my%20db');
    expect(settings).toEqual({ host: '127.0.0.1', port: 5433, user: 'us@er', database: 'my db' });
    expect(settings.password).toBe('p:w/d');
    const again = parseConnectionUrl(toConnectionUrl(settings));
    expect(again).toEqual(settings);
    expect(again.password).toBe('p:w/d');
  });

  it('throws a ConfigError naming the option', () => {
    expect(() => parseConnectionUrl('http://x', 'TEST_DATABASE_URL')).toThrowError(/TEST_DATABASE_URL: must be a postgres/);
  });
});
