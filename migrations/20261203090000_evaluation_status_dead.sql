-- migrate:up transaction:false

-- The dead-letter state of the evaluation queue (issue 12, item 3): an evaluation whose attempts
-- ran out (its worker failed it, or its lease expired, max_attempts times) ends as 'dead', apart
-- from 'failed' (ended by an operator), so an operator can list and requeue exactly those.
-- ALTER TYPE ... ADD VALUE may run inside a transaction, but the new label cannot be used before
-- that transaction commits; the next migration (20261203090100) uses it, so this section commits
-- on its own (transaction:false: the statement runs exactly once, with its progress record).
ALTER TYPE evaluation_status ADD VALUE IF NOT EXISTS 'dead';

-- migrate:down

-- PostgreSQL cannot drop an enum label: the type is made again without it. Dead runs become
-- failed first (the nearest state the old type has). Every check, partial index and policy that
-- compares evaluations.status with a label is dropped and made again exactly as the migrations
-- before this one made it (20261124120100, 20261125090100, 20261125110000), since ALTER COLUMN
-- ... TYPE can neither rewrite their literals nor run while a policy uses the column.
UPDATE evaluations SET status = 'failed' WHERE status = 'dead';

DROP POLICY business_ideas_worker ON business_ideas;
DROP POLICY agent_results_worker ON agent_results;
DROP POLICY evaluations_worker_update ON evaluations;
DROP POLICY evaluations_worker_select ON evaluations;
DROP INDEX evaluations_lease_expires_at_idx;
DROP INDEX evaluations_pending_queue_idx;
ALTER TABLE evaluations
  DROP CONSTRAINT evaluations_status_claimed_by_check,
  DROP CONSTRAINT evaluations_status_lease_check,
  DROP CONSTRAINT evaluations_completed_at_matches_status_check,
  DROP CONSTRAINT evaluations_started_at_required_check,
  ALTER COLUMN status DROP DEFAULT;

ALTER TYPE evaluation_status RENAME TO evaluation_status_with_dead;
CREATE TYPE evaluation_status AS ENUM ('pending', 'analyzing', 'completed', 'failed');
ALTER TABLE evaluations
  ALTER COLUMN status TYPE evaluation_status USING status::text::evaluation_status,
  ALTER COLUMN status SET DEFAULT 'pending';
DROP TYPE evaluation_status_with_dead;

ALTER TABLE evaluations
  ADD CONSTRAINT evaluations_started_at_required_check
    CHECK (status NOT IN ('analyzing', 'completed') OR started_at IS NOT NULL),
  ADD CONSTRAINT evaluations_completed_at_matches_status_check
    CHECK ((status IN ('completed', 'failed')) = (completed_at IS NOT NULL)),
  ADD CONSTRAINT evaluations_status_lease_check
    CHECK ((status = 'analyzing') = (lease_expires_at IS NOT NULL)),
  ADD CONSTRAINT evaluations_status_claimed_by_check
    CHECK (CASE status WHEN 'pending' THEN claimed_by IS NULL WHEN 'analyzing' THEN claimed_by IS NOT NULL ELSE true END);
CREATE INDEX evaluations_pending_queue_idx ON evaluations (priority DESC, created_at, id)
  WHERE status = 'pending';
CREATE INDEX evaluations_lease_expires_at_idx ON evaluations (lease_expires_at, id)
  WHERE status = 'analyzing';

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
CREATE POLICY business_ideas_worker ON business_ideas TO ai_validation_worker
  USING (EXISTS (SELECT FROM evaluations e WHERE e.business_idea_id = business_ideas.id
                    AND (e.status IN ('pending', 'analyzing') OR e.completed_at = pg_catalog.now())));
