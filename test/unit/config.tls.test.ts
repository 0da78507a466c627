import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConnectionUrl, type Env } from '../../src/config.js';
import { toConnectionUrl } from '../../src/connection.js';
import { tlsOptions, connectionOptions } from '../../src/connection.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'dl-config-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, PEM);
const notPem = join(dir, 'not.pem');
writeFileSync(notPem, 'hello');

const URL = 'postgres://app:url-Secret-42@db/ideas';

function issues(env: Env): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain('url-Secret-42');
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: TLS', () => {
  it('has no TLS settings by default (disable), and node-postgres gets ssl: false', () => {
    const { connection } = loadConfig({ DATABASE_URL: URL });
    expect(connection.ssl).toBeUndefined();
    expect(connectionOptions(connection).ssl).toBe(false);
  });

  it.each(['disable', 'require', 'verify-full'] as const)('DATABASE_SSL=%s applies to both connections', (mode) => {
    const config = loadConfig({ DATABASE_URL: URL, DATABASE_MIGRATION_URL: 'postgres://owner@db/ideas', DATABASE_SSL: mode });
    expect(config.connection.ssl).toEqual({ mode });
    expect(config.migrationConnection.ssl).toEqual({ mode });
  });

  it('verify-full reads DATABASE_SSL_CA_FILE', () => {
    const { connection } = loadConfig({ DATABASE_URL: URL, DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: caFile });
    expect(connection.ssl).toEqual({ mode: 'verify-full', ca: PEM, caFile });
    expect(tlsOptions(connection.ssl)).toEqual({ rejectUnauthorized: true, ca: PEM });
  });

  it('maps the modes to node-postgres ssl options', () => {
    expect(tlsOptions({ mode: 'disable' })).toBe(false);
    expect(tlsOptions({ mode: 'require' })).toEqual({ rejectUnauthorized: false });
    expect(tlsOptions({ mode: 'verify-full' })).toEqual({ rejectUnauthorized: true });
  });

  it('honours sslmode in the URL, and PGSSLMODE last', () => {
    expect(loadConfig({ DATABASE_URL: `${URL}?sslmode=require` }).connection.ssl).toEqual({ mode: 'require' });
    expect(loadConfig({ DATABASE_URL: URL, PGSSLMODE: 'require' }).connection.ssl).toEqual({ mode: 'require' });
    expect(loadConfig({ DATABASE_URL: `${URL}?sslmode=verify-full`, PGSSLMODE: 'require' }).connection.ssl).toEqual({
      mode: 'verify-full',
    });
    expect(loadConfig({ DATABASE_URL: `${URL}?sslmode=require`, DATABASE_SSL: 'require' }).connection.ssl).toEqual({ mode: 'require' });
    expect(parseConnectionUrl('postgres://a@h/d?sslmode=verify-full').ssl).toEqual({ mode: 'verify-full' });
  });

  it('refuses DATABASE_SSL and sslmode that disagree', () => {
    expect(issues({ DATABASE_URL: `${URL}?sslmode=disable`, DATABASE_SSL: 'verify-full' })).toEqual([
      { variable: 'DATABASE_SSL', message: 'is verify-full but DATABASE_URL says sslmode=disable; remove one or make them agree' },
    ]);
  });

  it('refuses unknown modes, and libpq modes it does not implement', () => {
    expect(issues({ DATABASE_URL: URL, DATABASE_SSL: 'true' })).toEqual([
      { variable: 'DATABASE_SSL', message: 'must be disable, require or verify-full (got "true")' },
    ]);
    expect(issues({ DATABASE_URL: URL, PGSSLMODE: 'prefer' })).toEqual([
      { variable: 'PGSSLMODE', message: 'must be disable, require or verify-full (got "prefer")' },
    ]);
    for (const mode of ['prefer', 'allow', 'verify-ca', 'no-verify']) {
      expect(issues({ DATABASE_URL: `${URL}?sslmode=${mode}` })).toEqual([
        { variable: 'DATABASE_URL', message: `sslmode=${mode} is not supported; use sslmode=disable, require or verify-full` },
      ]);
    }
  });

  it('refuses certificate files in the URL (they would bypass DATABASE_SSL_CA_FILE), before reading them', () => {
    const [issue] = issues({ DATABASE_URL: `${URL}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem` });
    expect(issue).toEqual({
      variable: 'DATABASE_URL',
      message:
        'sslrootcert in the URL is not supported; use DATABASE_SSL=verify-full with DATABASE_SSL_CA_FILE (client certificates are not supported)',
    });
  });

  it('refuses a CA file that is missing, holds no certificate, or comes without verify-full', () => {
    expect(issues({ DATABASE_URL: URL, DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: join(dir, 'missing.pem') })).toEqual([
      { variable: 'DATABASE_SSL_CA_FILE', message: `cannot read "${join(dir, 'missing.pem')}" (ENOENT)` },
    ]);
    expect(issues({ DATABASE_URL: URL, DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: notPem })).toEqual([
      { variable: 'DATABASE_SSL_CA_FILE', message: `"${notPem}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)` },
    ]);
    expect(issues({ DATABASE_URL: URL, DATABASE_SSL: 'require', DATABASE_SSL_CA_FILE: caFile })).toEqual([
      {
        variable: 'DATABASE_SSL_CA_FILE',
        message: 'is only used with DATABASE_SSL=verify-full (the DATABASE_URL connection uses require)',
      },
    ]);
  });

  it('toConnectionUrl carries sslmode and the CA file for libpq tools', () => {
    const { connection } = loadConfig({ DATABASE_URL: URL, DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: caFile });
    expect(toConnectionUrl(connection)).toBe(
      `postgres://app:url-Secret-42@db:5432/ideas?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`,
    );
    expect(toConnectionUrl(loadConfig({ DATABASE_URL: URL }).connection)).toBe('postgres://app:url-Secret-42@db:5432/ideas');
  });
});
