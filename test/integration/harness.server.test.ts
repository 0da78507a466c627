/**
 * Server acquisition and throwaway databases: a bad TEST_DATABASE_URL fails fast and clearly,
 * Docker detection gives up quickly when no engine answers, and withThrowawayDatabase always drops.
 */
import type net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/embedded.js';
import { acquireServer, pgConfig, probeDocker, uniqueDatabaseName, withThrowawayDatabase } from '../../scripts/lib/server.js';
import { ServerError, type PostgresServer } from '../../scripts/lib/postgres-server.js';
import { ConfigError, ConnectionError } from '../../src/errors.js';
import { adminConnection } from '../support/database.js';

/** The run's server, borrowed: stop() must never be called on it. */
function sharedServer(): PostgresServer {
  return { kind: 'external', admin: adminConnection(), description: 'the test server', stop: async () => {} };
}

async function exists(name: string): Promise<boolean> {
  const client = new pg.Client(pgConfig(adminConnection()));
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('withThrowawayDatabase', () => {
  it("creates a database, hands it to fn, returns fn's result, then drops it", async () => {
    let seen = '';
    const result = await withThrowawayDatabase(sharedServer(), 'dl_throwaway', async (connection) => {
      seen = connection.database;
      expect(await exists(seen)).toBe(true);
      const client = new pg.Client(pgConfig(connection));
      await client.connect();
      const { rows } = await client.query('SELECT current_database() AS db');
      await client.end();
      return rows[0]?.db as string;
    });
    expect(result).toBe(seen);
    expect(seen).toMatch(/^dl_throwaway_[0-9a-z]+_[0-9a-f]{8}$/);
    expect(await exists(seen)).toBe(false);
  });

  it("drops the database when fn throws, even with a session still open, and rethrows fn's error", async () => {
    let seen = '';
    let session: pg.Client | undefined;
    const failure = new Error('fn failed on purpose');
    await expect(
      withThrowawayDatabase(sharedServer(), 'dl_throwaway', async (connection) => {
        seen = connection.database;
        session = new pg.Client(pgConfig(connection));
        session.on('error', () => undefined);
        await session.connect();
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(seen).not.toBe('');
    expect(await exists(seen)).toBe(false);
    await session?.end().catch(() => undefined);
  });

  it("keeps the password out of the connection settings' enumerable fields", async () => {
    await withThrowawayDatabase(sharedServer(), 'dl_throwaway', async (connection) => {
      expect(Object.keys(connection).sort()).toEqual(['database', 'host', 'port', 'user']);
      expect(connection.password).toBe(adminConnection().password);
    });
  });
});

describe('uniqueDatabaseName', () => {
  it('is unique per call and a plain identifier', () => {
    const names = new Set(Array.from({ length: 50 }, () => uniqueDatabaseName('dl_x')));
    expect(names.size).toBe(50);
    for (const name of names) expect(name).toMatch(/^dl_x_[0-9a-z]+_[0-9a-f]{8}$/);
  });

  it.each(['', 'DL', 'dl-x', 'dl x', 'x"; DROP DATABASE postgres; --', 'a'.repeat(41)])('rejects the prefix %j', (prefix) => {
    expect(() => uniqueDatabaseName(prefix)).toThrow(ServerError);
  });
});

describe('acquireServer', () => {
  it('fails fast with a clear message when TEST_DATABASE_URL points at a closed port', async () => {
    const port = await freePort(); // free now, and nobody listens on it
    const started = Date.now();
    const error = await acquireServer({
      purpose: 'test',
      env: { TEST_DATABASE_URL: `postgres://postgres:secret-pw@127.0.0.1:${port}/postgres` },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(ConnectionError);
    const message = (error as Error).message;
    expect(message).toContain('TEST_DATABASE_URL');
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toMatch(/connection refused/);
    expect(message).not.toContain('secret-pw');
  });

  it('names TEST_DATABASE_URL when it is not a postgres URL', async () => {
    const error = await acquireServer({ purpose: 'test', env: { TEST_DATABASE_URL: 'mysql://root@localhost/db' } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.variable)).toEqual(['TEST_DATABASE_URL']);
  });

  it('uses TEST_DATABASE_URL as an external server whose stop() leaves it running', async () => {
    const admin = adminConnection();
    const url = `postgres://${admin.user}${admin.password ? `:${encodeURIComponent(admin.password)}` : ''}@${admin.host}:${admin.port}/postgres`;
    const server = await acquireServer({ purpose: 'test', env: { TEST_DATABASE_URL: url } });
    expect(server.kind).toBe('external');
    expect(server.description).toMatch(/^PostgreSQL \d+/);
    await server.stop();
    await withThrowawayDatabase(server, 'dl_after_stop', async () => undefined);
  });

  it('rejects an unknown TEST_DATABASE_PROVIDER', async () => {
    await expect(acquireServer({ purpose: 'test', env: { TEST_DATABASE_PROVIDER: 'docker' } })).rejects.toThrow(
      /TEST_DATABASE_PROVIDER must be auto, embedded or testcontainers/,
    );
  });
});

describe('probeDocker', () => {
  it('answers "no" within a second when DOCKER_HOST names a socket that does not exist', async () => {
    const started = Date.now();
    expect(await probeDocker({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' })).toBe('no');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('answers "no" when DOCKER_HOST names a TCP port where nothing listens', async () => {
    const port = await freePort();
    const started = Date.now();
    expect(await probeDocker({ DOCKER_HOST: `tcp://127.0.0.1:${port}` })).toBe('no');
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('answers "yes" for an engine that answers /_ping', async () => {
    const http = await import('node:http');
    const fake = http.createServer((req, res) => {
      res.statusCode = req.url === '/_ping' ? 200 : 404;
      res.end('OK');
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = fake.address() as net.AddressInfo;
      expect(await probeDocker({ DOCKER_HOST: `tcp://127.0.0.1:${port}` })).toBe('yes');
    } finally {
      fake.close();
    }
  });
});
