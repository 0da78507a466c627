/**
 * createAwsSecretsManagerPasswordProvider against a fake Secrets Manager on loopback, through the
 * real @aws-sdk/client-secrets-manager: secret formats, caching, invalidation, failures, and that
 * no error carries a secret value.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAwsSecretsManagerPasswordProvider, loadSecretsManagerSdk } from '../../src/credentials/aws-secrets-manager.js';
import { createCachedPasswordProvider } from '../../src/credentials/password-provider.js';
import { CredentialsError } from '../../src/errors.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-secrets-manager.js';

let fake: FakeSecretsManager;
const SECRET_VALUES = ['plain-Secret-1f9a', 'json-Secret-77c2', 'rotated-Secret-0b3e', 'other-Secret-9d41'];

beforeAll(async () => {
  fake = await startFakeSecretsManager();
  // Static fake credentials through the SDK's default chain (environment first: no file or IMDS lookups).
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFAKEFAKEFAKE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'fake-secret-access-key');
  vi.stubEnv('AWS_REGION', 'us-east-1');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fake?.close();
});

let counter = 0;
function uniqueId(): string {
  counter += 1;
  return `dl/test/${process.pid}/${counter}`;
}

function provider(secretId: string, extra: Partial<Parameters<typeof createAwsSecretsManagerPasswordProvider>[0]> = {}) {
  return createAwsSecretsManagerPasswordProvider({ secretId, endpoint: fake.endpoint, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<CredentialsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CredentialsError);
  const text = `${(error as Error).message}\n${JSON.stringify(error)}`;
  for (const secret of SECRET_VALUES) expect(text).not.toContain(secret);
  return error as CredentialsError;
}

describe('createAwsSecretsManagerPasswordProvider', () => {
  it('reads a plain SecretString as the password', async () => {
    const id = uniqueId();
    fake.setSecret(id, 'plain-Secret-1f9a');
    expect(await provider(id)()).toBe('plain-Secret-1f9a');
  });

  it('reads "password" from a JSON secret (the RDS format), or the key named by jsonKey', async () => {
    const id = uniqueId();
    fake.setSecret(id, JSON.stringify({ username: 'app', password: 'json-Secret-77c2', other: 'other-Secret-9d41' }));
    expect(await provider(id)()).toBe('json-Secret-77c2');
    expect(await provider(id, { jsonKey: 'other' })()).toBe('other-Secret-9d41');
  });

  it('refuses a JSON secret without the key, and a jsonKey for a plain secret, without echoing the secret', async () => {
    const json = uniqueId();
    fake.setSecret(json, JSON.stringify({ username: 'app', pass: 'json-Secret-77c2' }));
    const missing = await failure(provider(json)());
    expect(missing.message).toContain(`AWS Secrets Manager secret "${json}" is a JSON object without a non-empty string "password" key`);
    const plain = uniqueId();
    fake.setSecret(plain, 'plain-Secret-1f9a');
    expect((await failure(provider(plain, { jsonKey: 'password' })())).message).toContain(
      'is not a JSON object, but jsonKey "password" was given',
    );
  });

  it('caches the secret: concurrent and repeated calls make one request', async () => {
    const id = uniqueId();
    fake.setSecret(id, 'plain-Secret-1f9a');
    const p = provider(id);
    const values = await Promise.all([p(), p(), p(), p()]);
    expect(values).toEqual(Array(4).fill('plain-Secret-1f9a'));
    await p();
    expect(fake.calls(id)).toBe(1);
  });

  it('reads again after cacheTtlMs, and at once after invalidate()', async () => {
    const id = uniqueId();
    fake.setSecret(id, 'plain-Secret-1f9a');
    const p = provider(id, { cacheTtlMs: 150 });
    await p();
    fake.setSecret(id, 'rotated-Secret-0b3e');
    expect(await p()).toBe('plain-Secret-1f9a'); // still cached
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await p()).toBe('rotated-Secret-0b3e');
    expect(fake.calls(id)).toBe(2);

    const q = provider(id); // default TTL: minutes
    await q();
    fake.setSecret(id, 'other-Secret-9d41');
    q.invalidate();
    expect(await q()).toBe('other-Secret-9d41');
  });

  it('a missing secret fails with a CredentialsError naming the secret id and the AWS error', async () => {
    const id = uniqueId();
    const error = await failure(provider(id)());
    expect(error.message).toBe(
      `could not get the database password from AWS Secrets Manager secret "${id}": ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
    );
    expect(error.code).toBe('CREDENTIALS_FAILED');
  });

  it('a failed read is not cached: the next call reads again', async () => {
    const id = uniqueId();
    fake.setSecret(id, 'plain-Secret-1f9a');
    fake.failNext(10); // more than the SDK's own retries
    const p = provider(id);
    const error = await failure(p());
    expect(error.message).toMatch(/InternalServiceError: fake outage/);
    fake.failNext(0);
    expect(await p()).toBe('plain-Secret-1f9a');
  });

  it('uses a client passed in (its credentials and settings), loading only the command from the SDK', async () => {
    const id = uniqueId();
    fake.setSecret(id, 'plain-Secret-1f9a');
    const send = vi.fn(async (command: unknown) => {
      expect((command as { input: unknown }).input).toEqual({ SecretId: id });
      return { SecretString: 'json-Secret-77c2' };
    });
    expect(await createAwsSecretsManagerPasswordProvider({ secretId: id, client: { send } })()).toBe('json-Secret-77c2');
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('refuses an empty secretId up front', () => {
    expect(() => createAwsSecretsManagerPasswordProvider({ secretId: ' ' })).toThrow(CredentialsError);
  });
});

describe('the optional SDK', () => {
  it('explains how to install @aws-sdk/client-secrets-manager when it is absent', async () => {
    const absent = Object.assign(new Error("Cannot find package '@aws-sdk/client-secrets-manager'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const error = await failure(loadSecretsManagerSdk(() => Promise.reject(absent)));
    expect(error.message).toBe(
      'createAwsSecretsManagerPasswordProvider needs the optional peer dependency @aws-sdk/client-secrets-manager: npm install @aws-sdk/client-secrets-manager',
    );
    expect(error.cause).toBe(absent);
  });

  it('loads the installed SDK', async () => {
    const sdk = await loadSecretsManagerSdk();
    expect(typeof sdk.GetSecretValueCommand).toBe('function');
  });
});

describe('createCachedPasswordProvider', () => {
  it('does not let a fetch that started before invalidate() refill the cache with its stale value', async () => {
    let value = 'plain-Secret-1f9a';
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const p = createCachedPasswordProvider(async () => {
      calls += 1;
      const seen = value;
      if (calls === 1) await gate;
      return seen;
    });
    const first = p();
    p.invalidate();
    value = 'rotated-Secret-0b3e';
    release();
    expect(await first).toBe('plain-Secret-1f9a');
    expect(await p()).toBe('rotated-Secret-0b3e');
    expect(calls).toBe(2);
  });

  it('wraps a thrown error and an empty value in CredentialsError', async () => {
    await failure(createCachedPasswordProvider(() => Promise.reject(new Error('vault sealed')), { description: 'Vault' })());
    const empty = await failure(createCachedPasswordProvider(async () => '', { description: 'Vault' })());
    expect(empty.message).toBe('Vault returned no password (an empty or non-string value)');
  });
});
