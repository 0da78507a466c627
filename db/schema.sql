-- The schema the migrations build: written by `npm run codegen` from the catalog of a freshly
-- migrated database, checked by `npm run codegen -- --verify`. Review it; do not run it or edit it.

-- types

CREATE TYPE agent_result_status AS ENUM ('pending', 'running', 'completed', 'failed');
CREATE TYPE audit_operation AS ENUM ('insert', 'update', 'delete');
CREATE TYPE evaluation_priority AS ENUM ('low', 'normal', 'high');
CREATE TYPE evaluation_status AS ENUM ('pending', 'analyzing', 'completed', 'failed', 'dead');
CREATE TYPE idea_status AS ENUM ('draft', 'submitted', 'evaluating', 'completed', 'archived');

-- tables

CREATE TABLE agent_results (
  id uuid DEFAULT gen_random_uuid() NOT NULL,
  evaluation_id uuid NOT NULL,
  agent_type text NOT NULL,
  status agent_result_status DEFAULT 'pending'::agent_result_status NOT NULL,
  input_data jsonb DEFAULT '{}'::jsonb NOT NULL,
  output_data jsonb,
  insights jsonb,
  score numeric(5,2),
  started_at timestamp with time zone,
  completed_at timestamp with time zone,
  error_message text,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL,
  completion_key text,
  attempt integer DEFAULT 0 NOT NULL
);

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
  table_name text NOT NULL,
  row_id uuid NOT NULL,
  operation audit_operation NOT NULL,
  actor text,
  old_row jsonb,
  new_row jsonb,
  changed_at timestamp with time zone DEFAULT now() NOT NULL,
  txid bigint DEFAULT txid_current() NOT NULL
);

CREATE TABLE business_ideas (
  id uuid DEFAULT gen_random_uuid() NOT NULL,
  user_id uuid NOT NULL,
  title text NOT NULL,
  description text NOT NULL,
  status idea_status DEFAULT 'draft'::idea_status NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL,
  deleted_at timestamp with time zone,
  idempotency_key text
);

CREATE TABLE evaluations (
  id uuid DEFAULT gen_random_uuid() NOT NULL,
  business_idea_id uuid NOT NULL,
  status evaluation_status DEFAULT 'pending'::evaluation_status NOT NULL,
  priority evaluation_priority DEFAULT 'normal'::evaluation_priority NOT NULL,
  started_at timestamp with time zone,
  completed_at timestamp with time zone,
  results jsonb,
  error_message text,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL,
  claimed_by text,
  lease_expires_at timestamp with time zone,
  idempotency_key text,
  attempt integer DEFAULT 0 NOT NULL,
  failures integer DEFAULT 0 NOT NULL,
  max_attempts integer DEFAULT 5 NOT NULL,
  run_after timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE seed_history (
  id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
  set_name text NOT NULL,
  version integer NOT NULL,
  scale numeric DEFAULT 1 NOT NULL,
  applied_at timestamp with time zone DEFAULT now() NOT NULL,
  duration_ms integer,
  row_counts jsonb DEFAULT '{}'::jsonb NOT NULL,
  checksum text
);

CREATE TABLE users (
  id uuid DEFAULT gen_random_uuid() NOT NULL,
  email text NOT NULL,
  password_hash text NOT NULL,
  name text NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL,
  deleted_at timestamp with time zone
);

-- constraints

ALTER TABLE agent_results ADD CONSTRAINT agent_results_pkey PRIMARY KEY (id);
ALTER TABLE agent_results ADD CONSTRAINT agent_results_evaluation_id_agent_type_key UNIQUE (evaluation_id, agent_type);
ALTER TABLE agent_results ADD CONSTRAINT agent_results_agent_type_format_check CHECK (((char_length(agent_type) <= 64) AND (agent_type ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'::text)));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_attempt_check CHECK ((attempt >= 0));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_completed_after_started_check CHECK ((completed_at >= started_at));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_completed_at_matches_status_check CHECK (((status = ANY (ARRAY['completed'::agent_result_status, 'failed'::agent_result_status])) = (completed_at IS NOT NULL)));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_completion_key_length_check CHECK (((char_length(completion_key) >= 1) AND (char_length(completion_key) <= 200)));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_input_data_is_object_check CHECK ((jsonb_typeof(input_data) = 'object'::text));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_insights_is_object_check CHECK (((insights IS NULL) OR (jsonb_typeof(insights) = 'object'::text)));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_output_data_is_object_check CHECK (((output_data IS NULL) OR (jsonb_typeof(output_data) = 'object'::text)));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_score_range_check CHECK (((score >= (0)::numeric) AND (score <= (100)::numeric)));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_started_at_required_check CHECK (((status <> ALL (ARRAY['running'::agent_result_status, 'completed'::agent_result_status])) OR (started_at IS NOT NULL)));
ALTER TABLE agent_results ADD CONSTRAINT agent_results_evaluation_id_fkey FOREIGN KEY (evaluation_id) REFERENCES evaluations(id) ON DELETE CASCADE;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);
ALTER TABLE audit_log ADD CONSTRAINT audit_log_rows_match_operation_check CHECK (
CASE operation
    WHEN 'insert'::audit_operation THEN ((old_row IS NULL) AND (new_row IS NOT NULL))
    WHEN 'update'::audit_operation THEN ((old_row IS NOT NULL) AND (new_row IS NOT NULL))
    WHEN 'delete'::audit_operation THEN ((old_row IS NOT NULL) AND (new_row IS NULL))
    ELSE NULL::boolean
END);
ALTER TABLE business_ideas ADD CONSTRAINT business_ideas_pkey PRIMARY KEY (id);
ALTER TABLE business_ideas ADD CONSTRAINT business_ideas_description_length_check CHECK (((char_length(btrim(description)) >= 50) AND (char_length(description) <= 5000)));
ALTER TABLE business_ideas ADD CONSTRAINT business_ideas_idempotency_key_length_check CHECK (((char_length(idempotency_key) >= 1) AND (char_length(idempotency_key) <= 200)));
ALTER TABLE business_ideas ADD CONSTRAINT business_ideas_title_length_check CHECK (((char_length(btrim(title)) >= 3) AND (char_length(title) <= 200)));
ALTER TABLE business_ideas ADD CONSTRAINT business_ideas_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE evaluations ADD CONSTRAINT evaluations_pkey PRIMARY KEY (id);
ALTER TABLE evaluations ADD CONSTRAINT evaluations_attempt_failures_check CHECK (((attempt >= 0) AND (failures >= 0)));
ALTER TABLE evaluations ADD CONSTRAINT evaluations_claimed_by_format_check CHECK (((char_length(btrim(claimed_by)) >= 1) AND (char_length(claimed_by) <= 200)));
ALTER TABLE evaluations ADD CONSTRAINT evaluations_completed_after_started_check CHECK ((completed_at >= started_at));
ALTER TABLE evaluations ADD CONSTRAINT evaluations_completed_at_matches_status_check CHECK (((status = ANY (ARRAY['completed'::evaluation_status, 'failed'::evaluation_status, 'dead'::evaluation_status])) = (completed_at IS NOT NULL)));
ALTER TABLE evaluations ADD CONSTRAINT evaluations_idempotency_key_length_check CHECK (((char_length(idempotency_key) >= 1) AND (char_length(idempotency_key) <= 200)));
ALTER TABLE evaluations ADD CONSTRAINT evaluations_max_attempts_range_check CHECK (((max_attempts >= 1) AND (max_attempts <= 100)));
ALTER TABLE evaluations ADD CONSTRAINT evaluations_results_is_object_check CHECK (((results IS NULL) OR (jsonb_typeof(results) = 'object'::text)));
ALTER TABLE evaluations ADD CONSTRAINT evaluations_started_at_required_check CHECK (((status <> ALL (ARRAY['analyzing'::evaluation_status, 'completed'::evaluation_status])) OR (started_at IS NOT NULL)));
ALTER TABLE evaluations ADD CONSTRAINT evaluations_status_claimed_by_check CHECK (
CASE status
    WHEN 'pending'::evaluation_status THEN (claimed_by IS NULL)
    WHEN 'analyzing'::evaluation_status THEN (claimed_by IS NOT NULL)
    ELSE true
END);
ALTER TABLE evaluations ADD CONSTRAINT evaluations_status_lease_check CHECK (((status = 'analyzing'::evaluation_status) = (lease_expires_at IS NOT NULL)));
ALTER TABLE evaluations ADD CONSTRAINT evaluations_business_idea_id_fkey FOREIGN KEY (business_idea_id) REFERENCES business_ideas(id) ON DELETE CASCADE;
ALTER TABLE seed_history ADD CONSTRAINT seed_history_pkey PRIMARY KEY (id);
ALTER TABLE seed_history ADD CONSTRAINT seed_history_set_name_version_scale_key UNIQUE (set_name, version, scale);
ALTER TABLE seed_history ADD CONSTRAINT seed_history_duration_check CHECK (((duration_ms IS NULL) OR (duration_ms >= 0)));
ALTER TABLE seed_history ADD CONSTRAINT seed_history_row_counts_is_object_check CHECK ((jsonb_typeof(row_counts) = 'object'::text));
ALTER TABLE seed_history ADD CONSTRAINT seed_history_scale_positive_check CHECK ((scale > (0)::numeric));
ALTER TABLE seed_history ADD CONSTRAINT seed_history_set_name_format_check CHECK ((set_name ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'::text));
ALTER TABLE seed_history ADD CONSTRAINT seed_history_version_positive_check CHECK ((version > 0));
ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE users ADD CONSTRAINT users_email_format_check CHECK (((char_length(email) <= 254) AND (email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'::text)));
ALTER TABLE users ADD CONSTRAINT users_email_normalised_check CHECK ((email = lower(btrim(email))));
ALTER TABLE users ADD CONSTRAINT users_name_length_check CHECK (((char_length(btrim(name)) >= 1) AND (char_length(name) <= 100)));
ALTER TABLE users ADD CONSTRAINT users_password_hash_not_empty_check CHECK ((password_hash <> ''::text));

-- indexes

CREATE INDEX agent_results_created_at_id_idx ON public.agent_results USING btree (created_at DESC, id DESC) WHERE ((insights IS NOT NULL) OR (output_data IS NOT NULL));
CREATE INDEX agent_results_insights_idx ON public.agent_results USING gin (insights jsonb_path_ops) WHERE (insights IS NOT NULL);
CREATE INDEX agent_results_output_data_idx ON public.agent_results USING gin (output_data jsonb_path_ops) WHERE (output_data IS NOT NULL);
CREATE INDEX audit_log_changed_at_idx ON public.audit_log USING btree (changed_at);
CREATE INDEX audit_log_table_name_row_id_id_idx ON public.audit_log USING btree (table_name, row_id, id);
CREATE INDEX business_ideas_search_idx ON public.business_ideas USING gin (business_idea_search_vector(title, description)) WHERE (deleted_at IS NULL);
CREATE INDEX business_ideas_status_created_at_idx ON public.business_ideas USING btree (status, created_at) WHERE (deleted_at IS NULL);
CREATE INDEX business_ideas_user_id_created_at_idx ON public.business_ideas USING btree (user_id, created_at DESC) WHERE (deleted_at IS NULL);
CREATE UNIQUE INDEX business_ideas_user_id_idempotency_key_key ON public.business_ideas USING btree (user_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);
CREATE INDEX business_ideas_user_id_idx ON public.business_ideas USING btree (user_id);
CREATE INDEX evaluations_business_idea_id_created_at_idx ON public.evaluations USING btree (business_idea_id, created_at DESC);
CREATE UNIQUE INDEX evaluations_business_idea_id_idempotency_key_key ON public.evaluations USING btree (business_idea_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);
CREATE INDEX evaluations_lease_expires_at_idx ON public.evaluations USING btree (lease_expires_at, id) WHERE (status = 'analyzing'::evaluation_status);
CREATE INDEX evaluations_pending_queue_idx ON public.evaluations USING btree (priority DESC, run_after, id) WHERE (status = 'pending'::evaluation_status);
CREATE INDEX evaluations_status_created_at_idx ON public.evaluations USING btree (status, created_at DESC, id DESC);
CREATE INDEX users_created_at_id_idx ON public.users USING btree (created_at DESC, id DESC);
CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email) WHERE (deleted_at IS NULL);

-- functions

CREATE OR REPLACE FUNCTION public.agent_run_attempt_state(agent_result_id uuid)
 RETURNS TABLE(status agent_result_status, attempt integer, evaluation_id uuid, evaluation_status evaluation_status, evaluation_attempt integer, claimed_by text)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
  SELECT a.status, a.attempt, a.evaluation_id, e.status, e.attempt, e.claimed_by
    FROM public.agent_results a JOIN public.evaluations e ON e.id = a.evaluation_id
   WHERE a.id = agent_run_attempt_state.agent_result_id
$function$;

CREATE OR REPLACE FUNCTION public.audit_row_change()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION public.business_idea_search_vector(title text, description text)
 RETURNS tsvector
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT setweight(pg_catalog.to_tsvector('pg_catalog.english'::pg_catalog.regconfig, title), 'A')
      || setweight(pg_catalog.to_tsvector('pg_catalog.english'::pg_catalog.regconfig, description), 'B')
$function$;

CREATE OR REPLACE FUNCTION public.current_app_user_id()
 RETURNS uuid
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  SELECT NULLIF(pg_catalog.current_setting('app.user_id', true), '')::pg_catalog.uuid
$function$;

CREATE OR REPLACE FUNCTION public.evaluation_attempt_state(evaluation_id uuid)
 RETURNS TABLE(status evaluation_status, attempt integer, claimed_by text)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
  SELECT e.status, e.attempt, e.claimed_by FROM public.evaluations e WHERE e.id = evaluation_attempt_state.evaluation_id
$function$;

CREATE OR REPLACE FUNCTION public.notify_evaluation_queued()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
  PERFORM pg_catalog.pg_notify('ai_validation_evaluation_queue', NEW.priority::text);
  RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.set_updated_at()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$function$;

-- triggers

CREATE TRIGGER agent_results_audit AFTER INSERT OR DELETE ON public.agent_results FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER agent_results_audit_update AFTER UPDATE ON public.agent_results FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER agent_results_set_updated_at BEFORE UPDATE ON public.agent_results FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER business_ideas_audit AFTER INSERT OR DELETE ON public.business_ideas FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER business_ideas_audit_update AFTER UPDATE ON public.business_ideas FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER business_ideas_set_updated_at BEFORE UPDATE ON public.business_ideas FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER evaluations_audit AFTER INSERT OR DELETE ON public.evaluations FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER evaluations_audit_update AFTER UPDATE ON public.evaluations FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER evaluations_queued AFTER INSERT ON public.evaluations FOR EACH ROW WHEN ((new.status = 'pending'::evaluation_status)) EXECUTE FUNCTION notify_evaluation_queued();
CREATE TRIGGER evaluations_requeued AFTER UPDATE OF status ON public.evaluations FOR EACH ROW WHEN (((new.status = 'pending'::evaluation_status) AND (old.status <> 'pending'::evaluation_status))) EXECUTE FUNCTION notify_evaluation_queued();
CREATE TRIGGER evaluations_set_updated_at BEFORE UPDATE ON public.evaluations FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER users_audit AFTER INSERT OR DELETE ON public.users FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER users_audit_update AFTER UPDATE ON public.users FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON public.users FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION set_updated_at();

-- row level security

ALTER TABLE agent_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE business_ideas ENABLE ROW LEVEL SECURITY;
ALTER TABLE evaluations ENABLE ROW LEVEL SECURITY;

-- policies

CREATE POLICY agent_results_owner ON agent_results AS PERMISSIVE FOR ALL TO ai_validation_app
  USING ((EXISTS ( SELECT
   FROM (evaluations e
     JOIN business_ideas i ON ((i.id = e.business_idea_id)))
  WHERE ((e.id = agent_results.evaluation_id) AND (i.user_id = current_app_user_id())))))
  WITH CHECK ((EXISTS ( SELECT
   FROM (evaluations e
     JOIN business_ideas i ON ((i.id = e.business_idea_id)))
  WHERE ((e.id = agent_results.evaluation_id) AND (i.user_id = current_app_user_id())))));

CREATE POLICY agent_results_worker ON agent_results AS PERMISSIVE FOR ALL TO ai_validation_worker
  USING ((EXISTS ( SELECT
   FROM evaluations e
  WHERE ((e.id = agent_results.evaluation_id) AND ((e.status = ANY (ARRAY['pending'::evaluation_status, 'analyzing'::evaluation_status])) OR (e.completed_at = now()))))))
  WITH CHECK ((EXISTS ( SELECT
   FROM evaluations e
  WHERE ((e.id = agent_results.evaluation_id) AND ((e.status = ANY (ARRAY['pending'::evaluation_status, 'analyzing'::evaluation_status])) OR (e.completed_at = now()))))));

CREATE POLICY business_ideas_owner ON business_ideas AS PERMISSIVE FOR ALL TO ai_validation_app
  USING ((user_id = current_app_user_id()))
  WITH CHECK ((user_id = current_app_user_id()));

CREATE POLICY business_ideas_worker ON business_ideas AS PERMISSIVE FOR ALL TO ai_validation_worker
  USING ((EXISTS ( SELECT
   FROM evaluations e
  WHERE ((e.business_idea_id = business_ideas.id) AND ((e.status = ANY (ARRAY['pending'::evaluation_status, 'analyzing'::evaluation_status])) OR (e.completed_at = now()))))));

CREATE POLICY evaluations_owner ON evaluations AS PERMISSIVE FOR ALL TO ai_validation_app
  USING ((EXISTS ( SELECT
   FROM business_ideas i
  WHERE ((i.id = evaluations.business_idea_id) AND (i.user_id = current_app_user_id())))))
  WITH CHECK ((EXISTS ( SELECT
   FROM business_ideas i
  WHERE ((i.id = evaluations.business_idea_id) AND (i.user_id = current_app_user_id())))));

CREATE POLICY evaluations_worker_select ON evaluations AS PERMISSIVE FOR SELECT TO ai_validation_worker
  USING (((status = ANY (ARRAY['pending'::evaluation_status, 'analyzing'::evaluation_status])) OR (completed_at = now())));

CREATE POLICY evaluations_worker_update ON evaluations AS PERMISSIVE FOR UPDATE TO ai_validation_worker
  USING ((status = ANY (ARRAY['pending'::evaluation_status, 'analyzing'::evaluation_status])))
  WITH CHECK (((status = ANY (ARRAY['pending'::evaluation_status, 'analyzing'::evaluation_status])) OR ((status = ANY (ARRAY['completed'::evaluation_status, 'dead'::evaluation_status])) AND (completed_at = now()))));

-- grants

GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE agent_results TO ai_validation_app;
GRANT INSERT, SELECT, UPDATE ON TABLE agent_results TO ai_validation_worker;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE business_ideas TO ai_validation_app;
GRANT SELECT, UPDATE (status) ON TABLE business_ideas TO ai_validation_worker;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE evaluations TO ai_validation_app;
GRANT SELECT, UPDATE ON TABLE evaluations TO ai_validation_worker;
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE users TO ai_validation_app;

-- comments

COMMENT ON TABLE agent_results IS 'One AI agent''s work within an evaluation; at most one row per agent type per evaluation.';
COMMENT ON COLUMN agent_results.agent_type IS 'Lowercase kebab-case agent name (market-research, ...). Text, not an enum: a new agent needs no migration.';
COMMENT ON COLUMN agent_results.input_data IS 'What the agent was given (JSON object, see AgentInputData).';
COMMENT ON COLUMN agent_results.output_data IS 'The agent''s raw findings (JSON object, see AgentOutputData); NULL until it finishes.';
COMMENT ON COLUMN agent_results.insights IS 'Structured insights distilled from the output (JSON object, see AgentInsights).';
COMMENT ON COLUMN agent_results.score IS '0 to 100, two decimals; NULL until scored.';
COMMENT ON COLUMN agent_results.completion_key IS 'The client''s key for the request that completed the run: a retried completeAgentRun returns the completed run.';
COMMENT ON COLUMN agent_results.attempt IS 'The evaluation attempt that created the run or last took it over (reset in place); worker writes must carry it.';
COMMENT ON FUNCTION agent_run_attempt_state(uuid) IS 'Attempt state of one agent run and its evaluation, past row-level security: why a fenced worker write matched nothing.';
COMMENT ON TABLE audit_log IS 'Every insert, update and delete on users, business_ideas, evaluations and agent_results, written by triggers. Append-only.';
COMMENT ON COLUMN audit_log.table_name IS 'The SQL name of the changed table (users, business_ideas, evaluations, agent_results).';
COMMENT ON COLUMN audit_log.actor IS 'current_setting(''app.actor_id'') of the changing transaction; NULL when none was set.';
COMMENT ON COLUMN audit_log.old_row IS 'Deletes: the row before the change; updates: the changed columns'' old values (entries before migration 20261202090000: the whole row). snake_case keys, never password_hash; NULL for inserts.';
COMMENT ON COLUMN audit_log.new_row IS 'Inserts: the row after the change; updates: the changed columns'' new values (entries before migration 20261202090000: the whole row). snake_case keys, never password_hash; NULL for deletes.';
COMMENT ON COLUMN audit_log.changed_at IS 'The changing transaction''s start time (now()).';
COMMENT ON COLUMN audit_log.txid IS 'txid_current() of the changing transaction: groups the changes one transaction made.';
COMMENT ON FUNCTION audit_row_change() IS 'AFTER row trigger: appends the change to audit_log (inserts and deletes as the whole row, updates as the changed columns'' old and new values; never password_hash).';
COMMENT ON FUNCTION business_idea_search_vector(text,text) IS 'The full-text document of a business idea; business_ideas_search_idx is built on it. Query with @@ websearch_to_tsquery(''english'', $1).';
COMMENT ON TABLE business_ideas IS 'Ideas submitted by users for evaluation.';
COMMENT ON COLUMN business_ideas.description IS '50 to 5000 characters (the minimum counts non-blank text).';
COMMENT ON COLUMN business_ideas.deleted_at IS 'Soft delete: set when the user removes the idea; NULL otherwise.';
COMMENT ON COLUMN business_ideas.idempotency_key IS 'The client''s key for the request that created the idea (unique per user): a retried createIdea returns this idea.';
COMMENT ON FUNCTION current_app_user_id() IS 'The acting user (transaction-local setting app.user_id, set by database.withUser); NULL when none. Row-level security policies key on it.';
COMMENT ON FUNCTION evaluation_attempt_state(uuid) IS 'Queue state (status, attempt, holder) of one evaluation, past row-level security: why a fenced worker write matched nothing.';
COMMENT ON TYPE evaluation_priority IS 'Sorts low < normal < high; the pending queue reads it DESC.';
COMMENT ON TABLE evaluations IS 'One evaluation run of an idea by the agents; the work queue is its pending rows.';
COMMENT ON COLUMN evaluations.completed_at IS 'When the run ended, successfully or not; NULL while pending or analyzing.';
COMMENT ON COLUMN evaluations.results IS 'The aggregate of the agent results (JSON object, see EvaluationResults); NULL until completed.';
COMMENT ON COLUMN evaluations.error_message IS 'Why the run failed (set with status failed; a retry may keep the last one).';
COMMENT ON COLUMN evaluations.claimed_by IS 'The worker that claimed the run (set while analyzing, kept afterwards as a record; NULL while pending).';
COMMENT ON COLUMN evaluations.lease_expires_at IS 'Until when the claim holds; set exactly while analyzing. An expired lease may be claimed again.';
COMMENT ON COLUMN evaluations.idempotency_key IS 'The client''s key for the request that queued the evaluation (unique per idea): a retried createEvaluation returns this evaluation.';
COMMENT ON COLUMN evaluations.attempt IS 'The number of the current (or last) claim: 0 until first claimed, incremented by every claim. (id, attempt) is the fencing token of the worker holding the run.';
COMMENT ON COLUMN evaluations.failures IS 'Failed attempts (failed by the worker, or lease expired) since the run was queued or last requeued by an operator.';
COMMENT ON COLUMN evaluations.max_attempts IS 'Retry budget: the failure that brings failures to max_attempts dead-letters the run (status dead). createEvaluation sets it per priority unless given.';
COMMENT ON COLUMN evaluations.run_after IS 'When a pending run may be claimed: when it was queued, or after a failure now plus an exponential backoff with jitter.';
COMMENT ON FUNCTION notify_evaluation_queued() IS 'AFTER row trigger: NOTIFY ai_validation_evaluation_queue with the priority of a run that became pending (delivered at commit).';
COMMENT ON TABLE seed_history IS 'Seed sets applied to this database (npm run seed): one row per set, version and scale.';
COMMENT ON COLUMN seed_history.scale IS 'The --scale the set ran at (1 for sets that do not scale).';
COMMENT ON COLUMN seed_history.row_counts IS 'Rows written per table, e.g. {"users": 3}.';
COMMENT ON COLUMN seed_history.checksum IS 'sha256 of the generated data (or of the set definition); NULL when the set gives none.';
COMMENT ON FUNCTION set_updated_at() IS 'BEFORE UPDATE trigger: sets updated_at to now() (transaction time).';
COMMENT ON TABLE users IS 'Platform accounts. Soft-deleted rows (deleted_at set) are closed accounts.';
COMMENT ON COLUMN users.email IS 'Stored normalised: lower(btrim(email)). Unique among accounts that are not soft-deleted.';
COMMENT ON COLUMN users.password_hash IS 'A password hash (e.g. argon2id or bcrypt), never the password.';
COMMENT ON COLUMN users.deleted_at IS 'Soft delete: set when the account is closed; NULL for live accounts.';
