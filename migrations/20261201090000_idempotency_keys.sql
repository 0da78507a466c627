-- migrate:up

-- Idempotency keys for the writes a client may retry after a lost connection, when it cannot tell
-- whether the first attempt committed (src/repositories/business-ideas.ts createIdea,
-- evaluations.ts createEvaluation, agent-results.ts completeAgentRun): a retry with the same key
-- returns the first outcome instead of writing twice. Written for tables that already hold data:
-- the columns are nullable without a default (no rewrite), the CHECKs are added NOT VALID (no scan
-- under the ACCESS EXCLUSIVE lock), and 20261201090100 validates them and builds the unique
-- indexes concurrently, without blocking writes.

ALTER TABLE business_ideas ADD COLUMN idempotency_key text;
ALTER TABLE evaluations ADD COLUMN idempotency_key text;
ALTER TABLE agent_results ADD COLUMN completion_key text;

ALTER TABLE business_ideas ADD CONSTRAINT business_ideas_idempotency_key_length_check
  CHECK (char_length(idempotency_key) BETWEEN 1 AND 200) NOT VALID;
ALTER TABLE evaluations ADD CONSTRAINT evaluations_idempotency_key_length_check
  CHECK (char_length(idempotency_key) BETWEEN 1 AND 200) NOT VALID;
ALTER TABLE agent_results ADD CONSTRAINT agent_results_completion_key_length_check
  CHECK (char_length(completion_key) BETWEEN 1 AND 200) NOT VALID;

COMMENT ON COLUMN business_ideas.idempotency_key IS 'The client''s key for the request that created the idea (unique per user): a retried createIdea returns this idea.';
COMMENT ON COLUMN evaluations.idempotency_key IS 'The client''s key for the request that queued the evaluation (unique per idea): a retried createEvaluation returns this evaluation.';
COMMENT ON COLUMN agent_results.completion_key IS 'The client''s key for the request that completed the run: a retried completeAgentRun returns the completed run.';

-- migrate:down

ALTER TABLE agent_results DROP COLUMN completion_key;
ALTER TABLE evaluations DROP COLUMN idempotency_key;
ALTER TABLE business_ideas DROP COLUMN idempotency_key;
