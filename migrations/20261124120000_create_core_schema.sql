-- migrate:up

-- The four core tables, their status enums, and the trigger that keeps updated_at honest.
-- Rules (CHECK constraints) and indexes live in the next migration, 20261124120100.
-- ids use gen_random_uuid(), built into PostgreSQL since 13: no extension needed.

CREATE TYPE idea_status AS ENUM ('draft', 'submitted', 'evaluating', 'completed', 'archived');
CREATE TYPE evaluation_status AS ENUM ('pending', 'analyzing', 'completed', 'failed');
-- Declared lowest first so that comparisons read naturally (priority > 'normal' means urgent);
-- the work queue therefore orders by priority DESC.
CREATE TYPE evaluation_priority AS ENUM ('low', 'normal', 'high');
CREATE TYPE agent_result_status AS ENUM ('pending', 'running', 'completed', 'failed');

COMMENT ON TYPE evaluation_priority IS 'Sorts low < normal < high; the pending queue reads it DESC.';

-- Maintains updated_at on every real change. The trigger's WHEN clause skips no-op updates,
-- so updated_at means "content last changed", not "last touched".
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

COMMENT ON FUNCTION set_updated_at() IS 'BEFORE UPDATE trigger: sets updated_at to now() (transaction time).';

CREATE TABLE users (
  id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text        NOT NULL,
  password_hash text        NOT NULL,
  name          text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz
);

COMMENT ON TABLE users IS 'Platform accounts. Soft-deleted rows (deleted_at set) are closed accounts.';
COMMENT ON COLUMN users.email IS 'Stored normalised: lower(btrim(email)). Unique among accounts that are not soft-deleted.';
COMMENT ON COLUMN users.password_hash IS 'A password hash (e.g. argon2id or bcrypt), never the password.';
COMMENT ON COLUMN users.deleted_at IS 'Soft delete: set when the account is closed; NULL for live accounts.';

CREATE TABLE business_ideas (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  -- A hard-deleted user takes their ideas (and, through them, evaluations and agent results).
  user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title       text        NOT NULL,
  description text        NOT NULL,
  status      idea_status NOT NULL DEFAULT 'draft',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);

COMMENT ON TABLE business_ideas IS 'Ideas submitted by users for evaluation.';
COMMENT ON COLUMN business_ideas.description IS '50 to 5000 characters (the minimum counts non-blank text).';
COMMENT ON COLUMN business_ideas.deleted_at IS 'Soft delete: set when the user removes the idea; NULL otherwise.';

CREATE TABLE evaluations (
  id               uuid                PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Evaluations belong to their idea: deleting the idea deletes them.
  business_idea_id uuid                NOT NULL REFERENCES business_ideas (id) ON DELETE CASCADE,
  status           evaluation_status   NOT NULL DEFAULT 'pending',
  priority         evaluation_priority NOT NULL DEFAULT 'normal',
  started_at       timestamptz,
  completed_at     timestamptz,
  results          jsonb,
  error_message    text,
  created_at       timestamptz         NOT NULL DEFAULT now(),
  updated_at       timestamptz         NOT NULL DEFAULT now()
);

COMMENT ON TABLE evaluations IS 'One evaluation run of an idea by the agents; the work queue is its pending rows.';
COMMENT ON COLUMN evaluations.results IS 'The aggregate of the agent results (JSON object, see EvaluationResults); NULL until completed.';
COMMENT ON COLUMN evaluations.completed_at IS 'When the run ended, successfully or not; NULL while pending or analyzing.';
COMMENT ON COLUMN evaluations.error_message IS 'Why the run failed (set with status failed; a retry may keep the last one).';

CREATE TABLE agent_results (
  id            uuid                PRIMARY KEY DEFAULT gen_random_uuid(),
  evaluation_id uuid                NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
  agent_type    text                NOT NULL,
  status        agent_result_status NOT NULL DEFAULT 'pending',
  input_data    jsonb               NOT NULL DEFAULT '{}'::jsonb,
  output_data   jsonb,
  insights      jsonb,
  score         numeric(5, 2),
  started_at    timestamptz,
  completed_at  timestamptz,
  error_message text,
  created_at    timestamptz         NOT NULL DEFAULT now(),
  updated_at    timestamptz         NOT NULL DEFAULT now()
);

COMMENT ON TABLE agent_results IS 'One AI agent''s work within an evaluation; at most one row per agent type per evaluation.';
COMMENT ON COLUMN agent_results.agent_type IS 'Lowercase kebab-case agent name (market-research, ...). Text, not an enum: a new agent needs no migration.';
COMMENT ON COLUMN agent_results.input_data IS 'What the agent was given (JSON object, see AgentInputData).';
COMMENT ON COLUMN agent_results.output_data IS 'The agent''s raw findings (JSON object, see AgentOutputData); NULL until it finishes.';
COMMENT ON COLUMN agent_results.insights IS 'Structured insights distilled from the output (JSON object, see AgentInsights).';
COMMENT ON COLUMN agent_results.score IS '0 to 100, two decimals; NULL until scored.';

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER business_ideas_set_updated_at BEFORE UPDATE ON business_ideas
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER evaluations_set_updated_at BEFORE UPDATE ON evaluations
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER agent_results_set_updated_at BEFORE UPDATE ON agent_results
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- migrate:down

-- Dropping a table drops its triggers; children first so no CASCADE is needed.
DROP TABLE agent_results;
DROP TABLE evaluations;
DROP TABLE business_ideas;
DROP TABLE users;
DROP FUNCTION set_updated_at();
DROP TYPE agent_result_status;
DROP TYPE evaluation_priority;
DROP TYPE evaluation_status;
DROP TYPE idea_status;
