-- The mapping of the earlier placeholder schema (users, business_evaluations, agent_executions;
-- test/fixtures/legacy/placeholder-schema.sql) onto the schema the migrations build, run by
-- `npm run migrate -- adopt-legacy` (src/migrate/adopt.ts, docs/migrations.md "Adopting an
-- existing database"). It is not a migration: it lives outside the numbered files, so a fresh
-- database never runs it. The command has moved the three tables into schema legacy first.
--
-- Sections, each run by the command in the transaction it says:
--   adopt:prepare   session-local (pg_temp) helpers and the normalised rows as views; run first
--                   in both transactions
--   adopt:problems  one query: every row that cannot be mapped, as (legacy_table, legacy_id,
--                   problem); any row refuses the adoption with nothing changed
--   adopt:copy      the copy itself, into empty tables, keeping the old ids in legacy.id_map
--
-- Normalisation, in one place (the views), so the problems and the copy cannot disagree:
--   emails lower(btrim()); names trimmed, a missing name becomes the email's local part;
--   timestamps without time zone are read as UTC; statuses are compared trimmed and lower-cased
--   with spaces and dashes as underscores; json and JSON text become jsonb (a value that is not a
--   JSON object is wrapped: {"legacy": <value>}, text that is not JSON: {"text": <text>}).

-- adopt:prepare

CREATE FUNCTION pg_temp.adopt_ts(value timestamp) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE AS $$ SELECT value AT TIME ZONE 'UTC' $$;
CREATE FUNCTION pg_temp.adopt_ts(value timestamptz) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE AS $$ SELECT value $$;

-- The text parsed as JSON; NULL for SQL NULL, JSON null and text that is not JSON.
CREATE FUNCTION pg_temp.adopt_json(value text) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN NULLIF(value::jsonb, 'null'::jsonb);
EXCEPTION WHEN invalid_text_representation THEN
  RETURN NULL;
END;
$$;

-- A JSON object for a jsonb object column, losing nothing: an object as it is, another JSON value
-- as {"legacy": <value>}, text that is not JSON as {"text": <text>}; NULL for NULL, '' and null.
CREATE FUNCTION pg_temp.adopt_object(value text) RETURNS jsonb
  LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
           WHEN value IS NULL OR btrim(value) = '' OR btrim(value) = 'null' THEN NULL
           WHEN pg_temp.adopt_json(value) IS NULL THEN jsonb_build_object('text', value)
           WHEN jsonb_typeof(pg_temp.adopt_json(value)) = 'object' THEN pg_temp.adopt_json(value)
           ELSE jsonb_build_object('legacy', pg_temp.adopt_json(value))
         END
$$;

CREATE FUNCTION pg_temp.adopt_status(value text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT regexp_replace(lower(btrim(value)), '[\s-]+', '_', 'g') $$;

-- An agent name as a kebab-case agent type: MarketResearch, market_research and "Market research
-- agent" all become market-research; the usual short names map to the known agent types.
CREATE FUNCTION pg_temp.adopt_agent_type(value text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
  WITH kebab AS (
    SELECT regexp_replace(
             btrim(regexp_replace(lower(regexp_replace(btrim(value), '([a-z0-9])([A-Z])', '\1-\2', 'g')), '[^a-z0-9]+', '-', 'g'), '-'),
             '-agent$', '') AS t
  )
  SELECT CASE t
           WHEN 'market' THEN 'market-research'
           WHEN 'competitor-analysis' THEN 'competitive-analysis'
           WHEN 'competition' THEN 'competitive-analysis'
           WHEN 'competitors' THEN 'competitive-analysis'
           WHEN 'customer' THEN 'customer-research'
           WHEN 'customers' THEN 'customer-research'
           WHEN 'financial' THEN 'financial-modeling'
           WHEN 'finance' THEN 'financial-modeling'
           WHEN 'financial-model' THEN 'financial-modeling'
           WHEN 'financial-modelling' THEN 'financial-modeling'
           WHEN 'technical' THEN 'technical-feasibility'
           WHEN 'tech-feasibility' THEN 'technical-feasibility'
           WHEN 'regulatory' THEN 'regulatory-review'
           WHEN 'legal' THEN 'regulatory-review'
           WHEN 'gtm' THEN 'go-to-market'
           WHEN 'risk' THEN 'risk-assessment'
           WHEN 'risks' THEN 'risk-assessment'
           WHEN 'risk-analysis' THEN 'risk-assessment'
           ELSE t
         END
    FROM kebab
$$;

CREATE TEMP VIEW adopt_users AS
SELECT u.id::text AS legacy_id,
       lower(btrim(u.email)) AS email,
       COALESCE(NULLIF(btrim(u.name), ''), split_part(lower(btrim(u.email)), '@', 1)) AS name,
       u.password::text AS password_hash,
       pg_temp.adopt_ts(u.created_at) AS created_at
  FROM legacy.users u;

-- One idea and one evaluation per business_evaluations row. A run that was in flight when the
-- prototype stopped is queued again (pending): no worker holds it any more.
CREATE TEMP VIEW adopt_evaluations AS
SELECT e.id::text AS legacy_id,
       e.user_id::text AS legacy_user_id,
       btrim(e.idea_title) AS title,
       btrim(e.idea_description) AS description,
       e.status::text AS legacy_status,
       CASE
         WHEN pg_temp.adopt_status(e.status) IN ('pending', 'queued', 'new', 'submitted', 'waiting') THEN 'pending'
         WHEN pg_temp.adopt_status(e.status) IN ('running', 'in_progress', 'processing', 'analyzing', 'analysing', 'started') THEN 'pending'
         WHEN pg_temp.adopt_status(e.status) IN ('completed', 'complete', 'done', 'success', 'succeeded', 'finished') THEN 'completed'
         WHEN pg_temp.adopt_status(e.status) IN ('failed', 'failure', 'error', 'errored', 'cancelled', 'canceled') THEN 'failed'
       END AS status,
       pg_temp.adopt_object(e.result::text) AS results,
       pg_temp.adopt_ts(e.created_at) AS created_at,
       GREATEST(pg_temp.adopt_ts(e.created_at), pg_temp.adopt_ts(e.updated_at)) AS updated_at,
       (SELECT min(pg_temp.adopt_ts(a.started_at)) FROM legacy.agent_executions a WHERE a.evaluation_id = e.id) AS agents_started_at,
       (SELECT max(pg_temp.adopt_ts(COALESCE(a.finished_at, a.started_at))) FROM legacy.agent_executions a WHERE a.evaluation_id = e.id) AS agents_finished_at
  FROM legacy.business_evaluations e;

CREATE TEMP VIEW adopt_agent_results AS
SELECT a.id::text AS legacy_id,
       a.evaluation_id::text AS legacy_evaluation_id,
       a.agent_name::text AS agent_name,
       pg_temp.adopt_agent_type(a.agent_name) AS agent_type,
       a.status::text AS legacy_status,
       CASE
         WHEN pg_temp.adopt_status(a.status) IN ('pending', 'queued', 'new', 'waiting') THEN 'pending'
         -- In flight when the prototype stopped: nothing will finish it.
         WHEN pg_temp.adopt_status(a.status) IN ('running', 'in_progress', 'processing', 'started') THEN 'failed'
         WHEN pg_temp.adopt_status(a.status) IN ('completed', 'complete', 'done', 'success', 'succeeded', 'finished') THEN 'completed'
         WHEN pg_temp.adopt_status(a.status) IN ('failed', 'failure', 'error', 'errored', 'cancelled', 'canceled', 'timeout') THEN 'failed'
       END AS status,
       pg_temp.adopt_status(a.status) IN ('running', 'in_progress', 'processing', 'started') AS interrupted,
       pg_temp.adopt_object(a.output) AS output_data,
       pg_temp.adopt_ts(a.started_at) AS started_at,
       pg_temp.adopt_ts(a.finished_at) AS finished_at,
       pg_temp.adopt_ts(a.created_at) AS created_at
  FROM legacy.agent_executions a;

-- adopt:problems

SELECT legacy_table, legacy_id, problem
  FROM (
    SELECT 'users' AS legacy_table, u.legacy_id, format('email %L is not an email address once trimmed and lower-cased', u.email) AS problem
      FROM adopt_users u
     WHERE NOT (char_length(u.email) <= 254 AND u.email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$')
    UNION ALL
    SELECT 'users', u.legacy_id,
           format('email %L is also the email of users %s once trimmed and lower-cased; merge or change them first', u.email,
                  (SELECT string_agg(o.legacy_id, ', ' ORDER BY lpad(o.legacy_id, 20, '0')) FROM adopt_users o WHERE o.email = u.email AND o.legacy_id <> u.legacy_id))
      FROM adopt_users u
     WHERE EXISTS (SELECT 1 FROM adopt_users o WHERE o.email = u.email AND o.legacy_id <> u.legacy_id)
    UNION ALL
    SELECT 'users', u.legacy_id, format('name is %s characters long (at most 100)', char_length(u.name))
      FROM adopt_users u WHERE char_length(u.name) > 100
    UNION ALL
    SELECT 'users', u.legacy_id,
           'password is not a password hash (bcrypt $2a$/$2b$/$2y$, argon2 $argon2id$ or scrypt$): the data layer stores hashes only; hash it, or set a value no password matches and have the user reset it'
      FROM adopt_users u
     WHERE u.password_hash IS NULL
        OR NOT (u.password_hash ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$' OR u.password_hash ~ '^\$argon2(id|i|d)\$' OR u.password_hash ~ '^\$?scrypt\$')
    UNION ALL
    SELECT 'users', u.legacy_id, 'created_at is NULL' FROM adopt_users u WHERE u.created_at IS NULL
    UNION ALL
    SELECT 'business_evaluations', e.legacy_id, format('user_id %s names no users row', COALESCE(e.legacy_user_id, 'NULL'))
      FROM adopt_evaluations e WHERE NOT EXISTS (SELECT 1 FROM adopt_users u WHERE u.legacy_id = e.legacy_user_id)
    UNION ALL
    SELECT 'business_evaluations', e.legacy_id, format('idea_title %L is not 3 to 200 characters once trimmed', e.title)
      FROM adopt_evaluations e WHERE e.title IS NULL OR char_length(e.title) NOT BETWEEN 3 AND 200
    UNION ALL
    SELECT 'business_evaluations', e.legacy_id,
           format('idea_description is %s characters once trimmed; an idea needs 50 to 5000', COALESCE(char_length(e.description), 0))
      FROM adopt_evaluations e WHERE e.description IS NULL OR char_length(e.description) NOT BETWEEN 50 AND 5000
    UNION ALL
    SELECT 'business_evaluations', e.legacy_id, format('status %L has no mapping (pending, running, completed or failed, in the spellings docs/migrations.md lists)', e.legacy_status)
      FROM adopt_evaluations e WHERE e.status IS NULL
    UNION ALL
    SELECT 'business_evaluations', e.legacy_id, 'created_at is NULL' FROM adopt_evaluations e WHERE e.created_at IS NULL
    UNION ALL
    SELECT 'agent_executions', a.legacy_id, format('evaluation_id %s names no business_evaluations row', COALESCE(a.legacy_evaluation_id, 'NULL'))
      FROM adopt_agent_results a WHERE NOT EXISTS (SELECT 1 FROM adopt_evaluations e WHERE e.legacy_id = a.legacy_evaluation_id)
    UNION ALL
    SELECT 'agent_executions', a.legacy_id, format('agent_name %L does not make an agent type (lowercase kebab-case, at most 64 characters)', a.agent_name)
      FROM adopt_agent_results a
     WHERE a.agent_type IS NULL OR NOT (char_length(a.agent_type) <= 64 AND a.agent_type ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$')
    UNION ALL
    SELECT 'agent_executions', a.legacy_id,
           format('agent_name %L is agent type %s, like agent_executions %s of the same evaluation (one result per agent type per evaluation)',
                  a.agent_name, a.agent_type,
                  (SELECT string_agg(o.legacy_id, ', ' ORDER BY lpad(o.legacy_id, 20, '0')) FROM adopt_agent_results o
                    WHERE o.legacy_evaluation_id = a.legacy_evaluation_id AND o.agent_type = a.agent_type AND o.legacy_id <> a.legacy_id))
      FROM adopt_agent_results a
     WHERE EXISTS (SELECT 1 FROM adopt_agent_results o
                    WHERE o.legacy_evaluation_id = a.legacy_evaluation_id AND o.agent_type = a.agent_type AND o.legacy_id <> a.legacy_id)
    UNION ALL
    SELECT 'agent_executions', a.legacy_id, format('status %L has no mapping (pending, running, completed or failed, in the spellings docs/migrations.md lists)', a.legacy_status)
      FROM adopt_agent_results a WHERE a.status IS NULL
    UNION ALL
    SELECT 'agent_executions', a.legacy_id, 'finished_at is before started_at'
      FROM adopt_agent_results a WHERE a.finished_at < a.started_at
    UNION ALL
    SELECT 'agent_executions', a.legacy_id, 'created_at is NULL' FROM adopt_agent_results a WHERE a.created_at IS NULL
  ) p
 ORDER BY array_position(ARRAY['users', 'business_evaluations', 'agent_executions'], legacy_table), lpad(legacy_id, 20, '0'), problem;

-- adopt:copy

CREATE TABLE legacy.id_map (
  legacy_table text NOT NULL,
  legacy_id    text NOT NULL,
  new_table    text NOT NULL,
  new_id       uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  PRIMARY KEY (legacy_table, legacy_id, new_table)
);
COMMENT ON TABLE legacy.id_map IS 'Written by migrate adopt-legacy: the new row each placeholder row became (business_evaluations rows became an idea and an evaluation).';

INSERT INTO legacy.id_map (legacy_table, legacy_id, new_table) SELECT 'users', legacy_id, 'users' FROM adopt_users;
INSERT INTO legacy.id_map (legacy_table, legacy_id, new_table) SELECT 'business_evaluations', legacy_id, 'business_ideas' FROM adopt_evaluations;
INSERT INTO legacy.id_map (legacy_table, legacy_id, new_table) SELECT 'business_evaluations', legacy_id, 'evaluations' FROM adopt_evaluations;
INSERT INTO legacy.id_map (legacy_table, legacy_id, new_table) SELECT 'agent_executions', legacy_id, 'agent_results' FROM adopt_agent_results;

INSERT INTO public.users (id, email, password_hash, name, created_at, updated_at)
SELECT m.new_id, u.email, u.password_hash, u.name, u.created_at, u.created_at
  FROM adopt_users u JOIN legacy.id_map m ON (m.legacy_table, m.legacy_id, m.new_table) = ('users', u.legacy_id, 'users');

-- The idea is as far along as its evaluation: evaluating while queued (or failed, which a retry
-- takes up again), completed with it.
INSERT INTO public.business_ideas (id, user_id, title, description, status, created_at, updated_at)
SELECT m.new_id, mu.new_id, e.title, e.description,
       (CASE e.status WHEN 'completed' THEN 'completed' ELSE 'evaluating' END)::public.idea_status,
       e.created_at, e.updated_at
  FROM adopt_evaluations e
  JOIN legacy.id_map m ON (m.legacy_table, m.legacy_id, m.new_table) = ('business_evaluations', e.legacy_id, 'business_ideas')
  JOIN legacy.id_map mu ON (mu.legacy_table, mu.legacy_id, mu.new_table) = ('users', e.legacy_user_id, 'users');

-- Started when its first agent started (or when it was created), ended when its last agent ended
-- (or when it was last updated); never before it was created.
INSERT INTO public.evaluations (id, business_idea_id, status, started_at, completed_at, results, error_message,
                                attempt, failures, run_after, created_at, updated_at)
SELECT m.new_id, mi.new_id, e.status::public.evaluation_status, t.started_at, t.completed_at, e.results,
       CASE e.status WHEN 'failed' THEN COALESCE(e.results ->> 'error', format('failed in the placeholder schema (status %L)', e.legacy_status)) END,
       CASE e.status WHEN 'pending' THEN 0 ELSE 1 END, CASE e.status WHEN 'failed' THEN 1 ELSE 0 END,
       e.created_at, e.created_at, GREATEST(e.updated_at, t.completed_at)
  FROM adopt_evaluations e
  JOIN legacy.id_map m ON (m.legacy_table, m.legacy_id, m.new_table) = ('business_evaluations', e.legacy_id, 'evaluations')
  JOIN legacy.id_map mi ON (mi.legacy_table, mi.legacy_id, mi.new_table) = ('business_evaluations', e.legacy_id, 'business_ideas')
  CROSS JOIN LATERAL (SELECT GREATEST(e.created_at, COALESCE(e.agents_started_at, e.created_at)) AS s) s
  CROSS JOIN LATERAL (
    SELECT CASE WHEN e.status = 'pending' THEN NULL ELSE s.s END AS started_at,
           CASE WHEN e.status = 'pending' THEN NULL ELSE GREATEST(s.s, e.agents_finished_at, e.updated_at) END AS completed_at
  ) t;

INSERT INTO public.agent_results (id, evaluation_id, agent_type, status, output_data, score, started_at, completed_at,
                                  error_message, attempt, created_at, updated_at)
SELECT m.new_id, me.new_id, a.agent_type, a.status::public.agent_result_status, a.output_data,
       CASE WHEN jsonb_typeof(a.output_data -> 'score') = 'number' AND (a.output_data ->> 'score')::numeric BETWEEN 0 AND 100
            THEN round((a.output_data ->> 'score')::numeric, 2) END,
       t.started_at, t.completed_at,
       CASE WHEN a.interrupted THEN 'still running in the placeholder schema when it was adopted'
            WHEN a.status = 'failed' THEN COALESCE(a.output_data ->> 'error', a.output_data ->> 'text', format('failed in the placeholder schema (status %L)', a.legacy_status)) END,
       CASE e.status WHEN 'pending' THEN 0 ELSE 1 END,
       a.created_at, GREATEST(a.created_at, t.completed_at, t.started_at)
  FROM adopt_agent_results a
  JOIN adopt_evaluations e ON e.legacy_id = a.legacy_evaluation_id
  JOIN legacy.id_map m ON (m.legacy_table, m.legacy_id, m.new_table) = ('agent_executions', a.legacy_id, 'agent_results')
  JOIN legacy.id_map me ON (me.legacy_table, me.legacy_id, me.new_table) = ('business_evaluations', a.legacy_evaluation_id, 'evaluations')
  CROSS JOIN LATERAL (
    SELECT CASE WHEN a.status = 'completed' THEN COALESCE(a.started_at, a.finished_at, a.created_at) ELSE a.started_at END AS started_at
  ) s
  CROSS JOIN LATERAL (
    SELECT s.started_at,
           CASE WHEN a.status = 'pending' THEN NULL
                ELSE GREATEST(s.started_at, COALESCE(a.finished_at, a.started_at, a.created_at)) END AS completed_at
  ) t;
