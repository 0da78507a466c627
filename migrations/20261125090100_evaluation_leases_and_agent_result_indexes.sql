-- migrate:lint-ignore constraint-missing-not-valid evaluations and agent_results held no production data when this shipped; on loaded tables these block writes (11.2 s and 10.9 s measured at scale 1), so new ones use CONCURRENTLY / NOT VALID
-- migrate:lint-ignore require-concurrent-index-creation evaluations and agent_results held no production data when this shipped; on loaded tables these block writes (11.2 s and 10.9 s measured at scale 1), so new ones use CONCURRENTLY / NOT VALID
-- migrate:up

-- Leases for the evaluation work queue, and the indexes behind the evaluation and agent-result
-- repositories (src/repositories/evaluations.ts, agent-results.ts). Builds on 20261124120100.
-- The tables hold little data at this point of the schema's life, so plain (non-CONCURRENTLY)
-- index builds inside the migration's transaction are fine.

-- evaluations ----------------------------------------------------------------------------------

-- A worker claims an evaluation for a limited time (claimNext); if it dies, the lease runs out
-- and another worker may claim the evaluation again.
ALTER TABLE evaluations
  ADD COLUMN claimed_by       text,
  ADD COLUMN lease_expires_at timestamptz;

COMMENT ON COLUMN evaluations.claimed_by IS 'The worker that claimed the run (set while analyzing, kept afterwards as a record; NULL while pending).';
COMMENT ON COLUMN evaluations.lease_expires_at IS 'Until when the claim holds; set exactly while analyzing. An expired lease may be claimed again.';

-- Runs already analyzing have no holder we know of: give them an expired lease so that the next
-- claimNext picks them up instead of leaving them stuck.
-- migrate:lint-ignore backfill-without-batch-bound touches only runs in flight (status analyzing), a handful of rows, and must commit with the new CHECKs that require a lease
UPDATE evaluations SET claimed_by = 'unknown (claimed before leases)', lease_expires_at = now()
 WHERE status = 'analyzing';

-- Named status_* so that they sort after evaluations_started_at_required_check: PostgreSQL
-- reports the first failing CHECK by name, and a missing started_at is the more useful message.
ALTER TABLE evaluations
  ADD CONSTRAINT evaluations_claimed_by_format_check
    CHECK (char_length(btrim(claimed_by)) >= 1 AND char_length(claimed_by) <= 200),
  ADD CONSTRAINT evaluations_status_lease_check
    CHECK ((status = 'analyzing') = (lease_expires_at IS NOT NULL)),
  ADD CONSTRAINT evaluations_status_claimed_by_check
    CHECK (CASE status WHEN 'pending' THEN claimed_by IS NULL WHEN 'analyzing' THEN claimed_by IS NOT NULL ELSE true END);

-- claimNext, expired leases: WHERE status = 'analyzing' AND lease_expires_at < $now
-- ORDER BY lease_expires_at, id LIMIT 1 FOR UPDATE SKIP LOCKED. Pending work is served by
-- evaluations_pending_queue_idx; this one holds only the in-flight runs (about one per worker).
CREATE INDEX evaluations_lease_expires_at_idx ON evaluations (lease_expires_at, id)
  WHERE status = 'analyzing';
-- listEvaluationsByStatus: WHERE status = $1 [AND (created_at, id) < ($2, $3)] ORDER BY created_at DESC, id DESC.
CREATE INDEX evaluations_status_created_at_idx ON evaluations (status, created_at DESC, id DESC);

-- agent_results --------------------------------------------------------------------------------

-- findAgentResultsByInsights: WHERE insights @> $1 (jsonb_path_ops: smaller and faster than the
-- default opclass for containment, which is the only operator these queries use).
CREATE INDEX agent_results_insights_idx ON agent_results USING gin (insights jsonb_path_ops);
-- findAgentResultsByOutput: WHERE output_data @? $1::jsonpath (a key path with an equality
-- filter, e.g. $."details"."currency" ? (@ == "USD")); jsonb_path_ops serves @? and @>.
CREATE INDEX agent_results_output_data_idx ON agent_results USING gin (output_data jsonb_path_ops);

-- migrate:down

DROP INDEX agent_results_output_data_idx;
DROP INDEX agent_results_insights_idx;
DROP INDEX evaluations_status_created_at_idx;
DROP INDEX evaluations_lease_expires_at_idx;
ALTER TABLE evaluations
  DROP CONSTRAINT evaluations_status_claimed_by_check,
  DROP CONSTRAINT evaluations_status_lease_check,
  DROP CONSTRAINT evaluations_claimed_by_format_check,
  DROP COLUMN lease_expires_at,
  DROP COLUMN claimed_by;
