/**
 * Helpers for the migration runner tests: empty scratch databases (the runner must start from
 * nothing, so these are not cloned from the migrated template) and temporary migration folders.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseConnectionUrl, toConnectionUrl, type ConnectionSettings } from '../../src/config.js';
import { createMigrator, type Migrator, type MigratorOptions } from '../../src/migrate/index.js';

/** The server to create scratch databases on (a superuser connection to any database). */
export function adminConnection(): ConnectionSettings {
  return parseConnectionUrl(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 'TEST_DATABASE_URL');
}

export interface ScratchDatabase {
  name: string;
  connection: ConnectionSettings;
  url: string;
  /** Runs one query on a fresh connection (closed afterwards). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /** A migrator over `dir` with fast test defaults. */
  migrator(dir: string, options?: Partial<MigratorOptions>): Migrator;
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ ...adminConnection(), password: adminConnection().password });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates an empty database `dl_mig_<random>`; call `drop()` when done. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const admin = adminConnection();
  const name = `dl_mig_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const connection: ConnectionSettings = { host: admin.host, port: admin.port, user: admin.user, database: name };
  if (admin.password !== undefined) Object.defineProperty(connection, 'password', { value: admin.password, enumerable: false });
  return {
    name,
    connection,
    url: toConnectionUrl(connection),
    async query(sql, params) {
      const client = new pg.Client({ ...connection, password: connection.password });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    migrator: (dir, options = {}) =>
      createMigrator({ connection, migrationsDir: dir, lockTimeoutMs: 2000, statementTimeoutMs: 30_000, lockWaitMs: 30_000, ...options }),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** A temporary folder of migration files; `write` adds or replaces files, `remove` deletes one. */
export interface MigrationsDir {
  path: string;
  write(files: Record<string, string>): void;
  remove(fileName: string): void;
  cleanup(): void;
}

export function migrationsDir(files: Record<string, string> = {}): MigrationsDir {
  const path = mkdtempSync(join(tmpdir(), 'dl-migrations-'));
  mkdirSync(path, { recursive: true });
  const dir: MigrationsDir = {
    path,
    write(more) {
      for (const [name, content] of Object.entries(more)) writeFileSync(join(path, name), content);
    },
    remove(fileName) {
      rmSync(join(path, fileName));
    },
    cleanup() {
      rmSync(path, { recursive: true, force: true });
    },
  };
  dir.write(files);
  return dir;
}

/** A migration file body. */
export const sql = (up: string, down?: string, options: { upOptions?: string; downOptions?: string } = {}): string =>
  `-- migrate:up${options.upOptions ? ` ${options.upOptions}` : ''}\n${up}\n` +
  (down === undefined ? '' : `\n-- migrate:down${options.downOptions ? ` ${options.downOptions}` : ''}\n${down}\n`);

/** Ledger names, in order. */
export async function appliedNames(db: ScratchDatabase): Promise<string[]> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('public.schema_migrations')::text AS t`);
  if (!exists[0]?.t) return [];
  return (await db.query<{ name: string }>('SELECT name FROM public.schema_migrations ORDER BY name')).map((r) => r.name);
}

/** Tables in the public schema, sorted. */
export async function tables(db: ScratchDatabase): Promise<string[]> {
  return (
    await db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
  ).map((r) => r.t);
}

/** Captures the error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; file?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string; file?: string };
  }
  throw new Error('expected the promise to reject');
}
