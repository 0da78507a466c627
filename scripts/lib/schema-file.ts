/**
 * `db/schema.sql`: the schema of a freshly migrated database, written from catalog queries in a
 * stable order (no pg_dump, so no client tool to match to the server's version), so a reviewer sees
 * every schema change as a diff of one file. The catalog queries are src/migrate/catalog.ts's, which
 * `migrate baseline` compares with. A review copy, not a script to run: the migrations
 * stay the only way the schema changes. Regenerated and verified by `npm run codegen`.
 */
import pg from 'pg';
import { connectionOptions, type ConnectionSettings } from '../../src/connection.js';
import { readCatalog, SCHEMA_FILE_SECTIONS } from '../../src/migrate/catalog.js';

/** Where the schema file lives, relative to the package root. */
export const SCHEMA_FILE = 'db/schema.sql';

/**
 * Renders the schema of the database at `connection` (freshly migrated, in practice) as the text
 * of `db/schema.sql`. Deterministic: the same schema gives the same bytes, whatever OIDs, owner or
 * creation order.
 *
 * @example
 * ```ts
 * const text = await renderSchemaFile(connection);
 * ```
 */
export async function renderSchemaFile(connection: ConnectionSettings): Promise<string> {
  const client = new pg.Client({ ...connectionOptions(connection), application_name: 'data-layer-schema-file' });
  await client.connect();
  try {
    const catalog = await readCatalog(client);
    const parts = [
      '-- The schema the migrations build: written by `npm run codegen` from the catalog of a freshly',
      '-- migrated database, checked by `npm run codegen -- --verify`. Review it; do not run it or edit it.',
    ];
    for (const title of SCHEMA_FILE_SECTIONS) {
      const rows = catalog.filter((o) => o.section === title);
      if (rows.length === 0) continue;
      parts.push(
        '',
        `-- ${title}`,
        '',
        rows
          .map((r) => r.definition)
          .join(title === 'tables' || title === 'functions' || title === 'views' || title === 'policies' ? '\n\n' : '\n'),
      );
    }
    return `${parts.join('\n')}\n`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
