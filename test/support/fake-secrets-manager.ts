/**
 * A fake AWS Secrets Manager on 127.0.0.1: the JSON 1.1 protocol (POST /, `X-Amz-Target:
 * secretsmanager.GetSecretValue`), enough for `@aws-sdk/client-secrets-manager`'s GetSecretValue.
 * Signatures are not checked, but a request without a SigV4 Authorization header is refused, so a
 * client that lost its credentials fails as it would against AWS.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSecretsManager {
  /** `http://127.0.0.1:<port>`, for the provider's `endpoint`. */
  endpoint: string;
  /** Sets (or rotates) a secret's current value. */
  setSecret(secretId: string, secretString: string): void;
  /** GetSecretValue calls per secret id. */
  calls(secretId: string): number;
  /** Makes the next `count` calls answer 500 InternalServiceError. */
  failNext(count: number): void;
  close(): Promise<void>;
}

/**
 * @example
 * ```ts
 * const fake = await startFakeSecretsManager();
 * fake.setSecret('db', JSON.stringify({ password: 'p1' }));
 * ```
 */
export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const secrets = new Map<string, { value: string; version: number }>();
  const counts = new Map<string, number>();
  let failures = 0;

  const reply = (res: http.ServerResponse, status: number, body: unknown, errorType?: string): void => {
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      'x-amzn-requestid': `fake-${Date.now()}`,
    });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      if (req.method !== 'POST' || target !== 'secretsmanager.GetSecretValue') {
        reply(
          res,
          400,
          { __type: 'UnknownOperationException', message: `unsupported operation ${String(target)}` },
          'UnknownOperationException',
        );
        return;
      }
      if (!/^AWS4-HMAC-SHA256 Credential=/.test(req.headers.authorization ?? '')) {
        reply(
          res,
          400,
          { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' },
          'MissingAuthenticationTokenException',
        );
        return;
      }
      let input: { SecretId?: string };
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId?: string };
      } catch {
        reply(res, 400, { __type: 'SerializationException', message: 'bad JSON' }, 'SerializationException');
        return;
      }
      const id = input.SecretId ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
      if (failures > 0) {
        failures -= 1;
        reply(res, 500, { __type: 'InternalServiceError', message: 'fake outage' }, 'InternalServiceError');
        return;
      }
      const secret = secrets.get(id);
      if (!secret) {
        reply(
          res,
          400,
          { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." },
          'ResourceNotFoundException',
        );
        return;
      }
      reply(res, 200, {
        ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}`,
        Name: id,
        VersionId: `v${secret.version}`,
        SecretString: secret.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Date.now() / 1000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setSecret: (secretId, value) => secrets.set(secretId, { value, version: (secrets.get(secretId)?.version ?? 0) + 1 }),
    calls: (secretId) => counts.get(secretId) ?? 0,
    failNext: (count) => {
      failures = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
