-- migrate:lint-ignore constraint-missing-not-valid the tables were created empty by 20261124120000 in the same first release: no database held rows when this ran
-- migrate:lint-ignore require-concurrent-index-creation the tables were created empty by 20261124120000 in the same first release: no database held rows when this ran
-- migrate:lint-ignore unique-index-on-existing-data the tables were created empty by 20261124120000 in the same first release: no database held rows when this ran
-- migrate:lint-ignore disallowed-unique-constraint the tables were created empty by 20261124120000 in the same first release: no database held rows when this ran
-- migrate:up

-- The rules of the data model as CHECK constraints, uniqueness, and the indexes for the real
-- access patterns. Builds on 20261124120000_create_core_schema. The tables are new and empty
-- here, so plain (non-CONCURRENTLY) index builds inside the migration's transaction are fine.

-- users ----------------------------------------------------------------------------------------

-- Case-insensitive uniqueness by storing the normalised form (no citext extension needed).
ALTER TABLE users
  ADD CONSTRAINT users_email_normalised_check CHECK (email = lower(btrim(email))),
  ADD CONSTRAINT users_email_format_check
    CHECK (char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
  ADD CONSTRAINT users_password_hash_not_empty_check CHECK (password_hash <> ''),
  ADD CONSTRAINT users_name_length_check CHECK (char_length(btrim(name)) >= 1 AND char_length(name) <= 100);

-- Login and sign-up lookups: WHERE email = $1 AND deleted_at IS NULL. Partial, so a closed
-- (soft-deleted) account does not block the same person from registering again; restoring a
-- closed account whose email was re-registered fails with 23505, which is the right answer.
-- Upserts must name the predicate: ON CONFLICT (email) WHERE deleted_at IS NULL.
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE deleted_at IS NULL;

-- business_ideas -------------------------------------------------------------------------------

-- Minimums count non-blank text, so padding cannot satisfy them; maximums bound what is stored.
ALTER TABLE business_ideas
  ADD CONSTRAINT business_ideas_title_length_check
    CHECK (char_length(btrim(title)) >= 3 AND char_length(title) <= 200),
  ADD CONSTRAINT business_ideas_description_length_check
    CHECK (char_length(btrim(description)) >= 50 AND char_length(description) <= 5000);

-- A user's ideas, newest first: WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC.
CREATE INDEX business_ideas_user_id_created_at_idx ON business_ideas (user_id, created_at DESC)
  WHERE deleted_at IS NULL;
-- The FK: ON DELETE CASCADE from users (and admin views that include soft-deleted ideas).
CREATE INDEX business_ideas_user_id_idx ON business_ideas (user_id);
-- Ideas by status (review queues, dashboards): WHERE status = $1 AND deleted_at IS NULL ORDER BY created_at.
CREATE INDEX business_ideas_status_created_at_idx ON business_ideas (status, created_at)
  WHERE deleted_at IS NULL;

-- evaluations ----------------------------------------------------------------------------------

-- Status and timestamps agree, without dictating the workflow: a retry (failed -> pending) just
-- clears completed_at; a run may fail before it starts.
ALTER TABLE evaluations
  ADD CONSTRAINT evaluations_completed_after_started_check CHECK (completed_at >= started_at),
  ADD CONSTRAINT evaluations_started_at_required_check
    CHECK (status NOT IN ('analyzing', 'completed') OR started_at IS NOT NULL),
  ADD CONSTRAINT evaluations_completed_at_matches_status_check
    CHECK ((status IN ('completed', 'failed')) = (completed_at IS NOT NULL)),
  ADD CONSTRAINT evaluations_results_is_object_check
    CHECK (results IS NULL OR jsonb_typeof(results) = 'object');

-- An idea's evaluations, newest first: WHERE business_idea_id = $1 ORDER BY created_at DESC.
-- Also serves the FK's ON DELETE CASCADE from business_ideas.
CREATE INDEX evaluations_business_idea_id_created_at_idx ON evaluations (business_idea_id, created_at DESC);
-- The work queue: WHERE status = 'pending' ORDER BY priority DESC, created_at, id LIMIT n
-- FOR UPDATE SKIP LOCKED (high first, then oldest). Partial: it holds only the queue.
CREATE INDEX evaluations_pending_queue_idx ON evaluations (priority DESC, created_at, id)
  WHERE status = 'pending';

-- agent_results --------------------------------------------------------------------------------

ALTER TABLE agent_results
  -- Text, not an enum: new agent types arrive over time and must not need a migration; the
  -- format keeps names uniform (market-research, competitive-analysis, customer-research).
  ADD CONSTRAINT agent_results_agent_type_format_check
    CHECK (char_length(agent_type) <= 64 AND agent_type ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'),
  ADD CONSTRAINT agent_results_score_range_check CHECK (score BETWEEN 0 AND 100),
  ADD CONSTRAINT agent_results_completed_after_started_check CHECK (completed_at >= started_at),
  ADD CONSTRAINT agent_results_started_at_required_check
    CHECK (status NOT IN ('running', 'completed') OR started_at IS NOT NULL),
  ADD CONSTRAINT agent_results_completed_at_matches_status_check
    CHECK ((status IN ('completed', 'failed')) = (completed_at IS NOT NULL)),
  ADD CONSTRAINT agent_results_input_data_is_object_check CHECK (jsonb_typeof(input_data) = 'object'),
  ADD CONSTRAINT agent_results_output_data_is_object_check
    CHECK (output_data IS NULL OR jsonb_typeof(output_data) = 'object'),
  ADD CONSTRAINT agent_results_insights_is_object_check
    CHECK (insights IS NULL OR jsonb_typeof(insights) = 'object'),
  -- One result per agent type per evaluation. Its index (evaluation_id, agent_type) also serves
  -- an evaluation's agent results (WHERE evaluation_id = $1 [ORDER BY agent_type]) and the FK's
  -- ON DELETE CASCADE from evaluations, so no separate evaluation_id index.
  ADD CONSTRAINT agent_results_evaluation_id_agent_type_key UNIQUE (evaluation_id, agent_type);

-- migrate:down

ALTER TABLE agent_results
  DROP CONSTRAINT agent_results_evaluation_id_agent_type_key,
  DROP CONSTRAINT agent_results_insights_is_object_check,
  DROP CONSTRAINT agent_results_output_data_is_object_check,
  DROP CONSTRAINT agent_results_input_data_is_object_check,
  DROP CONSTRAINT agent_results_completed_at_matches_status_check,
  DROP CONSTRAINT agent_results_started_at_required_check,
  DROP CONSTRAINT agent_results_completed_after_started_check,
  DROP CONSTRAINT agent_results_score_range_check,
  DROP CONSTRAINT agent_results_agent_type_format_check;

DROP INDEX evaluations_pending_queue_idx;
DROP INDEX evaluations_business_idea_id_created_at_idx;
ALTER TABLE evaluations
  DROP CONSTRAINT evaluations_results_is_object_check,
  DROP CONSTRAINT evaluations_completed_at_matches_status_check,
  DROP CONSTRAINT evaluations_started_at_required_check,
  DROP CONSTRAINT evaluations_completed_after_started_check;

DROP INDEX business_ideas_status_created_at_idx;
DROP INDEX business_ideas_user_id_idx;
DROP INDEX business_ideas_user_id_created_at_idx;
ALTER TABLE business_ideas
  DROP CONSTRAINT business_ideas_description_length_check,
  DROP CONSTRAINT business_ideas_title_length_check;

DROP INDEX users_email_key;
ALTER TABLE users
  DROP CONSTRAINT users_name_length_check,
  DROP CONSTRAINT users_password_hash_not_empty_check,
  DROP CONSTRAINT users_email_format_check,
  DROP CONSTRAINT users_email_normalised_check;
