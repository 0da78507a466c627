/**
 * Helpers for the migration runner tests: empty databases on the run's server (the runner must
 * start from nothing, so these are not clones of the migrated template) and temporary migration
 * folders.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ConnectionSettings } from '../../src/connection.js';
import { createMigrator, type Migrator, type MigratorOptions } from '../../src/migrate/index.js';
import { createTestDatabase } from '../support/database.js';

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

/** An empty database on the run's server (the harness's `createTestDatabase({ migrated: false })`). */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const database = await createTestDatabase({ migrated: false });
  const { connection } = database;
  return {
    name: database.name,
    connection,
    url: database.url,
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
    drop: () => database.drop(),
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
  return (await db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map((r) => r.t);
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
