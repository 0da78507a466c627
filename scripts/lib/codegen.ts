/**
 * Generates `src/schema/generated.ts` from the migrations, never from anyone's development
 * database: a throwaway database on the available server, every migration applied with the
 * project's runner, kysely-codegen over it with the settings in `kysely.config.ts`, then the
 * database is dropped.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import { DiffChecker, generate, PostgresDialect as CodegenPostgresDialect, type GenerateOptions } from 'kysely-codegen';
import pg from 'pg';
import { codegen as settings } from '../../kysely.config.js';
import type { Env } from '../../src/config.js';
import type { ConnectionSettings } from '../../src/connection.js';
import { silentLogger } from '../../src/logger.js';
import { createMigrator, defaultMigrationsDir } from '../../src/migrate/index.js';
import type { PostgresServer } from './postgres-server.js';
import { renderSchemaFile, SCHEMA_FILE } from './schema-file.js';
import { acquireServer, withThrowawayDatabase } from './server.js';

/** Options for `runCodegen()`. */
export interface CodegenOptions {
  /** Compare with the file instead of writing it. */
  verify?: boolean;
  /** The generated file; relative paths resolve against the package root. Default: `codegen.outFile`. */
  outFile?: string;
  /** The migrations to apply. Default: the package's `migrations/`. */
  migrationsDir?: string;
  /** A server to use (and leave running). Default: `acquireServer({ purpose: 'codegen' })`, stopped after. */
  server?: PostgresServer;
  /** The environment `acquireServer()` reads (default `process.env`). */
  env?: Env;
  /** Progress lines. Default: none. */
  log?: (line: string) => void;
  /**
   * The schema file (see schema-file.ts), written or verified from the same database; null skips
   * it. Default: `db/schema.sql` when `outFile` is the default, else null.
   */
  schemaFile?: string | null;
}

/** What `runCodegen()` did with one file. */
export interface GeneratedFile {
  /** The absolute path. */
  file: string;
  status: 'written' | 'unchanged' | 'up-to-date' | 'out-of-date';
  hint?: string;
  output: string;
}

/** What `runCodegen()` did. */
export interface CodegenResult {
  /** The absolute path of the generated file. */
  outFile: string;
  /**
   * `written`: the file changed; `unchanged`: it already held this output (not rewritten);
   * `up-to-date` / `out-of-date`: the verdict of `verify`.
   */
  status: 'written' | 'unchanged' | 'up-to-date' | 'out-of-date';
  /** For `out-of-date`: what differs, in short (a unified diff, cut to a few dozen lines). */
  hint?: string;
  /** The generated source. */
  output: string;
  /** The schema file, unless `schemaFile` was null. */
  schema?: GeneratedFile;
}

/**
 * Migrates a throwaway database, generates the schema types from it, and writes or verifies
 * the generated file.
 *
 * @example
 * ```ts
 * const result = await runCodegen({ verify: true });
 * if (result.status === 'out-of-date') console.error(result.hint);
 * ```
 */
export async function runCodegen(options: CodegenOptions = {}): Promise<CodegenResult> {
  const log = options.log ?? (() => {});
  const outFile = resolveOutFile(options.outFile ?? settings.outFile);
  const migrationsDir = options.migrationsDir ?? defaultMigrationsDir();

  const schemaPath = options.schemaFile === undefined ? (options.outFile === undefined ? SCHEMA_FILE : null) : options.schemaFile;
  const schemaFile = schemaPath === null ? null : resolveOutFile(schemaPath);

  const server = options.server ?? (await acquireServer({ purpose: 'codegen', env: options.env ?? process.env }));
  let output: string;
  let schemaOutput: string | undefined;
  try {
    log(`codegen: ${server.description}; migrating a throwaway database from ${displayPath(migrationsDir)}`);
    [output, schemaOutput] = await withThrowawayDatabase(server, 'dl_codegen', async (connection) => {
      const applied = await createMigrator({ connection, migrationsDir, logger: silentLogger }).up();
      log(`codegen: applied ${applied.length} migration(s); introspecting`);
      return [await generateSchemaTypes(connection), schemaFile ? await renderSchemaFile(connection) : undefined] as const;
    });
  } finally {
    if (!options.server) await server.stop();
  }

  const types = await writeOrVerify(outFile, output, options.verify ?? false);
  const schema =
    schemaFile && schemaOutput !== undefined ? await writeOrVerify(schemaFile, schemaOutput, options.verify ?? false) : undefined;
  return { outFile, status: types.status, output, ...(types.hint ? { hint: types.hint } : {}), ...(schema ? { schema } : {}) };
}

/** Writes `output` to `file` (unless it already holds it), or with `verify` only compares. */
async function writeOrVerify(file: string, output: string, verify: boolean): Promise<GeneratedFile> {
  const current = await readIfExists(file);
  if (verify) {
    const verdict = compareGenerated(output, current);
    return verdict.upToDate ? { file, status: 'up-to-date', output } : { file, status: 'out-of-date', output, hint: verdict.hint };
  }
  if (current !== undefined && normalise(current) === output) return { file, status: 'unchanged', output };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, output, 'utf8');
  return { file, status: 'written', output };
}

/**
 * Runs kysely-codegen against a migrated database and returns the generated source (nothing is
 * written). Deterministic: the output depends only on the schema and `kysely.config.ts`.
 *
 * @example
 * ```ts
 * const source = await generateSchemaTypes(parseConnectionUrl(process.env.DATABASE_URL!));
 * ```
 */
export async function generateSchemaTypes(connection: ConnectionSettings): Promise<string> {
  const pool = new pg.Pool({
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password: connection.password,
    database: connection.database,
    max: 4,
    application_name: 'data-layer-codegen',
  });
  pool.on('error', () => {}); // an idle client's error must not crash the script; queries still reject
  // No plugins: the introspector's catalog queries must not be camel-cased.
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  // kysely-codegen's declarations resolve kysely's CommonJS typings, ours the ESM ones: the same
  // class to the runtime (method calls only), two nominally different ones to the compiler.
  const introspectionDb = db as unknown as GenerateOptions['db'];
  try {
    const output = await generate({
      db: introspectionDb,
      dialect: new CodegenPostgresDialect({ defaultSchemas: [...settings.defaultSchemas] }),
      outFile: null, // written (or compared) by runCodegen, so verify can report its own way
      camelCase: settings.camelCase,
      runtimeEnums: settings.runtimeEnums,
      typeOnlyImports: settings.typeOnlyImports,
      defaultSchemas: [...settings.defaultSchemas],
      excludePattern: settings.excludePattern,
      typeMapping: settings.typeMapping,
      customImports: settings.customImports,
      overrides: settings.overrides,
    });
    return normalise(output);
  } finally {
    await db.destroy();
  }
}

/**
 * Compares freshly generated source with the committed file (`undefined`: the file is missing).
 * Line endings do not count, so a CRLF checkout verifies.
 *
 * @example
 * ```ts
 * const { upToDate, hint } = compareGenerated(generated, await readFile(outFile, 'utf8'));
 * ```
 */
export function compareGenerated(
  generated: string,
  committed: string | undefined,
  maxLines = 40,
): { upToDate: true } | { upToDate: false; hint: string } {
  if (committed === undefined) return { upToDate: false, hint: 'the file does not exist' };
  const expected = normalise(generated);
  const actual = normalise(committed);
  if (expected === actual) return { upToDate: true };
  // "-" lines are in the committed file only, "+" lines only in what the migrations produce.
  const patch = new DiffChecker().diff(actual, expected) ?? '';
  const lines = patch.split('\n').filter((line) => line !== '\\ No newline at end of file');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return { upToDate: false, hint: 'the files differ only in trailing whitespace' };
  const shown = lines.slice(0, maxLines);
  if (lines.length > maxLines) shown.push(`... (${lines.length - maxLines} more diff lines)`);
  return { upToDate: false, hint: shown.join('\n') };
}

/** The package root: where `migrations/` lives. */
function packageRoot(): string {
  return dirname(defaultMigrationsDir());
}

function resolveOutFile(file: string): string {
  return isAbsolute(file) ? file : resolve(packageRoot(), file);
}

/** A path relative to the current directory when that is shorter, for messages. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function normalise(text: string): string {
  return text.replace(/\r\n/g, '\n');
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
