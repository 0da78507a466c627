-- migrate:up

-- The checks 20261203090100 added NOT VALID, validated against the existing rows. VALIDATE
-- CONSTRAINT takes a SHARE UPDATE EXCLUSIVE lock: reads and writes go on while it scans.
ALTER TABLE evaluations VALIDATE CONSTRAINT evaluations_attempt_failures_check;
ALTER TABLE evaluations VALIDATE CONSTRAINT evaluations_max_attempts_range_check;
ALTER TABLE evaluations VALIDATE CONSTRAINT evaluations_completed_at_matches_status_check;

-- migrate:down

-- The checks as 20261203090100 left them: the same definitions, NOT VALID (a check cannot be
-- un-validated in place, so each is dropped and added again).
ALTER TABLE evaluations
  DROP CONSTRAINT evaluations_attempt_failures_check,
  ADD CONSTRAINT evaluations_attempt_failures_check CHECK (attempt >= 0 AND failures >= 0) NOT VALID,
  DROP CONSTRAINT evaluations_max_attempts_range_check,
  ADD CONSTRAINT evaluations_max_attempts_range_check CHECK (max_attempts BETWEEN 1 AND 100) NOT VALID,
  DROP CONSTRAINT evaluations_completed_at_matches_status_check,
  ADD CONSTRAINT evaluations_completed_at_matches_status_check
    CHECK ((status IN ('completed', 'failed', 'dead')) = (completed_at IS NOT NULL)) NOT VALID;
