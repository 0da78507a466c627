-- migrate:up

-- The audit trail: every insert, update and delete on the four core tables, written by triggers
-- in the same transaction as the change (so a rolled-back change leaves no audit row, and no
-- code path can forget to write one). The actor is whatever the library put in the
-- transaction-local setting app.actor_id (database.withActor / transaction({ actorId })).

CREATE TYPE audit_operation AS ENUM ('insert', 'update', 'delete');

CREATE TABLE audit_log (
  id         bigint          GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  table_name text            NOT NULL,
  -- No foreign key: the history of a row must outlive the row.
  row_id     uuid            NOT NULL,
  operation  audit_operation NOT NULL,
  actor      text,
  old_row    jsonb,
  new_row    jsonb,
  -- Transaction time, like created_at/updated_at: every change of one transaction shares it, and
  -- equals the updated_at the change wrote. id orders the changes within a transaction.
  changed_at timestamptz     NOT NULL DEFAULT now(),
  txid       bigint          NOT NULL DEFAULT txid_current(),
  CONSTRAINT audit_log_rows_match_operation_check CHECK (
    CASE operation
      WHEN 'insert' THEN old_row IS NULL AND new_row IS NOT NULL
      WHEN 'update' THEN old_row IS NOT NULL AND new_row IS NOT NULL
      WHEN 'delete' THEN old_row IS NOT NULL AND new_row IS NULL
    END
  )
);

COMMENT ON TABLE audit_log IS 'Every insert, update and delete on users, business_ideas, evaluations and agent_results, written by triggers. Append-only.';
COMMENT ON COLUMN audit_log.table_name IS 'The SQL name of the changed table (users, business_ideas, evaluations, agent_results).';
COMMENT ON COLUMN audit_log.actor IS 'current_setting(''app.actor_id'') of the changing transaction; NULL when none was set.';
COMMENT ON COLUMN audit_log.old_row IS 'The row before the change (snake_case keys), without password_hash; NULL for inserts.';
COMMENT ON COLUMN audit_log.new_row IS 'The row after the change (snake_case keys), without password_hash; NULL for deletes.';
COMMENT ON COLUMN audit_log.changed_at IS 'The changing transaction''s start time (now()).';
COMMENT ON COLUMN audit_log.txid IS 'txid_current() of the changing transaction: groups the changes one transaction made.';

-- The history of one row: WHERE table_name = $1 AND row_id = $2 [AND id > $3] ORDER BY id.
-- By id, not changed_at: a transaction that started earlier can change the row later, so
-- changed_at (transaction start) need not follow the row's order of changes; ids do, because
-- the row lock makes the second writer insert its audit row after the first one committed.
CREATE INDEX audit_log_table_name_row_id_id_idx ON audit_log (table_name, row_id, id);
-- Retention and recent activity: DELETE FROM audit_log WHERE changed_at < $1.
CREATE INDEX audit_log_changed_at_idx ON audit_log (changed_at);

-- Not SECURITY DEFINER: the changing role writes the audit row itself (roles come later). The
-- target is schema-qualified and pg_temp is searched last, so a session cannot divert its audit
-- rows into a temporary table called audit_log.
CREATE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql
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

-- Updates that change nothing (OLD = NEW) are not history, as for updated_at.
CREATE TRIGGER users_audit AFTER INSERT OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER users_audit_update AFTER UPDATE ON users
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER business_ideas_audit AFTER INSERT OR DELETE ON business_ideas
  FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER business_ideas_audit_update AFTER UPDATE ON business_ideas
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER evaluations_audit AFTER INSERT OR DELETE ON evaluations
  FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER evaluations_audit_update AFTER UPDATE ON evaluations
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER agent_results_audit AFTER INSERT OR DELETE ON agent_results
  FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER agent_results_audit_update AFTER UPDATE ON agent_results
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION audit_row_change();

-- migrate:down

DROP TRIGGER agent_results_audit_update ON agent_results;
DROP TRIGGER agent_results_audit ON agent_results;
DROP TRIGGER evaluations_audit_update ON evaluations;
DROP TRIGGER evaluations_audit ON evaluations;
DROP TRIGGER business_ideas_audit_update ON business_ideas;
DROP TRIGGER business_ideas_audit ON business_ideas;
DROP TRIGGER users_audit_update ON users;
DROP TRIGGER users_audit ON users;
DROP FUNCTION audit_row_change();
DROP TABLE audit_log;
DROP TYPE audit_operation;
