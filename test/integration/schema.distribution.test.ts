/**
 * The precondition of the Citus plan (docs/citus.md) that can be checked without Citus: every
 * primary key, unique key and foreign key that touches the tables to be distributed by user either
 * already includes the distribution column, or can be widened to include it without changing what
 * it enforces, or is one of the listed exceptions that the plan resolves another way. Read from the
 * migrated schema's catalog (pg_index, pg_constraint, pg_attribute), so a key added by a later
 * migration is judged too: one the checker cannot place fails here, by name, until the plan (and
 * the list below) address it, and an exception that no longer exists fails too.
 *
 * The checker itself is tested first, on scratch tables of known shape in this file's database.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/database.js';

/** The plan: each distributed table and its distribution column (users by its own id). */
const PLAN: Record<string, string> = {
  users: 'id',
  business_ideas: 'user_id',
  evaluations: 'user_id',
  agent_results: 'user_id',
};

/**
 * The keys that cannot take the distribution column: each is resolved another way in
 * docs/citus.md, under the anchor given.
 */
const EXCEPTIONS: Record<string, string> = {
  users_email_key: '#users_email_key-email-unique-across-users',
};

type Kind = 'primary key' | 'unique' | 'exclusion' | 'foreign key';
/** includes: already has the column; widen: gains it, same rule; cannot: neither. */
type Verdict = 'includes' | 'widen' | 'cannot';

interface Key {
  name: string;
  table: string;
  kind: Exclude<Kind, 'foreign key'>;
  /** Key columns in order; null for an expression. */
  columns: (string | null)[];
}

interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  referenced: string;
  referencedColumns: string[];
}

interface Catalog {
  /** table -> column -> NOT NULL */
  columns: Map<string, Map<string, boolean>>;
  keys: Key[];
  foreignKeys: ForeignKey[];
}

interface Finding {
  name: string;
  table: string;
  kind: Kind;
  verdict: Verdict;
  why: string;
}

/** The unique keys (constraints and bare unique indexes), exclusion constraints and foreign keys of `schema`. */
async function readCatalog(client: pg.ClientBase, schema: string): Promise<Catalog> {
  const columns = await client.query<{ table: string; column: string; not_null: boolean }>(
    `SELECT c.relname AS table, a.attname AS column, a.attnotnull AS not_null
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema],
  );
  // Key columns only (not INCLUDE columns); attnum 0 is an expression. A unique or exclusion
  // constraint is named by the constraint, a bare unique index by the index.
  const keys = await client.query<{ name: string; table: string; kind: Key['kind']; columns: (string | null)[] }>(
    `SELECT COALESCE(con.conname, i.relname) AS name, t.relname AS table,
            CASE WHEN x.indisprimary THEN 'primary key' WHEN con.contype = 'x' THEN 'exclusion' ELSE 'unique' END AS kind,
            ARRAY(SELECT a.attname::text
                    FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum AND k.attnum > 0
                   WHERE k.ord <= x.indnkeyatts ORDER BY k.ord) AS columns
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid AND con.contype IN ('p', 'u', 'x')
      WHERE n.nspname = $1 AND (x.indisunique OR con.contype = 'x')`,
    [schema],
  );
  // Both ends named by table name when in `schema`, schema-qualified otherwise.
  const foreignKeys = await client.query<ForeignKey>(
    `SELECT con.conname AS name,
            CASE WHEN sn.nspname = $1 THEN s.relname ELSE sn.nspname || '.' || s.relname END AS table,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            CASE WHEN dn.nspname = $1 THEN d.relname ELSE dn.nspname || '.' || d.relname END AS referenced,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS "referencedColumns"
       FROM pg_constraint con
       JOIN pg_class s ON s.oid = con.conrelid JOIN pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_class d ON d.oid = con.confrelid JOIN pg_namespace dn ON dn.oid = d.relnamespace
      WHERE con.contype = 'f' AND (sn.nspname = $1 OR dn.nspname = $1)`,
    [schema],
  );
  const byTable = new Map<string, Map<string, boolean>>();
  for (const row of columns.rows) {
    const table = byTable.get(row.table) ?? new Map<string, boolean>();
    table.set(row.column, row.not_null);
    byTable.set(row.table, table);
  }
  return { columns: byTable, keys: keys.rows, foreignKeys: foreignKeys.rows };
}

/**
 * Judges every key that touches a planned table. A table's owner is derivable when it has the
 * distribution column, or a NOT NULL foreign key to a planned table whose owner is derivable (the
 * column can then be added and filled from the parent). A unique key keeps its meaning when
 * widened if it is the primary key (the row's identity: Citus's compound key), or if it contains
 * the columns of a foreign key to a planned table (all rows it compares share one parent, hence
 * one owner). Any other unique key is a rule across users, which no shard can enforce.
 */
function judge(catalog: Catalog, plan: Record<string, string>): Finding[] {
  const planned = (table: string) => Object.hasOwn(plan, table);
  const has = (table: string, column: string) => catalog.columns.get(table)?.has(column) ?? false;
  const distribution = (table: string) => plan[table] ?? '';

  const owned = new Set(Object.keys(plan).filter((table) => has(table, distribution(table))));
  for (let grew = true; grew;) {
    grew = false;
    for (const fk of catalog.foreignKeys) {
      if (!planned(fk.table) || owned.has(fk.table) || !planned(fk.referenced) || !owned.has(fk.referenced)) continue;
      if (fk.columns.every((column) => catalog.columns.get(fk.table)?.get(column) === true)) {
        owned.add(fk.table);
        grew = true;
      }
    }
  }

  const findings: Finding[] = [];
  for (const key of catalog.keys) {
    if (!planned(key.table)) continue;
    const column = distribution(key.table);
    const base = { name: key.name, table: key.table, kind: key.kind };
    const parents = catalog.foreignKeys.filter(
      (fk) => fk.table === key.table && planned(fk.referenced) && fk.columns.every((c) => key.columns.includes(c)),
    );
    if (key.columns.includes(column)) findings.push({ ...base, verdict: 'includes', why: `has ${column}` });
    else if (!owned.has(key.table))
      findings.push({ ...base, verdict: 'cannot', why: `${key.table} has no ${column} and no NOT NULL path to one` });
    else if (key.kind === 'primary key') findings.push({ ...base, verdict: 'widen', why: `the row's identity: (${column}, ...)` });
    else if (parents.length > 0) findings.push({ ...base, verdict: 'widen', why: `one owner per ${parents[0]?.name} parent` });
    else findings.push({ ...base, verdict: 'cannot', why: `unique across users` });
  }
  for (const fk of catalog.foreignKeys) {
    if (!planned(fk.table) && !planned(fk.referenced)) continue;
    const base = { name: fk.name, table: fk.table, kind: 'foreign key' as const };
    if (!planned(fk.table)) findings.push({ ...base, verdict: 'cannot', why: `from ${fk.table}, outside the plan, into ${fk.referenced}` });
    else if (!planned(fk.referenced)) findings.push({ ...base, verdict: 'cannot', why: `to ${fk.referenced}, outside the plan` });
    else {
      // Citus: both sides carry the distribution column, in the same position.
      const at = fk.columns.indexOf(distribution(fk.table));
      if (at >= 0 && fk.referencedColumns[at] === distribution(fk.referenced))
        findings.push({ ...base, verdict: 'includes', why: `on ${distribution(fk.table)}` });
      else if (owned.has(fk.table))
        findings.push({
          ...base,
          verdict: 'widen',
          why: `(${distribution(fk.table)}, ...) -> ${fk.referenced} (${distribution(fk.referenced)}, ...)`,
        });
      else findings.push({ ...base, verdict: 'cannot', why: `${fk.table} has no ${distribution(fk.table)} and no NOT NULL path to one` });
    }
  }
  return findings.sort((a, b) => a.name.localeCompare(b.name));
}

/** The keys that cannot take the column but are not listed, and listed exceptions that no longer are such keys. */
function compare(findings: Finding[], exceptions: Record<string, string>): { unlisted: string[]; stale: string[] } {
  const cannot = findings.filter((f) => f.verdict === 'cannot');
  return {
    unlisted: cannot.filter((f) => !Object.hasOwn(exceptions, f.name)).map((f) => `${f.name} (${f.kind} on ${f.table}: ${f.why})`),
    stale: Object.keys(exceptions).filter((name) => !cannot.some((f) => f.name === name)),
  };
}

const verdicts = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.name, f.verdict]));

const t = useTestDatabase();
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: t.testDatabase.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
});

describe('the checker', () => {
  const SCRATCH = 'dl_distribution_scratch';
  const SCRATCH_PLAN = { accounts: 'id', projects: 'account_id', tasks: 'account_id', notes: 'account_id', project_tags: 'account_id' };

  beforeAll(async () => {
    await client.query(`
      CREATE SCHEMA ${SCRATCH};
      SET search_path TO ${SCRATCH};
      CREATE TABLE accounts (id uuid PRIMARY KEY, handle text NOT NULL UNIQUE);
      CREATE TABLE projects (
        id uuid PRIMARY KEY, account_id uuid NOT NULL REFERENCES accounts (id), name text NOT NULL, code text NOT NULL,
        UNIQUE (account_id, name), UNIQUE (code));
      CREATE UNIQUE INDEX projects_lower_name_idx ON projects (lower(name));
      CREATE UNIQUE INDEX projects_account_id_lower_name_idx ON projects (account_id, lower(name));
      CREATE TABLE tasks (id uuid PRIMARY KEY, project_id uuid NOT NULL REFERENCES projects (id), position int NOT NULL, UNIQUE (project_id, position));
      CREATE TABLE notes (id uuid PRIMARY KEY, task_id uuid REFERENCES tasks (id), body text);
      CREATE TABLE tags (id int PRIMARY KEY, label text UNIQUE);
      CREATE TABLE project_tags (
        project_id uuid NOT NULL REFERENCES projects (id), tag_id int NOT NULL REFERENCES tags (id), PRIMARY KEY (project_id, tag_id));
      CREATE TABLE outside (id int PRIMARY KEY, project_id uuid REFERENCES projects (id));
      RESET search_path;
    `);
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${SCRATCH} CASCADE`);
  });

  it('places every key of tables of known shape', async () => {
    const findings = judge(await readCatalog(client, SCRATCH), SCRATCH_PLAN);
    expect(verdicts(findings)).toEqual({
      accounts_pkey: 'includes',
      accounts_handle_key: 'cannot', // unique across accounts
      projects_pkey: 'widen',
      projects_account_id_fkey: 'includes',
      projects_account_id_name_key: 'includes',
      projects_account_id_lower_name_idx: 'includes',
      projects_code_key: 'cannot', // unique across accounts
      projects_lower_name_idx: 'cannot', // an expression, unique across accounts
      tasks_pkey: 'widen',
      tasks_project_id_fkey: 'widen',
      tasks_project_id_position_key: 'widen', // one project, one account
      notes_pkey: 'cannot', // task_id is nullable: no owner to fill in
      notes_task_id_fkey: 'cannot',
      project_tags_pkey: 'widen',
      project_tags_project_id_fkey: 'widen',
      project_tags_tag_id_fkey: 'cannot', // to a table outside the plan
      outside_project_id_fkey: 'cannot', // from a table outside the plan
    });
  });

  it('names a key neither included nor listed, and a listed exception that is gone', async () => {
    const findings = judge(await readCatalog(client, SCRATCH), SCRATCH_PLAN);
    const listed = {
      accounts_handle_key: '',
      projects_code_key: '',
      projects_lower_name_idx: '',
      notes_pkey: '',
      notes_task_id_fkey: '',
      project_tags_tag_id_fkey: '',
      outside_project_id_fkey: '',
      projects_gone_key: '',
    };
    expect(compare(findings, listed)).toEqual({ unlisted: [], stale: ['projects_gone_key'] });
    const { projects_code_key: _, ...withoutOne } = listed;
    expect(compare(findings, withoutOne).unlisted).toEqual(['projects_code_key (unique on projects: unique across users)']);
  });
});

describe('the migrated schema', () => {
  it('has every key of the distributed tables included, widenable, or listed as an exception', async () => {
    const findings = judge(await readCatalog(client, 'public'), PLAN);
    const { unlisted, stale } = compare(findings, EXCEPTIONS);
    expect(unlisted, 'keys that cannot include the distribution column: resolve them in docs/citus.md and list them in EXCEPTIONS').toEqual(
      [],
    );
    expect(stale, 'EXCEPTIONS lists keys that are no longer such keys: remove them (and update docs/citus.md)').toEqual([]);
    // The plan as docs/citus.md states it, so a change to the schema shows here as a diff.
    expect(verdicts(findings)).toEqual({
      agent_results_evaluation_id_agent_type_key: 'widen',
      agent_results_evaluation_id_fkey: 'widen',
      agent_results_pkey: 'widen',
      business_ideas_pkey: 'widen',
      business_ideas_user_id_fkey: 'includes',
      business_ideas_user_id_idempotency_key_key: 'includes',
      evaluations_business_idea_id_fkey: 'widen',
      evaluations_business_idea_id_idempotency_key_key: 'widen',
      evaluations_pkey: 'widen',
      users_email_key: 'cannot',
      users_pkey: 'includes',
    });
  });

  it('is addressed key by key in docs/citus.md', async () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../docs/citus.md'), 'utf8');
    const changed = judge(await readCatalog(client, 'public'), PLAN).filter((f) => f.verdict !== 'includes');
    expect(
      changed.filter((f) => !doc.includes(`\`${f.name}\``)).map((f) => f.name),
      'keys docs/citus.md does not name',
    ).toEqual([]);
    // GitHub's heading anchors: lower case, punctuation but - and _ dropped, spaces as -.
    const anchors = [...doc.matchAll(/^#+ (.+)$/gm)].map(
      (m) =>
        `#${(m[1] ?? '')
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, '')
          .replace(/ /g, '-')}`,
    );
    for (const [name, anchor] of Object.entries(EXCEPTIONS)) {
      expect(anchors, `docs/citus.md has no heading ${anchor} (how the plan resolves ${name})`).toContain(anchor);
    }
  });

  it('flags a new key on a real table that takes no user, and an exception dropped from the schema', async () => {
    await client.query('BEGIN');
    try {
      await client.query('CREATE UNIQUE INDEX dl_probe_title_key ON business_ideas (title)');
      await client.query('DROP INDEX users_email_key');
      const { unlisted, stale } = compare(judge(await readCatalog(client, 'public'), PLAN), EXCEPTIONS);
      expect(unlisted).toEqual(['dl_probe_title_key (unique on business_ideas: unique across users)']);
      expect(stale).toEqual(['users_email_key']);
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
