/**
 * A catalog snapshot: every user-visible schema object of a database, rendered as text and sorted,
 * with no OIDs or other identity that changes when an object is dropped and recreated. Two
 * snapshots are equal when the schemas are the same, so tests can compare "up" with "up, down to
 * 0, up" and check that "down to 0" leaves nothing behind.
 */
import pg from 'pg';
import type { ConnectionSettings } from '../../src/connection.js';

export interface CatalogSnapshot {
  schemas: string[];
  extensions: string[];
  /** `schema.name kind` (kind: table, partitioned table, view, materialized view, sequence, foreign table), with persistence, RLS and options. */
  relations: string[];
  /** `schema.table.column: type [collate] [not null] [default ...] [identity] [generated]`, in column order. */
  columns: string[];
  /** `schema.table.name (type): definition` from pg_get_constraintdef; domain constraints too. */
  constraints: string[];
  /** pg_get_indexdef for every index, including those backing constraints. */
  indexes: string[];
  /** pg_get_triggerdef for every non-internal trigger, with its enabled state. */
  triggers: string[];
  /** pg_get_functiondef for every function and procedure. */
  functions: string[];
  /** `schema.name: label, label, ...` for enums; other user types by kind. */
  types: string[];
  /** `schema.name` of views with their definition. */
  views: string[];
  /** Row-level security policies. */
  policies: string[];
  /** `kind object: comment` for every comment on the objects above. */
  comments: string[];
}

const SYSTEM = `('pg_catalog', 'information_schema', 'pg_toast')`;
// Objects created by an extension belong to it; its entry in `extensions` stands for them.
const notFromExtension = (classTable: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classTable}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

const QUERIES: Record<keyof CatalogSnapshot, string> = {
  schemas: `
    SELECT n.nspname AS v FROM pg_namespace n
     WHERE n.nspname NOT IN ${SYSTEM} AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
       AND ${notFromExtension('pg_namespace', 'n.oid')}`,
  extensions: `SELECT e.extname || ' ' || e.extversion || ' in ' || n.nspname AS v FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`,
  relations: `
    SELECT n.nspname || '.' || c.relname || ' ' ||
           CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                          WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' END ||
           CASE c.relpersistence WHEN 'u' THEN ' unlogged' ELSE '' END ||
           CASE WHEN c.relrowsecurity THEN ' rls' ELSE '' END ||
           CASE WHEN c.relforcerowsecurity THEN ' force-rls' ELSE '' END ||
           COALESCE(' with ' || array_to_string(c.reloptions, ','), '') ||
           COALESCE(' owned by ' || (SELECT dn.nspname || '.' || dc.relname || '.' || a.attname
                                       FROM pg_depend d JOIN pg_class dc ON dc.oid = d.refobjid
                                       JOIN pg_namespace dn ON dn.oid = dc.relnamespace
                                       JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                      WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1), '') AS v
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ${SYSTEM} AND n.nspname NOT LIKE 'pg\\_temp\\_%'
       AND ${notFromExtension('pg_class', 'c.oid')}`,
  columns: `
    SELECT n.nspname || '.' || c.relname || '.' || lpad(row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)::text, 3, '0') || ' ' ||
           a.attname || ': ' || format_type(a.atttypid, a.atttypmod) ||
           CASE WHEN a.attcollation <> t.typcollation THEN ' collate ' || quote_ident(co.collname) ELSE '' END ||
           CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
           CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END ||
           CASE WHEN a.attgenerated <> '' THEN ' generated ' || pg_get_expr(ad.adbin, ad.adrelid)
                WHEN ad.adbin IS NOT NULL THEN ' default ' || pg_get_expr(ad.adbin, ad.adrelid) ELSE '' END AS v
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
       AND n.nspname NOT IN ${SYSTEM} AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND ${notFromExtension('pg_class', 'c.oid')}`,
  constraints: `
    SELECT n.nspname || '.' || COALESCE(c.relname, ty.typname) || '.' || con.conname || ' (' || con.contype::text || '): ' ||
           pg_get_constraintdef(con.oid) ||
           CASE WHEN con.condeferrable THEN ' deferrable' ELSE '' END ||
           CASE WHEN con.condeferred THEN ' initially deferred' ELSE '' END ||
           CASE WHEN NOT con.convalidated THEN ' not valid' ELSE '' END AS v
      FROM pg_constraint con
      JOIN pg_namespace n ON n.oid = con.connamespace
      LEFT JOIN pg_class c ON c.oid = con.conrelid
      LEFT JOIN pg_type ty ON ty.oid = con.contypid
     WHERE n.nspname NOT IN ${SYSTEM} AND ${notFromExtension('pg_constraint', 'con.oid')}
       AND (c.oid IS NULL OR ${notFromExtension('pg_class', 'c.oid')})`,
  indexes: `
    SELECT pg_get_indexdef(i.indexrelid) || CASE WHEN NOT i.indisvalid THEN ' -- INVALID' ELSE '' END AS v
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ${SYSTEM} AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND ${notFromExtension('pg_class', 'i.indrelid')}`,
  triggers: `
    SELECT pg_get_triggerdef(tg.oid) || ' -- enabled ' || tg.tgenabled::text AS v
      FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT tg.tgisinternal AND n.nspname NOT IN ${SYSTEM}`,
  functions: `
    SELECT pg_get_functiondef(p.oid) AS v
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prokind IN ('f', 'p') AND n.nspname NOT IN ${SYSTEM} AND ${notFromExtension('pg_proc', 'p.oid')}`,
  types: `
    SELECT n.nspname || '.' || t.typname || ': ' ||
           CASE t.typtype
             WHEN 'e' THEN 'enum ' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
             WHEN 'd' THEN 'domain over ' || format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END ||
                           COALESCE(' default ' || t.typdefault, '')
             WHEN 'c' THEN 'composite'
             WHEN 'r' THEN 'range of ' || (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
             WHEN 'b' THEN 'base'
             ELSE 'type ' || t.typtype::text
           END AS v
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname NOT IN ${SYSTEM} AND n.nspname NOT LIKE 'pg\\_temp\\_%'
       AND t.typtype IN ('e', 'd', 'c', 'r', 'b')
       -- Row types of tables and views, and array types, come with their relation or element type.
       AND NOT (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) <> 'c')
       AND NOT (t.typtype = 'b' AND t.typcategory = 'A')
       AND ${notFromExtension('pg_type', 't.oid')}`,
  views: `
    SELECT n.nspname || '.' || c.relname || ': ' || pg_get_viewdef(c.oid, true) AS v
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ${SYSTEM} AND ${notFromExtension('pg_class', 'c.oid')}`,
  policies: `
    SELECT schemaname || '.' || tablename || '.' || policyname || ': ' || permissive || ' ' || cmd || ' to ' ||
           array_to_string(roles, ',') || COALESCE(' using ' || qual, '') || COALESCE(' check ' || with_check, '') AS v
      FROM pg_policies`,
  comments: `
    SELECT d.classoid::regclass::text || ' ' ||
           CASE
             WHEN d.classoid = 'pg_class'::regclass AND d.objsubid = 0 THEN (SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = d.objoid)
             WHEN d.classoid = 'pg_class'::regclass THEN (SELECT n.nspname || '.' || c.relname || '.' || a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid WHERE c.oid = d.objoid)
             WHEN d.classoid = 'pg_type'::regclass THEN format_type(d.objoid, NULL)
             WHEN d.classoid = 'pg_proc'::regclass THEN d.objoid::regprocedure::text
             WHEN d.classoid = 'pg_constraint'::regclass THEN (SELECT COALESCE(con.conrelid::regclass::text, format_type(con.contypid, NULL)) || '.' || con.conname FROM pg_constraint con WHERE con.oid = d.objoid)
             WHEN d.classoid = 'pg_trigger'::regclass THEN (SELECT tg.tgrelid::regclass::text || '.' || tg.tgname FROM pg_trigger tg WHERE tg.oid = d.objoid)
             WHEN d.classoid = 'pg_namespace'::regclass THEN (SELECT nspname FROM pg_namespace WHERE oid = d.objoid)
             WHEN d.classoid = 'pg_extension'::regclass THEN (SELECT extname FROM pg_extension WHERE oid = d.objoid)
             ELSE 'object ' || d.objsubid
           END || ': ' || d.description AS v
      FROM pg_description d
     WHERE d.classoid IN ('pg_class'::regclass, 'pg_type'::regclass, 'pg_proc'::regclass, 'pg_constraint'::regclass,
                          'pg_trigger'::regclass, 'pg_namespace'::regclass, 'pg_extension'::regclass)
       AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = d.classoid AND dep.objid = d.objoid AND dep.deptype IN ('e', 'p'))
       AND NOT (d.classoid = 'pg_namespace'::regclass AND d.objoid IN (SELECT oid FROM pg_namespace WHERE nspname IN ${SYSTEM} OR nspname = 'public'))
       AND NOT (d.classoid = 'pg_extension'::regclass AND d.objoid IN (SELECT oid FROM pg_extension WHERE extname = 'plpgsql'))
       AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE d.classoid = 'pg_class'::regclass AND c.oid = d.objoid AND n.nspname IN ${SYSTEM})
       AND NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE d.classoid = 'pg_type'::regclass AND t.oid = d.objoid AND n.nspname IN ${SYSTEM})
       AND NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE d.classoid = 'pg_proc'::regclass AND p.oid = d.objoid AND n.nspname IN ${SYSTEM})
       AND NOT EXISTS (SELECT 1 FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace WHERE d.classoid = 'pg_constraint'::regclass AND con.oid = d.objoid AND n.nspname IN ${SYSTEM})`,
};

/**
 * Snapshots the schema objects of the database `connection` points at.
 *
 * @example
 * ```ts
 * const before = await catalogSnapshot(db.connection);
 * await migrator.down({ to: 0 }); await migrator.up();
 * expect(await catalogSnapshot(db.connection)).toEqual(before);
 * ```
 */
export async function catalogSnapshot(connection: ConnectionSettings): Promise<CatalogSnapshot> {
  const client = new pg.Client({
    host: connection.host,
    port: connection.port,
    user: connection.user,
    database: connection.database,
    password: connection.password,
    application_name: 'dl-catalog-snapshot',
  });
  await client.connect();
  try {
    // Stable rendering: qualified names and default-looking output regardless of the session.
    await client.query(`SET search_path = pg_catalog; SET TIME ZONE 'UTC'`);
    const snapshot = {} as CatalogSnapshot;
    for (const [key, query] of Object.entries(QUERIES) as [keyof CatalogSnapshot, string][]) {
      const { rows } = await client.query<{ v: string | null }>(query);
      snapshot[key] = rows.map((r) => r.v ?? '<null>').sort(compare);
    }
    return snapshot;
  } finally {
    await client.end();
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
