/**
 * Ephemeral embedded PostgreSQL servers for the credentials and TLS tests. Unlike the shared test
 * server (trust auth), these check passwords (scram-sha-256), and can serve TLS with a certificate
 * from a throwaway CA generated with openssl, optionally refusing plain connections (hostssl only).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { chmod, chown, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { allowTraverse, startEmbedded } from '../../scripts/lib/embedded.js';
import type { PostgresServer } from '../../scripts/lib/postgres-server.js';
import type { ConnectionSettings } from '../../src/connection.js';

const execFileAsync = promisify(execFile);

export interface TestCertificates {
  /** PEM file of the CA that signed the server certificate. */
  caFile: string;
  /** PEM file of an unrelated CA (for wrong-CA failures). */
  otherCaFile: string;
  serverCertFile: string;
  serverKeyFile: string;
}

export interface EphemeralServer {
  server: PostgresServer;
  /** Superuser settings (with password). When TLS-only, connect with `ssl: { rejectUnauthorized: false }`. */
  admin: ConnectionSettings;
  /** Present when started with `tls`. */
  certificates?: TestCertificates;
  /** Runs SQL as the superuser on the `postgres` database. */
  adminQuery(sql: string): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/**
 * @example
 * ```ts
 * const ephemeral = await startEphemeralServer({ tls: 'only' });
 * try { ... } finally { await ephemeral.stop(); }
 * ```
 */
export async function startEphemeralServer(options: { tls?: 'on' | 'only' } = {}): Promise<EphemeralServer> {
  const dir = mkdtempSync(join(tmpdir(), 'dl-ephemeral-'));
  await allowTraverse(dir);
  let server: PostgresServer | undefined;
  try {
    server = await startEmbedded({ dataDir: join(dir, 'data'), persistent: false });
    const admin = server.admin;
    let useTls = false;
    const adminQuery = async (sql: string, tls = useTls): Promise<pg.QueryResult> => {
      const client = new pg.Client({
        host: admin.host,
        port: admin.port,
        user: admin.user,
        database: admin.database,
        password: admin.password,
        ssl: tls ? { rejectUnauthorized: false } : false,
        connectionTimeoutMillis: 10_000,
      });
      await client.connect();
      try {
        return await client.query(sql);
      } finally {
        await client.end();
      }
    };
    let certificates: TestCertificates | undefined;
    if (options.tls) {
      certificates = await makeCertificates(dir);
      await adminQuery(`ALTER SYSTEM SET ssl_cert_file = '${certificates.serverCertFile}'`);
      await adminQuery(`ALTER SYSTEM SET ssl_key_file = '${certificates.serverKeyFile}'`);
      await adminQuery(`ALTER SYSTEM SET ssl = on`);
      if (options.tls === 'only') {
        const hbaFile = (await adminQuery('SHOW hba_file')).rows[0].hba_file as string;
        const hba = await readFile(hbaFile, 'utf8');
        await writeFile(hbaFile, hba.replace(/^host(\s)/gm, 'hostssl$1'));
      }
      await adminQuery('SELECT pg_reload_conf()');
      useTls = true;
      await waitFor(
        () =>
          adminQuery('SHOW ssl').then(
            (r) => r.rows[0].ssl === 'on',
            () => false,
          ),
        'ssl = on after reload',
      );
      if (options.tls === 'only') {
        await waitFor(
          () =>
            adminQuery('SELECT 1', false).then(
              () => false,
              (error: unknown) => /no encryption/.test(String(error)),
            ),
          'pg_hba.conf hostssl-only after reload',
        );
      }
    }
    const stopServer = server;
    return {
      server,
      admin,
      certificates,
      adminQuery,
      stop: async () => {
        await stopServer.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A CA, a server certificate for localhost and 127.0.0.1 signed by it, and an unrelated CA. */
async function makeCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): Promise<unknown> => execFileAsync('openssl', args);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=dl test CA');
  await openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('other-ca.key'),
    '-out',
    file('other-ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=dl other CA',
  );
  await openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
  await writeFile(file('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '2',
    '-extfile',
    file('san.ext'),
  );
  // PostgreSQL refuses a key readable by others, and reads it as its own OS user (postgres, when we are root).
  await chmod(file('server.key'), 0o600);
  await chmod(file('server.crt'), 0o644);
  if (process.getuid?.() === 0) {
    const { stdout } = await execFileAsync('id', ['-u', 'postgres']);
    const { stdout: gid } = await execFileAsync('id', ['-g', 'postgres']);
    await chown(file('server.key'), Number(stdout.trim()), Number(gid.trim()));
  }
  return {
    caFile: file('ca.crt'),
    otherCaFile: file('other-ca.crt'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
  };
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
