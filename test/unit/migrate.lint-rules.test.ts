/**
 * Every lint rule, on a file that triggers it and one that does not (the safe way its hint
 * names, or the nearest harmless statement). No database: tables not created in the file are
 * assumed large, so each finding has its rule's full severity.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMigration } from '../../src/migrate/files.js';
import { LINT_RULES, lintMigrations } from '../../src/migrate/lint/index.js';

interface Case {
  /** Statements of the up section that trigger the rule. */
  bad: string;
  /** Statements that do not. */
  good: string;
  /** Both run in a `transaction:false` section. */
  noTransaction?: boolean;
}

const CASES: Record<string, Case> = {
  'require-concurrent-index-creation': {
    bad: 'CREATE INDEX t_a_idx ON t (a);',
    good: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);',
    noTransaction: true,
  },
  'require-concurrent-index-deletion': {
    bad: 'DROP INDEX IF EXISTS t_a_idx;',
    good: 'DROP INDEX CONCURRENTLY IF EXISTS t_a_idx;',
    noTransaction: true,
  },
  'ban-concurrent-index-creation-in-transaction': {
    bad: 'CREATE TABLE n (a int);\nCREATE INDEX CONCURRENTLY n_a_idx ON n (a);',
    good: 'CREATE TABLE n (a int);\nCREATE INDEX n_a_idx ON n (a);',
  },
  'require-concurrent-reindex': { bad: 'REINDEX TABLE t;', good: 'REINDEX (CONCURRENTLY) TABLE t;', noTransaction: true },
  'index-too-many-columns': {
    bad: 'CREATE TABLE n (a int, b int, c int, d int);\nCREATE INDEX n_idx ON n (a, b, c, d);',
    good: 'CREATE TABLE n (a int, b int, c int, d int);\nCREATE INDEX n_idx ON n (a, b, c) INCLUDE (d);',
  },
  'unique-index-on-existing-data': {
    bad: 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a_key ON t (a);',
    good: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);',
    noTransaction: true,
  },
  'constraint-missing-not-valid': {
    bad: 'ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0);',
    good: 'ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID;',
  },
  'adding-foreign-key-constraint': {
    bad: 'ALTER TABLE t ADD CONSTRAINT t_u_fkey FOREIGN KEY (u_id) REFERENCES u (id);\nALTER TABLE t ADD COLUMN v_id uuid REFERENCES v (id);',
    good: 'ALTER TABLE t ADD CONSTRAINT t_u_fkey FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID;',
  },
  'disallowed-unique-constraint': {
    bad: 'ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a);',
    good: 'ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE USING INDEX t_a_idx;',
  },
  'adding-primary-key-constraint': {
    bad: 'ALTER TABLE t ADD PRIMARY KEY (id);',
    good: 'ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_id_idx;',
  },
  'adding-exclusion-constraint': {
    bad: 'ALTER TABLE t ADD CONSTRAINT t_no_overlap EXCLUDE USING gist (during WITH &&);',
    good: 'CREATE TABLE n (during tstzrange, EXCLUDE USING gist (during WITH &&));',
  },
  'setting-not-null': {
    bad: 'ALTER TABLE t ALTER COLUMN a SET NOT NULL;',
    good:
      'ALTER TABLE t ADD CONSTRAINT t_a_not_null CHECK (a IS NOT NULL) NOT VALID;\n' +
      'ALTER TABLE t VALIDATE CONSTRAINT t_a_not_null;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;',
    noTransaction: true,
  },
  'validate-constraint-in-same-transaction': {
    bad: 'ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT t_a_check;',
    good: 'ALTER TABLE t VALIDATE CONSTRAINT t_a_check;',
  },
  'ban-drop-not-null': { bad: 'ALTER TABLE t ALTER COLUMN a DROP NOT NULL;', good: 'ALTER TABLE t ALTER COLUMN a SET DEFAULT 0;' },
  'ban-alter-domain-with-add-constraint': {
    bad: 'ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0);',
    good: 'ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0) NOT VALID;',
  },
  'ban-create-domain-with-constraint': {
    bad: 'CREATE DOMAIN positive AS int CHECK (VALUE > 0);',
    good: 'CREATE DOMAIN positive AS int NOT NULL;',
  },
  'adding-field-with-volatile-default': {
    bad: 'ALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid();',
    good: 'ALTER TABLE t ADD COLUMN created_at timestamptz DEFAULT now();',
  },
  'adding-required-field': {
    bad: 'ALTER TABLE t ADD COLUMN kind text NOT NULL;',
    good: "ALTER TABLE t ADD COLUMN kind text NOT NULL DEFAULT 'plain';",
  },
  'adding-auto-increment-column': {
    bad: 'ALTER TABLE t ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;',
    good: 'ALTER TABLE t ADD COLUMN n bigint;',
  },
  'adding-stored-generated-column': {
    bad: 'ALTER TABLE t ADD COLUMN twice int GENERATED ALWAYS AS (a * 2) STORED;',
    good: 'ALTER TABLE t ADD COLUMN twice int;',
  },
  'changing-column-type': { bad: 'ALTER TABLE t ALTER COLUMN a TYPE bigint;', good: 'ALTER TABLE t ALTER COLUMN a SET STATISTICS 500;' },
  'ban-drop-column': { bad: 'ALTER TABLE t DROP COLUMN a;', good: 'CREATE TABLE n (a int, b int);\nALTER TABLE n DROP COLUMN b;' },
  'renaming-column': { bad: 'ALTER TABLE t RENAME COLUMN a TO b;', good: 'ALTER TABLE t ADD COLUMN b int;' },
  'prefer-jsonb': { bad: 'ALTER TABLE t ADD COLUMN payload json;', good: 'ALTER TABLE t ADD COLUMN payload jsonb;' },
  'prefer-text-field': {
    bad: 'CREATE TABLE n (name varchar(100));',
    good: 'CREATE TABLE n (name text CHECK (char_length(name) <= 100));',
  },
  'ban-char-field': { bad: 'CREATE TABLE n (code char(2));', good: 'CREATE TABLE n (code text);' },
  'prefer-timestamptz': { bad: 'CREATE TABLE n (at timestamp);', good: 'CREATE TABLE n (at timestamptz);' },
  'prefer-bigint-over-int': {
    bad: 'CREATE TABLE n (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY);',
    good: 'CREATE TABLE n (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, count int);',
  },
  'prefer-identity': {
    bad: 'CREATE TABLE n (id bigserial PRIMARY KEY);',
    good: 'CREATE TABLE n (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);',
  },
  'ban-enum-value-rename': {
    bad: "ALTER TYPE idea_status RENAME VALUE 'draft' TO 'new';",
    good: "ALTER TYPE idea_status ADD VALUE IF NOT EXISTS 'new';",
  },
  'enum-value-reorder': {
    bad: "ALTER TYPE evaluation_priority ADD VALUE 'urgent' BEFORE 'low';",
    good: "ALTER TYPE evaluation_priority ADD VALUE 'urgent';",
  },
  'ban-drop-table': { bad: 'DROP TABLE t;', good: 'CREATE TABLE n (a int);\nDROP TABLE n;' },
  'renaming-table': { bad: 'ALTER TABLE t RENAME TO t_old;', good: 'CREATE TABLE n (a int);\nALTER TABLE n RENAME TO n2;' },
  'ban-drop-schema': { bad: 'DROP SCHEMA reporting CASCADE;', good: 'CREATE SCHEMA reporting;' },
  'ban-drop-database': { bad: 'DROP DATABASE scratch;', good: 'CREATE DATABASE scratch;' },
  'ban-truncate-cascade': { bad: 'TRUNCATE t CASCADE;', good: 'CREATE TABLE n (a int);\nTRUNCATE n;' },
  'truncate-table': { bad: 'TRUNCATE t;', good: 'CREATE TABLE n (a int);\nTRUNCATE n;' },
  'ban-vacuum-full': { bad: 'VACUUM FULL t;', good: 'VACUUM (ANALYZE) t;', noTransaction: true },
  'ban-cluster': { bad: 'CLUSTER t USING t_pkey;', good: 'ANALYZE t;' },
  'ban-set-logged': { bad: 'ALTER TABLE t SET UNLOGGED;', good: 'CREATE UNLOGGED TABLE n (a int);' },
  'ban-set-tablespace': { bad: 'ALTER TABLE t SET TABLESPACE fast;', good: 'ALTER TABLE t SET (fillfactor = 90);' },
  'ban-explicit-lock': { bad: 'LOCK TABLE t IN ACCESS EXCLUSIVE MODE;', good: 'SELECT 1;' },
  'refresh-materialized-view-concurrently': {
    bad: 'REFRESH MATERIALIZED VIEW idea_counts;',
    good: 'REFRESH MATERIALIZED VIEW CONCURRENTLY idea_counts;',
    noTransaction: true,
  },
  'backfill-without-batch-bound': {
    bad: "UPDATE t SET kind = 'plain' WHERE kind IS NULL;",
    good: "UPDATE t SET kind = 'plain' WHERE id IN (SELECT id FROM t WHERE kind IS NULL LIMIT 1000);",
  },
  'prefer-robust-stmts': {
    bad: 'CREATE INDEX CONCURRENTLY t_a_idx ON t (a);',
    good: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);',
    noTransaction: true,
  },
  'identifier-too-long': {
    bad: `CREATE TABLE n (a int);\nCREATE INDEX ${'n_'.repeat(32)}idx ON n (a);`,
    good: `CREATE TABLE n (a int);\nCREATE INDEX ${'n_'.repeat(29)}idx ON n (a);`,
  },
};

function file(up: string, noTransaction = false) {
  return parseMigration(
    '20260101000000_case.sql',
    `-- migrate:up${noTransaction ? ' transaction:false' : ''}\n${up}\n-- migrate:down\nSELECT 1;\n`,
  );
}

describe('every lint rule', () => {
  it('is listed in docs/migrations.md with its one-line summary', () => {
    const page = readFileSync(join(import.meta.dirname, '../../docs/migrations.md'), 'utf8');
    for (const rule of LINT_RULES) expect(page, rule.id).toContain(`| \`${rule.id}\` | ${rule.severity} |`);
    for (const rule of LINT_RULES) expect(page, rule.id).toContain(rule.summary.replace(/\|/g, '\\|'));
  });

  it('has a case here, and there are about forty of them', () => {
    expect(Object.keys(CASES).sort()).toEqual(LINT_RULES.map((r) => r.id).sort());
    expect(LINT_RULES.length).toBeGreaterThanOrEqual(40);
  });

  for (const rule of LINT_RULES) {
    const c = CASES[rule.id];
    describe(rule.id, () => {
      it('is found in the file that triggers it, with its full severity and a hint', async () => {
        const report = await lintMigrations([file(c!.bad, c!.noTransaction)]);
        const found = report.findings.filter((f) => f.rule === rule.id);
        expect(found.length, JSON.stringify(report.findings, null, 1)).toBeGreaterThan(0);
        expect(found.every((f) => f.severity === rule.severity && f.hint.length > 0 && f.line >= 2)).toBe(true);
      });
      it('is not found in the file written the safe way', async () => {
        const report = await lintMigrations([file(c!.good, c!.noTransaction)]);
        expect(report.findings.filter((f) => f.rule === rule.id && f.severity !== 'note')).toEqual([]);
      });
    });
  }
});
