-- migrate:up transaction:false

-- claimNext, pending work: WHERE status = 'pending' AND run_after <= $now ORDER BY priority DESC,
-- run_after, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED. A run backing off sits behind the due runs
-- of its priority, so the scan reaches it only when nothing of that priority is due.
-- Built concurrently under a temporary name, the old index (priority DESC, created_at, id) dropped
-- concurrently, the new one renamed to the old name: writes go on throughout, and every statement
-- is safe to run again if the run is interrupted.
CREATE INDEX CONCURRENTLY IF NOT EXISTS evaluations_pending_due_idx ON evaluations (priority DESC, run_after, id)
  WHERE status = 'pending';
DROP INDEX CONCURRENTLY IF EXISTS evaluations_pending_queue_idx;
ALTER INDEX IF EXISTS evaluations_pending_due_idx RENAME TO evaluations_pending_queue_idx;

-- migrate:down transaction:false

-- The index as 20261124120100 made it, the same way round.
CREATE INDEX CONCURRENTLY IF NOT EXISTS evaluations_pending_created_idx ON evaluations (priority DESC, created_at, id)
  WHERE status = 'pending';
DROP INDEX CONCURRENTLY IF EXISTS evaluations_pending_queue_idx;
ALTER INDEX IF EXISTS evaluations_pending_created_idx RENAME TO evaluations_pending_queue_idx;
