/**
 * Where, as whom and how securely to connect: the connection settings, their TLS and credential
 * rules, and their translation into node-postgres' client options. Secrets never leave this
 * module in printable form: `describeConnection()` has no password, and the password is
 * non-enumerable wherever it is stored.
 */
import type pg from 'pg';

/** Where and as whom to connect. The password is kept out of `JSON.stringify` and `util.inspect`. */
export interface ConnectionSettings {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  /** TLS (`DATABASE_SSL`, or `sslmode` in the URL). Absent means `disable`. */
  ssl?: TlsSettings;
  /**
   * libpq's `target_session_attrs` from the URL, when it asks for the primary: every new pool
   * connection is then checked (`read-write`: not read-only; `primary`: not a hot standby) and
   * refused with a `ConnectionError` otherwise. Absent: any server (libpq's `any`).
   */
  targetSessionAttrs?: 'read-write' | 'primary';
  /**
   * Called for each new connection when no password is configured (see `createDatabase`'s
   * `passwordProvider`). Kept out of `JSON.stringify` and `util.inspect`, like the password.
   */
  passwordProvider?: PasswordProvider;
}

/** `disable`: plain TCP. `require`: encrypted, certificate not checked. `verify-full`: encrypted, CA and host name checked. */
export type SslMode = 'disable' | 'require' | 'verify-full';

/** TLS settings for a connection. */
export interface TlsSettings {
  mode: SslMode;
  /** PEM certificates trusted for `verify-full` (the content of `DATABASE_SSL_CA_FILE`); default: Node's CA bundle. */
  ca?: string;
  /** The file `ca` was read from, named in error messages and passed to tools that take a file (pg_dump). */
  caFile?: string;
}

/**
 * Supplies the password for each new connection (node-postgres calls it whenever it opens one).
 * `invalidate()`, when present, is called after an authentication failure (28P01) so that the next
 * call fetches a fresh secret: the connect is then retried once.
 */
export interface PasswordProvider {
  (): Promise<string>;
  invalidate?: () => void;
}

export const SSL_MODES: readonly SslMode[] = ['disable', 'require', 'verify-full'];

/**
 * A printable form of connection settings: `postgres://user@host:port/database`, never the password.
 *
 * @example
 * ```ts
 * console.log(`connected to ${describeConnection(config.connection)}`);
 * ```
 */
export function describeConnection(settings: ConnectionSettings): string {
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `postgres://${encodeURIComponent(settings.user)}@${host}:${settings.port}/${encodeURIComponent(settings.database)}`;
}

/** A connection URL with its password, for tools that only take a URL (pg_dump, codegen). */
export function toConnectionUrl(settings: ConnectionSettings): string {
  const host = settings.host.startsWith('/') ? 'localhost' : settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const auth =
    settings.password === undefined
      ? encodeURIComponent(settings.user)
      : `${encodeURIComponent(settings.user)}:${encodeURIComponent(settings.password)}`;
  const params = new URLSearchParams();
  if (settings.host.startsWith('/')) params.set('host', settings.host);
  if (settings.ssl) params.set('sslmode', settings.ssl.mode);
  if (settings.ssl?.caFile) params.set('sslrootcert', settings.ssl.caFile);
  if (settings.targetSessionAttrs) params.set('target_session_attrs', settings.targetSessionAttrs);
  const query = params.size > 0 ? `?${params.toString()}` : '';
  return `postgres://${auth}@${host}:${settings.port}/${encodeURIComponent(settings.database)}${query}`;
}

/**
 * Where, as whom and how securely to connect: the fields every client needs (the pool's and the
 * migrator's). A configured password wins over a `passwordProvider`; TLS is always explicit, so
 * node-postgres never falls back to reading `PGSSLMODE` behind the configuration's back.
 */
export function connectionOptions(
  connection: ConnectionSettings,
): Pick<pg.ClientConfig, 'host' | 'port' | 'user' | 'database' | 'password' | 'ssl'> {
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    database: connection.database,
    password: connection.password ?? connection.passwordProvider,
    ssl: tlsOptions(connection.ssl),
  };
}

/** `DATABASE_SSL` -> node-postgres' `ssl` (Node's `tls.connect` options). */
export function tlsOptions(tls: TlsSettings | undefined): pg.ClientConfig['ssl'] {
  switch (tls?.mode) {
    case undefined:
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      // Node checks the chain against `ca` (or its bundle) and the host name against the certificate.
      return tls.ca === undefined ? { rejectUnauthorized: true } : { rejectUnauthorized: true, ca: tls.ca };
  }
}

/** Credentials given in code (`createDatabase({ password, passwordProvider })`). */
export interface CredentialOptions {
  /** A password that takes precedence over every other source. */
  password?: string;
  /** Used only when no other source supplies a password; see `PasswordProvider`. */
  passwordProvider?: PasswordProvider;
}

/**
 * Applies the documented precedence: the `password` option, then the configuration's password
 * (`DATABASE_URL`, `DATABASE_PASSWORD_FILE`, `PGPASSWORD`), then the `passwordProvider` option.
 * Returns a copy; `ignoredProvider` is true when a provider was given but a password won.
 *
 * @example
 * ```ts
 * const { connection } = withCredentials(config.connection, { passwordProvider });
 * ```
 */
export function withCredentials(
  connection: ConnectionSettings,
  options: CredentialOptions,
): { connection: ConnectionSettings; ignoredProvider: boolean } {
  const { password: _password, passwordProvider: _provider, ...visible } = connection;
  const copy: ConnectionSettings = { ...visible };
  const password = options.password ?? connection.password;
  const provider = options.passwordProvider ?? connection.passwordProvider;
  if (password !== undefined) Object.defineProperty(copy, 'password', { value: password, enumerable: false });
  else if (provider !== undefined) Object.defineProperty(copy, 'passwordProvider', { value: provider, enumerable: false });
  return { connection: copy, ignoredProvider: password !== undefined && options.passwordProvider !== undefined };
}
