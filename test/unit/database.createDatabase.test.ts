import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';

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
