-- migrate:up

-- The audit trail records what an update changed instead of two full images of the row
-- (issue 11, item 5). audit_row_change() keeps its name, triggers and guarantees (written by the
-- AFTER triggers of 20261125090200 in the changing transaction, with actor, table, row, time and
-- txid; SECURITY DEFINER as 20261125110000 made it; no-op updates still skipped by the triggers'
-- WHEN (OLD.* IS DISTINCT FROM NEW.*); never password_hash), and now writes:
--   insert  new_row: the whole new row, as before;
--   delete  old_row: the whole old row, as before;
--   update  old_row and new_row: only the columns whose value changed, with their old and new
--           values ({} and {} when only password_hash changed, so that change is still recorded).
-- An evaluation's agent-run completion used to store its 2 KB output twice per row image pair and
-- the unchanged input, ids and timestamps four times; now it stores what the update wrote. Entries
-- written before this migration keep their full images; on both shapes the changed columns are
-- exactly the keys whose values differ, so readers that compare keys read both alike.
-- CREATE OR REPLACE keeps the function's owner and its REVOKE EXECUTE FROM PUBLIC; SECURITY
-- DEFINER and the pinned search_path are spelled out because a replacement resets them.

CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- Outside a transaction that set it, the setting is NULL (never set in this session) or ''
  -- (set by an earlier transaction on this pooled connection, then reverted).
  actor_id text := NULLIF(current_setting('app.actor_id', true), '');
  before   jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO public.audit_log (table_name, row_id, operation, actor, new_row)
    VALUES (TG_TABLE_NAME, NEW.id, 'insert'::public.audit_operation, actor_id, to_jsonb(NEW) - 'password_hash');
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO public.audit_log (table_name, row_id, operation, actor, old_row)
    VALUES (TG_TABLE_NAME, OLD.id, 'delete'::public.audit_operation, actor_id, to_jsonb(OLD) - 'password_hash');
  ELSE
    -- One pass over the new image: a column changed when its value differs from the old image's.
    before := to_jsonb(OLD);
    INSERT INTO public.audit_log (table_name, row_id, operation, actor, old_row, new_row)
    SELECT TG_TABLE_NAME, NEW.id, 'update'::public.audit_operation, actor_id,
           COALESCE(jsonb_object_agg(after.key, before -> after.key), '{}'::jsonb),
           COALESCE(jsonb_object_agg(after.key, after.value), '{}'::jsonb)
      FROM jsonb_each(to_jsonb(NEW)) AS after
     WHERE after.key <> 'password_hash' AND after.value IS DISTINCT FROM before -> after.key;
  END IF;
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION audit_row_change() IS 'AFTER row trigger: appends the change to audit_log (inserts and deletes as the whole row, updates as the changed columns'' old and new values; never password_hash).';
COMMENT ON COLUMN audit_log.old_row IS 'Deletes: the row before the change; updates: the changed columns'' old values (entries before migration 20261202090000: the whole row). snake_case keys, never password_hash; NULL for inserts.';
COMMENT ON COLUMN audit_log.new_row IS 'Inserts: the row after the change; updates: the changed columns'' new values (entries before migration 20261202090000: the whole row). snake_case keys, never password_hash; NULL for deletes.';

-- migrate:down

-- The function of 20261125090200 as 20261125110000 left it (SECURITY DEFINER, pinned search_path).
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  before jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) - 'password_hash' END;
  after  jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) - 'password_hash' END;
BEGIN
  INSERT INTO public.audit_log (table_name, row_id, operation, actor, old_row, new_row)
  VALUES (
    TG_TABLE_NAME,
    (COALESCE(after, before) ->> 'id')::uuid,
    lower(TG_OP)::public.audit_operation,
    -- Outside a transaction that set it, the setting is NULL (never set in this session) or ''
    -- (set by an earlier transaction on this pooled connection, then reverted).
    NULLIF(current_setting('app.actor_id', true), ''),
    before,
    after
  );
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION audit_row_change() IS 'AFTER row trigger: appends the change to audit_log (without password_hash).';
COMMENT ON COLUMN audit_log.old_row IS 'The row before the change (snake_case keys), without password_hash; NULL for inserts.';
COMMENT ON COLUMN audit_log.new_row IS 'The row after the change (snake_case keys), without password_hash; NULL for deletes.';
