-- migrate:up

-- Least privilege and per-user isolation (README: "Roles and least privilege", "Per-user
-- isolation"). The role running migrations owns every object and keeps full access; two NOLOGIN
-- group roles get only what their callers need, and operators create LOGIN roles as members:
--   ai_validation_app     the application: rows of the four tables, no DDL, no TRUNCATE, no ledger,
--                         no audit_log; business_ideas, evaluations and agent_results filtered by
--                         row-level security to the user named in app.user_id (database.withUser).
--   ai_validation_worker  the evaluation workers: the queue (pending and analyzing evaluations, the
--                         ideas they evaluate, their agent results), nothing else.
--
-- Roles are cluster-wide, this migration is per database. The group roles therefore have fixed
-- names, are created only when missing (any database's first migration creates them; every other
-- database, test clones included, reuses them), and the down section never drops them: they may
-- carry grants in other databases of the cluster, and dropping a role another migration is about to
-- grant to is a race we do not need. Down revokes exactly what up granted in this database.
-- Creating them needs CREATEROLE; where the migration role lacks it (the Docker setup),
-- scripts/postgres-init/02-create-roles.sh creates them first as the superuser.

DO $$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY ARRAY['ai_validation_app', 'ai_validation_worker'] LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', name);
      EXCEPTION
        -- Another database's migration created it concurrently: that is the role we want.
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN
          RAISE EXCEPTION 'role % does not exist and % may not create roles', name, current_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Create it as a superuser (CREATE ROLE ' || name || ' NOLOGIN; see scripts/postgres-init/02-create-roles.sh) or grant CREATEROLE to the migration role, then migrate again.';
      END;
    END IF;
  END LOOP;
END;
$$;

-- No one but the owner creates objects in public (already the default from PostgreSQL 15; older
-- servers let every role create tables there). Not re-granted on down: that would reopen a hole.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ai_validation_app, ai_validation_worker;

-- The application: rows only. users stays outside row-level security: sign-up and login look
-- accounts up by email before any user is known. No privileges on audit_log (its row images hold
-- every user's ideas, unfiltered) nor on schema_migrations (PUBLIC has none either).
GRANT SELECT, INSERT, UPDATE, DELETE ON users, business_ideas, evaluations, agent_results TO ai_validation_app;

-- The workers: read and move the queue, write agent results, set an idea's status. No INSERT or
-- DELETE of evaluations, no users, no idea content changes; row-level security narrows the rows.
GRANT SELECT, UPDATE ON evaluations TO ai_validation_worker;
GRANT SELECT, INSERT, UPDATE ON agent_results TO ai_validation_worker;
GRANT SELECT, UPDATE (status) ON business_ideas TO ai_validation_worker;

-- The audit trigger writes audit_log as its owner, so neither role needs (or has) access to it.
-- search_path is already pinned to pg_catalog, pg_temp and the target schema-qualified.
-- Triggers do not check EXECUTE when they fire, so no one needs to call it directly.
ALTER FUNCTION audit_row_change() SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION audit_row_change() FROM PUBLIC;

-- The acting user of the current transaction: app.user_id as set by database.withUser (with
-- set_config(..., true), so it ends with the transaction), or NULL when none is set ('' is what a
-- reverted setting reads as on a pooled connection). A malformed value fails the cast rather than
-- matching anything. Plain SQL and STABLE, without SET search_path, so the planner inlines it and
-- can use it as an index key; every name in it is schema-qualified.
CREATE FUNCTION current_app_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT NULLIF(pg_catalog.current_setting('app.user_id', true), '')::pg_catalog.uuid
$$;

COMMENT ON FUNCTION current_app_user_id() IS
  'The acting user (transaction-local setting app.user_id, set by database.withUser); NULL when none. Row-level security policies key on it.';

-- ENABLE, not FORCE: the owner (migrations, seeds, operators' maintenance) is not filtered, and
-- superusers never are. Every other role sees only what a policy grants it, so a role with no
-- policy sees no rows at all.
ALTER TABLE business_ideas ENABLE ROW LEVEL SECURITY;
ALTER TABLE evaluations ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_results ENABLE ROW LEVEL SECURITY;

-- Application policies: a user's own ideas, and evaluations and agent results through their idea.
-- USING filters what is read, updated and deleted; WITH CHECK refuses rows written for another
-- user (or moved to another user's idea). No user set: current_app_user_id() is NULL, nothing matches.
-- Served by business_ideas_user_id_* (ideas) and the primary keys (the EXISTS lookups).
CREATE POLICY business_ideas_owner ON business_ideas TO ai_validation_app
  USING (user_id = current_app_user_id())
  WITH CHECK (user_id = current_app_user_id());

CREATE POLICY evaluations_owner ON evaluations TO ai_validation_app
  USING (EXISTS (SELECT FROM business_ideas i
                  WHERE i.id = evaluations.business_idea_id AND i.user_id = current_app_user_id()))
  WITH CHECK (EXISTS (SELECT FROM business_ideas i
                       WHERE i.id = evaluations.business_idea_id AND i.user_id = current_app_user_id()));

CREATE POLICY agent_results_owner ON agent_results TO ai_validation_app
  USING (EXISTS (SELECT FROM evaluations e JOIN business_ideas i ON i.id = e.business_idea_id
                  WHERE e.id = agent_results.evaluation_id AND i.user_id = current_app_user_id()))
  WITH CHECK (EXISTS (SELECT FROM evaluations e JOIN business_ideas i ON i.id = e.business_idea_id
                       WHERE e.id = agent_results.evaluation_id AND i.user_id = current_app_user_id()));

-- Worker policies: the work in flight, for every user. "In flight" is a pending or analyzing run,
-- or one that this very transaction has just finished (completed_at = now(), the transaction's
-- start time, which completeEvaluation/failEvaluation write): UPDATE ... RETURNING must be able to
-- read the row it finished, and completeEvaluation then moves the idea to completed. Finished runs
-- of earlier transactions, their agent results and ideas without work are invisible to workers.
CREATE POLICY evaluations_worker_select ON evaluations FOR SELECT TO ai_validation_worker
  USING (status IN ('pending', 'analyzing') OR completed_at = pg_catalog.now());
CREATE POLICY evaluations_worker_update ON evaluations FOR UPDATE TO ai_validation_worker
  USING (status IN ('pending', 'analyzing'))
  WITH CHECK (status IN ('pending', 'analyzing') OR completed_at = pg_catalog.now());

CREATE POLICY agent_results_worker ON agent_results TO ai_validation_worker
  USING (EXISTS (SELECT FROM evaluations e WHERE e.id = agent_results.evaluation_id
                    AND (e.status IN ('pending', 'analyzing') OR e.completed_at = pg_catalog.now())))
  WITH CHECK (EXISTS (SELECT FROM evaluations e WHERE e.id = agent_results.evaluation_id
                         AND (e.status IN ('pending', 'analyzing') OR e.completed_at = pg_catalog.now())));

-- Served by evaluations_business_idea_id_created_at_idx.
CREATE POLICY business_ideas_worker ON business_ideas TO ai_validation_worker
  USING (EXISTS (SELECT FROM evaluations e WHERE e.business_idea_id = business_ideas.id
                    AND (e.status IN ('pending', 'analyzing') OR e.completed_at = pg_catalog.now())));

-- migrate:down

DROP POLICY business_ideas_worker ON business_ideas;
DROP POLICY agent_results_worker ON agent_results;
DROP POLICY evaluations_worker_update ON evaluations;
DROP POLICY evaluations_worker_select ON evaluations;
DROP POLICY agent_results_owner ON agent_results;
DROP POLICY evaluations_owner ON evaluations;
DROP POLICY business_ideas_owner ON business_ideas;

ALTER TABLE agent_results DISABLE ROW LEVEL SECURITY;
ALTER TABLE evaluations DISABLE ROW LEVEL SECURITY;
ALTER TABLE business_ideas DISABLE ROW LEVEL SECURITY;

DROP FUNCTION current_app_user_id();

GRANT EXECUTE ON FUNCTION audit_row_change() TO PUBLIC;
ALTER FUNCTION audit_row_change() SECURITY INVOKER;

REVOKE ALL ON business_ideas, evaluations, agent_results, users FROM ai_validation_app, ai_validation_worker;
REVOKE USAGE ON SCHEMA public FROM ai_validation_app, ai_validation_worker;
-- The roles themselves stay (see the top of the up section), and so does REVOKE CREATE ON SCHEMA public.
