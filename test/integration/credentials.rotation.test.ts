/**
 * Credentials against a server that checks passwords (an ephemeral embedded PostgreSQL with
 * scram-sha-256; the shared test server trusts loopback): precedence of the sources, the AWS
 * Secrets Manager provider through a password rotation in the middle of a load, and that no
 * secret reaches an error or a log entry.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Env } from '../../src/config.js';
import type { PasswordProvider } from '../../src/connection.js';
import { createAwsSecretsManagerPasswordProvider } from '../../src/credentials/aws-secrets-manager.js';
import { createDatabase, type CreateDatabaseOptions, type Database } from '../../src/db/database.js';
import { ConnectionError, CredentialsError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-secrets-manager.js';
import { startEphemeralServer, type EphemeralServer } from '../support/tls-server.js';

const role = `dl_role_${randomBytes(5).toString('hex')}`;
const secret = (label: string): string => `${label}-${randomBytes(9).toString('base64url')}`;
/** Every secret value this file uses; none may appear in an error, a log entry or a stats() result. */
const secrets: string[] = [];
const newSecret = (label: string): string => {
  const value = secret(label);
  secrets.push(value);
  return value;
};

let ephemeral: EphemeralServer;
let fake: FakeSecretsManager;
let dir: string;
/** Everything logged and thrown in this file, serialized, for the redaction check. */
const produced: string[] = [];

const logger: Logger = Object.fromEntries(
  (['error', 'warn', 'info', 'debug'] as const).map((level) => [
    level,
    (obj: object, msg?: string) => produced.push(`${level} ${msg ?? ''} ${serialize(obj)}`),
  ]),
) as unknown as Logger;

function serialize(value: unknown): string {
  const seen = new Set<unknown>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Error) {
      if (seen.has(v)) return '[seen]';
      seen.add(v);
      return { ...v, name: v.name, message: v.message, stack: v.stack, cause: v.cause };
    }
    return v;
  });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  produced.push(serialize(error), String(error), (error as Error).stack ?? '');
  return error as Error;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dl-credentials-'));
  [ephemeral, fake] = await Promise.all([startEphemeralServer(), startFakeSecretsManager()]);
  secrets.push(ephemeral.admin.password ?? '');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFAKEFAKEFAKE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'fake-secret-access-key');
  vi.stubEnv('AWS_REGION', 'us-east-1');
}, 120_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await ephemeral?.adminQuery(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await ephemeral?.stop();
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function setRolePassword(password: string): Promise<void> {
  // The literal goes to the server only; PostgreSQL does not log it (log_statement is off).
  await ephemeral.adminQuery(`ALTER ROLE ${role} WITH LOGIN PASSWORD '${password}'`);
}

function baseEnv(extra: Env = {}): Env {
  return { DATABASE_URL: `postgres://${role}@127.0.0.1:${ephemeral.admin.port}/postgres`, ...extra };
}

async function currentUser(options: CreateDatabaseOptions): Promise<string> {
  const database = createDatabase({ logger, pool: { max: 1 }, ...options });
  try {
    const { rows } = await sql<{ user: string }>`select current_user as user`.execute(database.db);
    return rows[0]?.user ?? '';
  } finally {
    await database.close();
  }
}

describe('password sources, in order of precedence', () => {
  let right: string;
  const wrong = newSecret('wrong');

  beforeAll(async () => {
    await ephemeral.adminQuery(`CREATE ROLE ${role} LOGIN`);
    right = newSecret('right');
    await setRolePassword(right);
  });

  it('the password option beats DATABASE_URL and PGPASSWORD', async () => {
    const url = `postgres://${role}:${wrong}@127.0.0.1:${ephemeral.admin.port}/postgres`;
    expect(await currentUser({ env: { DATABASE_URL: url }, password: right })).toBe(role);
    expect(await currentUser({ env: baseEnv({ PGPASSWORD: wrong }), password: right })).toBe(role);
  });

  it('DATABASE_PASSWORD_FILE is read', async () => {
    const file = join(dir, 'password');
    writeFileSync(file, `${right}\n`, { mode: 0o600 });
    expect(await currentUser({ env: baseEnv({ DATABASE_PASSWORD_FILE: file, PGPASSWORD: wrong }) })).toBe(role);
  });

  it('a configured password wins over the provider, which is then never called (and a warning says so)', async () => {
    const provider = vi.fn(async () => wrong);
    produced.length = 0;
    expect(await currentUser({ env: baseEnv({ PGPASSWORD: right }), passwordProvider: provider })).toBe(role);
    expect(provider).not.toHaveBeenCalled();
    expect(produced.some((line) => line.startsWith('warn passwordProvider is not used'))).toBe(true);
  });

  it('the provider is called for each new connection when nothing else supplies a password', async () => {
    const provider = vi.fn(async () => right);
    const database = createDatabase({ env: baseEnv(), passwordProvider: provider, logger, pool: { max: 2 } });
    try {
      await Promise.all([1, 2].map(() => sql`select pg_sleep(0.05)`.execute(database.db)));
      expect(provider).toHaveBeenCalledTimes(2);
    } finally {
      await database.close();
    }
  });

  it('without any password the server refuses, and the error says so without a secret', async () => {
    const error = await failure(currentUser({ env: baseEnv() }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toMatch(
      /could not connect to postgres:\/\/dl_role_\w+@127\.0\.0\.1:\d+\/postgres: the server asks for a password and none is configured \(DATABASE_URL, DATABASE_PASSWORD_FILE, PGPASSWORD or a passwordProvider\)$/,
    );
  });

  it('a wrong password fails once the single retry also fails: 2 reads of the secret, a clear ConnectionError', async () => {
    const secretId = `dl/${role}/wrong`;
    fake.setSecret(secretId, JSON.stringify({ username: role, password: wrong }));
    const provider = createAwsSecretsManagerPasswordProvider({ secretId, endpoint: fake.endpoint });
    const error = await failure(currentUser({ env: baseEnv(), passwordProvider: provider }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toMatch(/: password authentication failed$/);
    expect(fake.calls(secretId)).toBe(2);
  });

  it('a Secrets Manager failure surfaces as a CredentialsError naming the secret', async () => {
    const secretId = `dl/${role}/absent`;
    const provider = createAwsSecretsManagerPasswordProvider({ secretId, endpoint: fake.endpoint });
    const error = await failure(currentUser({ env: baseEnv(), passwordProvider: provider }));
    expect(error).toBeInstanceOf(CredentialsError);
    expect(error.message).toContain(`AWS Secrets Manager secret "${secretId}": ResourceNotFoundException`);
  });
});

describe('rotation in the middle of a load', () => {
  it('picks up the rotated password without a restart; queries fail only while the role and the secret disagree', async () => {
    const secretId = `dl/${role}/rotating`;
    const p1 = newSecret('p1');
    const p2 = newSecret('p2');
    const p3 = newSecret('p3');
    await setRolePassword(p1);
    fake.setSecret(secretId, JSON.stringify({ username: role, password: p1 }));
    const passwordProvider: PasswordProvider = createAwsSecretsManagerPasswordProvider({ secretId, endpoint: fake.endpoint });
    // Short idle timeout and lifetime: connections are reopened (and re-authenticated) all through the run.
    const database: Database = createDatabase({
      env: baseEnv(),
      passwordProvider,
      logger,
      pool: { max: 4, idleTimeoutMs: 40, maxLifetimeSeconds: 1, connectionTimeoutMs: 10_000 },
    });
    let connects = 0;
    database.pool.on('connect', () => {
      connects += 1;
    });

    const started = Date.now();
    const at = (): number => Date.now() - started;
    const events: { alter1?: number; secret1?: number; secret2?: number; alter2?: number } = {};
    const results: { start: number; end: number; ok: boolean; error?: Error }[] = [];
    const RUN_MS = 6_000;
    const MAX_QUERIES_PER_WORKER = 2_000;

    const worker = async (): Promise<void> => {
      for (let i = 0; i < MAX_QUERIES_PER_WORKER && at() < RUN_MS; i += 1) {
        const start = at();
        try {
          const { rows } = await sql<{ user: string }>`select current_user as user`.execute(database.db);
          expect(rows[0]?.user).toBe(role);
          results.push({ start, end: at(), ok: true });
        } catch (error) {
          results.push({ start, end: at(), ok: false, error: error as Error });
        }
        // Some pauses outlast the idle timeout, so connections keep being replaced.
        await new Promise((resolve) => setTimeout(resolve, (i * 7) % 60));
      }
    };
    const rotator = async (): Promise<void> => {
      const sleepUntil = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - at())));
      // Rotation 1, in the order AWS rotation functions use: the role changes (setSecret), then the
      // secret's current version moves (finishSecret) a moment later.
      await sleepUntil(1_500);
      await setRolePassword(p2);
      events.alter1 = at();
      await sleepUntil(2_000);
      fake.setSecret(secretId, JSON.stringify({ username: role, password: p2 }));
      events.secret1 = at();
      // Rotation 2, secret first: with the cache and the retry on 28P01, nothing fails.
      await sleepUntil(3_800);
      fake.setSecret(secretId, JSON.stringify({ username: role, password: p3 }));
      events.secret2 = at();
      await setRolePassword(p3);
      events.alter2 = at();
    };

    try {
      await Promise.all([worker(), worker(), worker(), worker(), rotator()]);
    } finally {
      await database.close();
    }

    const failures = results.filter((r) => !r.ok);
    for (const f of failures) produced.push(serialize(f.error), String(f.error));
    const { alter1 = NaN, secret1 = NaN } = events;
    const outsideWindow = failures.filter((f) => !(f.end >= alter1 && f.start < secret1));
    const afterRotation1 = results.filter((r) => r.start >= secret1);
    const afterRotation2 = results.filter((r) => r.start >= (events.alter2 ?? NaN));
    console.info(
      `[rotation] ${results.length} queries, ${connects} connections, ${failures.length} failed ` +
        `(${outsideWindow.length} outside the window between ALTER ROLE at ${alter1} ms and the secret update at ${secret1} ms), ` +
        `${afterRotation2.length} after rotation 2; ` +
        `${fake.calls(secretId)} GetSecretValue calls`,
    );
    expect(outsideWindow.map((f) => `${f.start}-${f.end}: ${f.error?.message}`)).toEqual([]);
    for (const f of failures) {
      expect(f.error).toBeInstanceOf(ConnectionError);
      expect(f.error?.message).toMatch(/password authentication failed$/);
    }
    expect(afterRotation1.length).toBeGreaterThan(20);
    expect(afterRotation2.length).toBeGreaterThan(20);
    expect(afterRotation1.every((r) => r.ok)).toBe(true);
    // The cache holds: far fewer secret reads than connections opened.
    expect(connects).toBeGreaterThan(20);
    expect(fake.calls(secretId)).toBeLessThan(connects / 2);
    // The role now only accepts p3, and the pool kept working: the last queries used it.
    expect(results.slice(-4).every((r) => r.ok)).toBe(true);
  }, 60_000);
});

describe('the retry on 28P01 covers every checkout path', () => {
  it('pool.query() (callback form inside pg) and pool.connect() pick up a rotated secret too', async () => {
    const secretId = `dl/${role}/raw-pool`;
    const before = newSecret('raw-before');
    await setRolePassword(before);
    fake.setSecret(secretId, before);
    const passwordProvider = createAwsSecretsManagerPasswordProvider({ secretId, endpoint: fake.endpoint });
    // idleTimeoutMs 0 keeps idle clients; max 1 and a release with destroy force each step to reconnect.
    const database = createDatabase({ env: baseEnv(), passwordProvider, logger, pool: { max: 1 } });
    try {
      const first = await database.pool.connect();
      first.release(true);
      for (const [label, run] of [
        ['pool.query', async () => (await database.pool.query<{ user: string }>('select current_user as user')).rows[0]?.user],
        [
          'pool.connect',
          async () => {
            const client = await database.pool.connect();
            try {
              return (await client.query<{ user: string }>('select current_user as user')).rows[0]?.user;
            } finally {
              client.release(true);
            }
          },
        ],
      ] as const) {
        const calls = fake.calls(secretId);
        const next = newSecret(`raw-${label}`);
        fake.setSecret(secretId, next);
        await setRolePassword(next);
        expect(await run(), label).toBe(role);
        expect(fake.calls(secretId) - calls, label).toBe(1); // the stale cache failed once, then one read
        const idle = await database.pool.connect();
        idle.release(true); // the next step connects afresh
      }
    } finally {
      await database.close();
    }
  });
});

describe('redaction', () => {
  it('health() holds no secret, up or down (with the password in the URL, or from a provider that fails)', async () => {
    const right = newSecret('health');
    await setRolePassword(right);
    const url = (password: string) => `postgres://${role}:${password}@127.0.0.1:${ephemeral.admin.port}/postgres`;
    const cases: [CreateDatabaseOptions, string][] = [
      [{ env: { DATABASE_URL: url(right) } }, 'up'],
      [{ env: { DATABASE_URL: url(newSecret('health-wrong')) } }, 'down'],
      // A provider's own error passes through as its cause: providers must keep secrets out of their messages.
      [{ env: baseEnv(), passwordProvider: async () => Promise.reject(new Error('vault is sealed')) }, 'down'],
    ];
    for (const [options, expected] of cases) {
      const database = createDatabase({ logger, ...options });
      try {
        const report = await database.health({ timeoutMs: 10_000, checkMigrations: false });
        produced.push(JSON.stringify(report));
        expect(report.status === 'down' ? 'down' : 'up').toBe(expected);
        produced.push(serialize(database.stats()));
      } finally {
        await database.close();
      }
    }
  });

  it('no secret appears in any error, log entry or health report produced above', () => {
    expect(produced.length).toBeGreaterThan(5);
    const text = produced.join('\n');
    for (const value of secrets) {
      expect(value.length).toBeGreaterThan(8);
      expect(text).not.toContain(value);
    }
  });
});
