/**
 * The database password from AWS Secrets Manager, cached and refreshed after a rotation.
 * `@aws-sdk/client-secrets-manager` is an optional peer dependency: it is imported only when a
 * provider fetches its first secret, so applications that do not use it need not install it.
 */
import type { PasswordProvider } from '../connection.js';
import { CredentialsError } from '../errors.js';
import { createCachedPasswordProvider, reasonOf } from './password-provider.js';

const SDK_PACKAGE = '@aws-sdk/client-secrets-manager';

/** The slice of `SecretsManagerClient` this provider uses (structural, so the SDK's types stay optional). */
export interface SecretsManagerClientLike {
  send(command: unknown): Promise<unknown>;
}

/** Options for `createAwsSecretsManagerPasswordProvider()`. */
export interface AwsSecretsManagerPasswordProviderOptions {
  /** The secret's name or ARN. */
  secretId: string;
  /** AWS region; default: the SDK's own resolution (`AWS_REGION`, the shared config file). */
  region?: string;
  /** An endpoint override (a VPC endpoint, LocalStack, a test double). */
  endpoint?: string;
  /**
   * For a JSON secret (as RDS-managed secrets are: `{"username": ..., "password": ...}`), the key
   * holding the password. Default `password`. A secret that is not a JSON object is the password itself.
   */
  jsonKey?: string;
  /** How long the secret is reused before it is read again (default 5 minutes). Rotation is picked up sooner, on the first 28P01. */
  cacheTtlMs?: number;
  /** A ready `SecretsManagerClient` (credentials, retries, proxies are then yours to configure). */
  client?: SecretsManagerClientLike;
}

interface SdkModule {
  SecretsManagerClient: new (config: { region?: string; endpoint?: string }) => SecretsManagerClientLike;
  GetSecretValueCommand: new (input: { SecretId: string }) => unknown;
}

/**
 * A password provider that reads the password from AWS Secrets Manager (`GetSecretValue`), caches
 * it for `cacheTtlMs`, and reads it again when the server rejects it (the pool calls `invalidate()`
 * on 28P01 and retries the connect once), so a rotated password is picked up without a restart.
 * Errors name the secret id, never its value.
 *
 * @example
 * ```ts
 * import { createAwsSecretsManagerPasswordProvider, createDatabase } from '@ai-validation/data-layer';
 *
 * const database = createDatabase({
 *   // DATABASE_URL=postgres://app@db.internal:5432/ideas (no password in it)
 *   passwordProvider: createAwsSecretsManagerPasswordProvider({ secretId: 'prod/ideas/app', region: 'eu-west-1' }),
 * });
 * ```
 */
export function createAwsSecretsManagerPasswordProvider(
  options: AwsSecretsManagerPasswordProviderOptions,
): PasswordProvider & { invalidate: () => void } {
  if (typeof options.secretId !== 'string' || options.secretId.trim() === '') {
    throw new CredentialsError('createAwsSecretsManagerPasswordProvider: secretId is required');
  }
  const description = `AWS Secrets Manager secret "${options.secretId}"`;
  let session: Promise<{ sdk: SdkModule; client: SecretsManagerClientLike }> | undefined;

  const fetchPassword = async (): Promise<string> => {
    session ??= loadSecretsManagerSdk().then((sdk) => ({
      sdk,
      client:
        options.client ??
        new sdk.SecretsManagerClient({
          ...(options.region === undefined ? {} : { region: options.region }),
          ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        }),
    }));
    const { sdk, client } = await session.catch((error: unknown) => {
      session = undefined; // let a later call retry, e.g. after the package is installed in a long-lived REPL
      throw error;
    });
    const response = (await client.send(new sdk.GetSecretValueCommand({ SecretId: options.secretId }))) as {
      SecretString?: string;
      SecretBinary?: Uint8Array;
    };
    const text = response.SecretString ?? (response.SecretBinary ? Buffer.from(response.SecretBinary).toString('utf8') : undefined);
    if (text === undefined) throw new CredentialsError(`${description} has no SecretString or SecretBinary`);
    return passwordFromSecret(text, options.jsonKey, description);
  };

  return createCachedPasswordProvider(fetchPassword, { cacheTtlMs: options.cacheTtlMs, description });
}

/**
 * The password in a secret's text: `jsonKey` (default `password`) of a JSON object, else the text
 * itself. A `jsonKey` given explicitly must be present.
 */
export function passwordFromSecret(text: string, jsonKey: string | undefined, description: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const key = jsonKey ?? 'password';
    const value = (parsed as Record<string, unknown>)[key];
    if (typeof value !== 'string' || value === '') {
      throw new CredentialsError(
        `${description} is a JSON object without a non-empty string "${key}" key (set jsonKey to the key that holds the password)`,
      );
    }
    return value;
  }
  if (jsonKey !== undefined) {
    throw new CredentialsError(`${description} is not a JSON object, but jsonKey "${jsonKey}" was given`);
  }
  return text;
}

/**
 * Imports the optional SDK, or explains how to install it. `importer` exists for tests.
 */
export async function loadSecretsManagerSdk(importer: (name: string) => Promise<unknown> = (name) => import(name)): Promise<SdkModule> {
  try {
    return (await importer(SDK_PACKAGE)) as SdkModule;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new CredentialsError(
        `createAwsSecretsManagerPasswordProvider needs the optional peer dependency ${SDK_PACKAGE}: npm install ${SDK_PACKAGE}`,
        { cause: error },
      );
    }
    throw new CredentialsError(`could not load ${SDK_PACKAGE}: ${reasonOf(error)}`, { cause: error });
  }
}
