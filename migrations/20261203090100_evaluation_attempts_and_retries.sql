-- migrate:lint-ignore backfill-without-batch-bound only pending runs are touched, the queue's backlog that workers drain continuously, and evaluations is locked by this file's ADD COLUMN for the same transaction anyway; without it the backlog would lose its order
-- migrate:up

-- Attempts, fencing and retries for the evaluation queue (issue 12, items 1 to 3); the repository
-- side is src/repositories/evaluations.ts and agent-results.ts, the rules docs/library.md.
--
-- attempt        every claim increments it: (id, attempt) is the fencing token a worker's writes
--                carry, and a write whose attempt is no longer the current one (the lease expired
--                and the run was claimed again, it was released, it ended) matches nothing.
-- failures       failed attempts since the run was queued (or last requeued by an operator): a
--                worker's failEvaluation, or a lease that expired.
-- max_attempts   the retry budget: the failure that brings failures to max_attempts dead-letters
--                the run (status 'dead', 20261203090000) instead of queueing it again.
-- run_after      when a pending run may be claimed: now() when queued, later after a failure
--                (exponential backoff with jitter). The queue serves due runs, high priority
--                first, then by run_after.
--
-- ADD COLUMN with constant or now() defaults rewrites nothing. The new CHECKs are added NOT VALID
-- (new and updated rows are checked at once) and validated by 20261203090110 under a weaker lock;
-- the queue's index on run_after is built concurrently by 20261203090120.
ALTER TABLE evaluations
  ADD COLUMN attempt      integer     NOT NULL DEFAULT 0,
  ADD COLUMN failures     integer     NOT NULL DEFAULT 0,
  ADD COLUMN max_attempts integer     NOT NULL DEFAULT 5,
  ADD COLUMN run_after    timestamptz NOT NULL DEFAULT now();

-- The pending queue keeps its order: a queued run is due from when it was created.
UPDATE evaluations SET run_after = created_at WHERE status = 'pending';

COMMENT ON COLUMN evaluations.attempt IS 'The number of the current (or last) claim: 0 until first claimed, incremented by every claim. (id, attempt) is the fencing token of the worker holding the run.';
COMMENT ON COLUMN evaluations.failures IS 'Failed attempts (failed by the worker, or lease expired) since the run was queued or last requeued by an operator.';
COMMENT ON COLUMN evaluations.max_attempts IS 'Retry budget: the failure that brings failures to max_attempts dead-letters the run (status dead). createEvaluation sets it per priority unless given.';
COMMENT ON COLUMN evaluations.run_after IS 'When a pending run may be claimed: when it was queued, or after a failure now plus an exponential backoff with jitter.';

ALTER TABLE evaluations
  ADD CONSTRAINT evaluations_attempt_failures_check CHECK (attempt >= 0 AND failures >= 0) NOT VALID,
  ADD CONSTRAINT evaluations_max_attempts_range_check CHECK (max_attempts BETWEEN 1 AND 100) NOT VALID,
  -- A dead run has ended, like a completed or failed one.
  DROP CONSTRAINT evaluations_completed_at_matches_status_check,
  ADD CONSTRAINT evaluations_completed_at_matches_status_check
    CHECK ((status IN ('completed', 'failed', 'dead')) = (completed_at IS NOT NULL)) NOT VALID;

-- Who may retry, explicitly: a worker moves only runs in flight (USING: pending or analyzing), and
-- may leave them in flight (claim, renew, release, and the retry of its own failed attempt, which
-- goes back to pending with a later run_after) or end them as completed or dead in this very
-- transaction. It can neither end a run as failed (an operator's decision) nor see, let alone
-- requeue, a failed or dead run: requeueing is the owner's (retryEvaluation) or, for their own
-- ideas, the application's.
DROP POLICY evaluations_worker_update ON evaluations;
CREATE POLICY evaluations_worker_update ON evaluations FOR UPDATE TO ai_validation_worker
  USING (status IN ('pending', 'analyzing'))
  WITH CHECK (status IN ('pending', 'analyzing') OR (status IN ('completed', 'dead') AND completed_at = pg_catalog.now()));

-- The agent run's attempt: the evaluation attempt that created it or last took it over. A worker's
-- write to a run requires the run's attempt, the evaluation's attempt and the evaluation's holder
-- to be its own, in the same statement. A new attempt takes over the runs of earlier ones in place
-- (one row per agent type stays the rule; the audit log keeps what the row held before).
ALTER TABLE agent_results
  ADD COLUMN attempt integer NOT NULL DEFAULT 0 CONSTRAINT agent_results_attempt_check CHECK (attempt >= 0);

COMMENT ON COLUMN agent_results.attempt IS 'The evaluation attempt that created the run or last took it over (reset in place); worker writes must carry it.';

-- Why a fenced write matched nothing, for the worker whose attempt ended: row-level security hides
-- an ended run from the worker role, so these read past it, returning only the queue state
-- (statuses, attempts, holder) of the one row asked for. Called by the repositories only after a
-- write carrying a fencing token matched nothing.
CREATE FUNCTION evaluation_attempt_state(evaluation_id uuid)
RETURNS TABLE (status evaluation_status, attempt integer, claimed_by text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT e.status, e.attempt, e.claimed_by FROM public.evaluations e WHERE e.id = evaluation_attempt_state.evaluation_id
$$;

CREATE FUNCTION agent_run_attempt_state(agent_result_id uuid)
RETURNS TABLE (status agent_result_status, attempt integer, evaluation_id uuid, evaluation_status evaluation_status,
               evaluation_attempt integer, claimed_by text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT a.status, a.attempt, a.evaluation_id, e.status, e.attempt, e.claimed_by
    FROM public.agent_results a JOIN public.evaluations e ON e.id = a.evaluation_id
   WHERE a.id = agent_run_attempt_state.agent_result_id
$$;

COMMENT ON FUNCTION evaluation_attempt_state(uuid) IS 'Queue state (status, attempt, holder) of one evaluation, past row-level security: why a fenced worker write matched nothing.';
COMMENT ON FUNCTION agent_run_attempt_state(uuid) IS 'Attempt state of one agent run and its evaluation, past row-level security: why a fenced worker write matched nothing.';

REVOKE EXECUTE ON FUNCTION evaluation_attempt_state(uuid), agent_run_attempt_state(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION evaluation_attempt_state(uuid), agent_run_attempt_state(uuid) TO ai_validation_worker;

-- migrate:down

DROP FUNCTION agent_run_attempt_state(uuid);
DROP FUNCTION evaluation_attempt_state(uuid);

ALTER TABLE agent_results DROP COLUMN attempt;

DROP POLICY evaluations_worker_update ON evaluations;
CREATE POLICY evaluations_worker_update ON evaluations FOR UPDATE TO ai_validation_worker
  USING (status IN ('pending', 'analyzing'))
  WITH CHECK (status IN ('pending', 'analyzing') OR completed_at = pg_catalog.now());

-- Dead runs become failed (20261203090000's down removes the label), so the old check holds.
UPDATE evaluations SET status = 'failed' WHERE status = 'dead';
ALTER TABLE evaluations
  DROP CONSTRAINT evaluations_completed_at_matches_status_check,
  ADD CONSTRAINT evaluations_completed_at_matches_status_check
    CHECK ((status IN ('completed', 'failed')) = (completed_at IS NOT NULL)),
  DROP CONSTRAINT evaluations_max_attempts_range_check,
  DROP CONSTRAINT evaluations_attempt_failures_check,
  DROP COLUMN run_after,
  DROP COLUMN max_attempts,
  DROP COLUMN failures,
  DROP COLUMN attempt;
