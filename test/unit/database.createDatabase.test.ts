import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { ConfigError } from '../../src/errors.js';

describe('createDatabase: connectionString over a given config', () => {
  it("keeps the config's TLS settings when the URL says nothing about TLS", async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app@db.internal/ideas', DATABASE_SSL: 'require' });
    const database = createDatabase({ config, connectionString: 'postgres://other@replica.internal/ideas' });
    try {
      expect(database.pool.options).toMatchObject({ host: 'replica.internal', user: 'other', ssl: expect.anything() });
      expect(database.pool.options.ssl).not.toBe(false);
    } finally {
      await database.close();
    }
  });

  it("lets the URL's sslmode win", async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app@db.internal/ideas', DATABASE_SSL: 'require' });
    const database = createDatabase({ config, connectionString: 'postgres://other@replica.internal/ideas?sslmode=disable' });
    try {
      expect(database.pool.options.ssl ?? false).toBe(false);
    } finally {
      await database.close();
    }
  });
});

describe('createDatabase: pool settings given in code', () => {
  it('are checked against the ranges of their variables, each bad one named, before a pool exists', () => {
    let error: unknown;
    try {
      createDatabase({
        connectionString: 'postgres://app@db.internal/ideas',
        env: {},
        pool: { max: 0, preparedStatementsMax: 1.5, applicationName: '', bogus: 1 } as never,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.variable).sort()).toEqual([
      'pool.applicationName',
      'pool.bogus',
      'pool.max',
      'pool.preparedStatementsMax',
    ]);
  });

  it('leave undefined settings to the configuration', async () => {
    const database = createDatabase({
      connectionString: 'postgres://app@db.internal/ideas',
      env: {},
      pool: { max: undefined, preparedStatements: false },
    });
    try {
      expect(database.pool.options.max).toBe(20);
    } finally {
      await database.close();
    }
  });
});
