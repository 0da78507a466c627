/**
 * What the scripts and the test harness mean by "a PostgreSQL server": one they found or started
 * (server.ts, embedded.ts), and the error raised when one cannot be started, reused or stopped.
 */
import type { ConnectionSettings } from '../../src/connection.js';
import { DataLayerError } from '../../src/errors.js';

/** A server we may create databases on, with a superuser (or CREATEDB) connection to it. */
export interface PostgresServer {
  kind: 'external' | 'testcontainers' | 'embedded';
  /** Connected to the maintenance database (`postgres`) as a superuser or a CREATEDB role. */
  admin: ConnectionSettings;
  /** One line for humans: what and where (never a password). */
  description: string;
  /** Stops a server we started; a no-op for an external or reused one. Idempotent. */
  stop(): Promise<void>;
  /** True when this is an embedded server another process started and keeps running (db:serve). */
  reused?: boolean;
}

/** A PostgreSQL server (embedded or in a container) could not be started, reused or stopped. */
export class ServerError extends DataLayerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SERVER_FAILED', message, options);
  }
}
