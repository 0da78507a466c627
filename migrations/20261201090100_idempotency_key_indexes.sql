-- migrate:lint-ignore unique-index-on-existing-data the keys were added NULL by 20261201090000 and both indexes are partial (WHERE idempotency_key IS NOT NULL): no existing row can be a duplicate
-- migrate:up transaction:false

-- Validates the CHECKs 20261201090000 added NOT VALID (SHARE UPDATE EXCLUSIVE: writes go on) and
-- builds the unique indexes behind the idempotency keys concurrently. Outside a transaction, so
-- every statement is safe to run again if the run is interrupted.

ALTER TABLE business_ideas VALIDATE CONSTRAINT business_ideas_idempotency_key_length_check;
ALTER TABLE evaluations VALIDATE CONSTRAINT evaluations_idempotency_key_length_check;
ALTER TABLE agent_results VALIDATE CONSTRAINT agent_results_completion_key_length_check;

-- createIdea ... ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS business_ideas_user_id_idempotency_key_key
  ON business_ideas (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- createEvaluation ... ON CONFLICT (business_idea_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS evaluations_business_idea_id_idempotency_key_key
  ON evaluations (business_idea_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- migrate:down transaction:false

DROP INDEX CONCURRENTLY IF EXISTS evaluations_business_idea_id_idempotency_key_key;
DROP INDEX CONCURRENTLY IF EXISTS business_ideas_user_id_idempotency_key_key;
-- Back to NOT VALID, as 20261201090000 left them.
ALTER TABLE agent_results DROP CONSTRAINT IF EXISTS agent_results_completion_key_length_check;
ALTER TABLE agent_results ADD CONSTRAINT agent_results_completion_key_length_check
  CHECK (char_length(completion_key) BETWEEN 1 AND 200) NOT VALID;
ALTER TABLE evaluations DROP CONSTRAINT IF EXISTS evaluations_idempotency_key_length_check;
ALTER TABLE evaluations ADD CONSTRAINT evaluations_idempotency_key_length_check
  CHECK (char_length(idempotency_key) BETWEEN 1 AND 200) NOT VALID;
ALTER TABLE business_ideas DROP CONSTRAINT IF EXISTS business_ideas_idempotency_key_length_check;
ALTER TABLE business_ideas ADD CONSTRAINT business_ideas_idempotency_key_length_check
  CHECK (char_length(idempotency_key) BETWEEN 1 AND 200) NOT VALID;
