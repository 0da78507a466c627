-- migrate:up

-- Wake-ups for the evaluation queue (issue 12, item 4): a NOTIFY on the channel
-- ai_validation_evaluation_queue whenever a run becomes claimable by being queued, so that workers
-- listening there (src/queue/worker.ts) claim at once instead of polling. NOTIFY is transactional:
-- it is delivered when the inserting or updating transaction commits, never for a rolled-back one.
-- The payload is the run's priority and nothing else (no ids: a listener may not be allowed to see
-- the row, and the payload limit is 8000 bytes). PostgreSQL folds identical notifications of one
-- transaction into one, so a bulk insert sends at most one per priority.
-- A lease running out makes a run claimable without any statement: workers keep a timer for the
-- next expiry instead (evaluations.nextClaimableIn).

CREATE FUNCTION notify_evaluation_queued() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('ai_validation_evaluation_queue', NEW.priority::text);
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION notify_evaluation_queued() IS 'AFTER row trigger: NOTIFY ai_validation_evaluation_queue with the priority of a run that became pending (delivered at commit).';

-- A new run (createEvaluation inserts pending runs; the WHEN keeps the trigger off other rows).
CREATE TRIGGER evaluations_queued AFTER INSERT ON evaluations
  FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION notify_evaluation_queued();
-- A run pending again: released by its worker (releaseLease), or retried (retryEvaluation).
CREATE TRIGGER evaluations_requeued AFTER UPDATE OF status ON evaluations
  FOR EACH ROW WHEN (NEW.status = 'pending' AND OLD.status <> 'pending') EXECUTE FUNCTION notify_evaluation_queued();

-- migrate:down

DROP TRIGGER evaluations_requeued ON evaluations;
DROP TRIGGER evaluations_queued ON evaluations;
DROP FUNCTION notify_evaluation_queued();
