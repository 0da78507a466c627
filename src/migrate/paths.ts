/** Where the package's migration files live. Kept free of heavy imports: the CLI loads it first. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from '../errors.js';

/**
 * The package's `migrations/` folder: found by walking up from this module to the directory that
 * holds our package.json, so it works from `src/` (tsx), from `dist/` and when installed.
 *
 * @example
 * ```ts
 * createMigrator({ connection, migrationsDir: defaultMigrationsDir() });
 * ```
 */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'migrations');
    const parent = dirname(dir);
    if (parent === dir) throw new MigrationError('cannot find the package root (no package.json above the migration runner)');
    dir = parent;
  }
}
