/** The catalog snapshot must see every kind of schema difference the round-trip test relies on. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogSnapshot, type CatalogSnapshot } from '../support/catalog.js';
import { createScratchDatabase, type ScratchDatabase } from './support.js';

const BASE = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE DOMAIN short_text AS text CHECK (char_length(VALUE) < 10);
  CREATE TYPE pair AS (a int, b text);
  CREATE TABLE parent (id int PRIMARY KEY);
  CREATE TABLE t (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id int REFERENCES parent (id) ON DELETE CASCADE,
    label short_text NOT NULL DEFAULT 'x',
    m mood,
    doubled int GENERATED ALWAYS AS (id * 2) STORED,
    CONSTRAINT t_label_check CHECK (label <> '')
  );
  CREATE INDEX t_label_idx ON t (label) WHERE m IS NOT NULL;
  CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
  CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
  CREATE VIEW v AS SELECT id, label FROM t;
  CREATE SEQUENCE counter;
  COMMENT ON TABLE t IS 'a table';
  COMMENT ON COLUMN t.label IS 'a column';
  ALTER TABLE t ENABLE ROW LEVEL SECURITY;
  CREATE POLICY t_all ON t USING (true);
`;

// Each change must show up in the named part of the snapshot, and only there.
const CHANGES: [string, keyof CatalogSnapshot][] = [
  ["ALTER TYPE mood ADD VALUE 'ecstatic'", 'types'],
  ["ALTER TABLE t ALTER COLUMN label SET DEFAULT 'y'", 'columns'],
  ['ALTER TABLE t ALTER COLUMN m SET NOT NULL', 'columns'],
  ['ALTER TABLE t ADD COLUMN extra int', 'columns'],
  ['ALTER TABLE t DROP CONSTRAINT t_label_check', 'constraints'],
  [
    'ALTER TABLE t DROP CONSTRAINT t_parent_id_fkey, ADD CONSTRAINT t_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE RESTRICT',
    'constraints',
  ],
  ['DROP INDEX t_label_idx; CREATE INDEX t_label_idx ON t (label)', 'indexes'],
  ['CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$', 'functions'],
  ['ALTER TABLE t DISABLE TRIGGER t_touch', 'triggers'],
  ["COMMENT ON COLUMN t.label IS 'another comment'", 'comments'],
  ['COMMENT ON TABLE t IS NULL', 'comments'],
  ['CREATE OR REPLACE VIEW v AS SELECT id, label FROM t WHERE id > 0', 'views'],
  ['ALTER TABLE t DISABLE ROW LEVEL SECURITY', 'relations'],
  ['DROP POLICY t_all ON t', 'policies'],
  ['CREATE SCHEMA extra', 'schemas'],
];

let db: ScratchDatabase;
let base: CatalogSnapshot;
beforeAll(async () => {
  db = await createScratchDatabase();
  await db.query(BASE);
  base = await catalogSnapshot(db.connection);
});
afterAll(async () => {
  await db.drop();
});

describe('catalogSnapshot', () => {
  it('captures every object kind, without OIDs', () => {
    expect(base.types).toEqual(["public.mood: enum 'sad', 'ok', 'happy'", 'public.pair: composite', 'public.short_text: domain over text']);
    expect(base.relations).toEqual([
      'public.counter sequence',
      'public.parent table',
      'public.t table rls',
      'public.t_id_seq sequence owned by public.t.id',
      'public.v view',
    ]);
    expect(base.columns).toContain("public.t.003 label: public.short_text not null default 'x'::text");
    expect(base.columns).toContain('public.t.001 id: integer not null identity a');
    expect(base.columns).toContain('public.t.005 doubled: integer generated (id * 2)');
    expect(base.columns).toContain('public.pair.002 b: text');
    expect(base.constraints).toContain(
      'public.t.t_parent_id_fkey (f): FOREIGN KEY (parent_id) REFERENCES public.parent(id) ON DELETE CASCADE',
    );
    expect(base.constraints).toContainEqual(expect.stringMatching(/^public\.short_text\.short_text_check \(c\): CHECK \(\(char_length\(/));
    expect(base.indexes).toContain('CREATE INDEX t_label_idx ON public.t USING btree (label) WHERE (m IS NOT NULL)');
    expect(base.triggers).toEqual([
      'CREATE TRIGGER t_touch BEFORE UPDATE ON public.t FOR EACH ROW EXECUTE FUNCTION public.touch() -- enabled O',
    ]);
    expect(base.functions).toHaveLength(1);
    expect(base.comments).toEqual(['pg_class public.t.label: a column', 'pg_class public.t: a table']);
    expect(base.policies).toHaveLength(1);
    expect(base.extensions).toEqual([expect.stringMatching(/^plpgsql /)]);
    expect(JSON.stringify(base)).not.toMatch(/\b\d{5,}\b/); // no OIDs
  });

  it('is identical after dropping and recreating the same objects', async () => {
    await db.query(
      'DROP VIEW v; DROP TABLE t; DROP TABLE parent; DROP FUNCTION touch(); DROP TYPE mood; DROP TYPE pair; DROP DOMAIN short_text; DROP SEQUENCE counter;',
    );
    await db.query(BASE);
    expect(await catalogSnapshot(db.connection)).toEqual(base);
  });

  it.each(CHANGES)('sees %s in %s', async (change, part) => {
    await db.query(change);
    const after = await catalogSnapshot(db.connection);
    expect(after[part]).not.toEqual(base[part]);
    // Undo by rebuilding from scratch, so each case starts from the same base.
    await db.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS extra; CREATE SCHEMA public;');
    await db.query(BASE);
    expect(await catalogSnapshot(db.connection)).toEqual(base);
  });
});
