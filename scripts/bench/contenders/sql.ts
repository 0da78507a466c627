/**
 * The hand-written SQL of the raw node-postgres contenders: the statements the repository issues
 * (test/unit/__sql__/*.sql), written out once, with the columns aliased to camelCase so that the
 * rows are the same objects the repository returns. pgbench and Prisma's raw claim reuse them.
 */

/** What businessIdeas reads return. */
export const IDEA_COLUMNS = `id, user_id AS "userId", title, description, status, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Every column of evaluations (the repository's `returning *`, camelCased). */
export const EVALUATION_COLUMNS = `id, business_idea_id AS "businessIdeaId", status, priority, started_at AS "startedAt",
  completed_at AS "completedAt", results, error_message AS "errorMessage", created_at AS "createdAt", updated_at AS "updatedAt",
  claimed_by AS "claimedBy", lease_expires_at AS "leaseExpiresAt", idempotency_key AS "idempotencyKey", attempt, failures,
  max_attempts AS "maxAttempts", run_after AS "runAfter"`;

/** Every column of agent_results (the repository's `returning *`, camelCased). */
export const AGENT_RESULT_COLUMNS = `id, evaluation_id AS "evaluationId", agent_type AS "agentType", status, input_data AS "inputData",
  output_data AS "outputData", insights, score, started_at AS "startedAt", completed_at AS "completedAt",
  error_message AS "errorMessage", created_at AS "createdAt", updated_at AS "updatedAt", completion_key AS "completionKey", attempt`;

export const GET_IDEA = `SELECT ${IDEA_COLUMNS} FROM business_ideas WHERE id = $1 AND deleted_at IS NULL`;

const LIST_IDEAS_HEAD = `SELECT ${IDEA_COLUMNS},
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorCreatedAt"
  FROM business_ideas WHERE user_id = $1 AND deleted_at IS NULL`;

/** A user's ideas, newest first: $1 user, $2 limit (one more than the page). */
export const LIST_IDEAS = `${LIST_IDEAS_HEAD} ORDER BY created_at DESC, id DESC LIMIT $2`;

/** The same after a cursor: $1 user, $2 cursor created_at, $3 cursor id, $4 limit. */
export const LIST_IDEAS_AFTER = `${LIST_IDEAS_HEAD} AND (created_at, id) < ($2::timestamptz, $3::uuid) ORDER BY created_at DESC, id DESC LIMIT $4`;

/** A draft idea for a live user, in one statement: $1 title, $2 description, $3 user. */
export const CREATE_IDEA = `INSERT INTO business_ideas (user_id, title, description)
  SELECT users.id, $1::text, $2::text FROM users WHERE users.id = $3 AND users.deleted_at IS NULL
  RETURNING ${IDEA_COLUMNS}`;

/** $1 evaluation, $2 agent types, $3 input data (one JSON text for all). */
export const CREATE_AGENT_RUNS = `INSERT INTO agent_results (evaluation_id, agent_type, input_data)
  SELECT $1, agent_type, $3::jsonb FROM unnest($2::text[]) AS agent_type
  RETURNING ${AGENT_RESULT_COLUMNS}`;

export const START_AGENT_RUN = `UPDATE agent_results SET status = 'running', started_at = now()
  WHERE id = $1 AND status = 'pending' RETURNING ${AGENT_RESULT_COLUMNS}`;

/** $1 output, $2 insights, $3 score, $4 id. */
export const COMPLETE_AGENT_RUN = `UPDATE agent_results SET status = 'completed', output_data = $1, insights = $2, score = $3, completed_at = now()
  WHERE id = $4 AND status = 'running' RETURNING ${AGENT_RESULT_COLUMNS}`;

/** The repository's scoreSummary: per agent type and overall (GROUPING SETS), and whether the evaluation exists. */
export const SCORE_SUMMARY = `SELECT agent_type AS "agentType", grouping(agent_type) = 1 AS "isOverall", count(*) AS runs, count(score) AS scored,
  round(avg(score), 2) AS average, min(score) AS min, max(score) AS max,
  EXISTS (SELECT evaluations.id FROM evaluations WHERE evaluations.id = $1) AS "evaluationExists"
  FROM agent_results WHERE evaluation_id = $1
  GROUP BY GROUPING SETS ((agent_type), ()) ORDER BY grouping(agent_type), agent_type`;

/**
 * The next run for $1 (worker) with a lease of $2 seconds, a new attempt: the oldest expired lease
 * with retry budget left, else the due pending run of the highest priority, locked with SKIP
 * LOCKED. The UPDATE alone: Prisma's claim runs it in a transaction and moves the idea with a
 * second statement.
 */
const CLAIM = `UPDATE evaluations SET status = 'analyzing', started_at = now(), claimed_by = $1,
    lease_expires_at = statement_timestamp() + make_interval(secs => $2),
    attempt = attempt + 1, failures = failures + (status = 'analyzing')::int
  WHERE id = (SELECT coalesce(
    (SELECT id FROM evaluations WHERE status = 'analyzing' AND lease_expires_at < statement_timestamp() AND failures + 1 < max_attempts
      ORDER BY lease_expires_at, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED),
    (SELECT id FROM evaluations WHERE status = 'pending' AND run_after <= statement_timestamp()
      ORDER BY priority DESC, run_after, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED)))`;

export const CLAIM_NEXT_UPDATE = `${CLAIM}
  RETURNING ${EVALUATION_COLUMNS}`;

/**
 * The repository's claimNext: the same UPDATE, runs whose lease expired for the last time
 * dead-lettered, and the idea following (submitted -> evaluating), in data-modifying CTEs of the
 * same statement. $1 worker, $2 lease seconds.
 */
export const CLAIM_NEXT = `WITH buried AS (UPDATE evaluations SET status = 'dead', failures = failures + 1, lease_expires_at = NULL,
    completed_at = now(), error_message = format('the lease of attempt %s (%s) expired; %s of %s attempts failed', attempt, claimed_by, failures + 1, max_attempts)
  WHERE id = any(array(SELECT id FROM evaluations WHERE status = 'analyzing' AND lease_expires_at < statement_timestamp()
    AND failures + 1 >= max_attempts ORDER BY lease_expires_at, id LIMIT 10 FOR NO KEY UPDATE SKIP LOCKED)) RETURNING evaluations.id),
  claimed AS (${CLAIM}
  RETURNING *),
  idea AS (UPDATE business_ideas SET status = 'evaluating'
    WHERE id = (SELECT business_idea_id FROM claimed) AND status = 'submitted' AND deleted_at IS NULL RETURNING business_ideas.id)
  SELECT ${EVALUATION_COLUMNS} FROM claimed`;

/**
 * The repository's completeEvaluation, the idea following (evaluating -> completed) in the same
 * statement: $1 results, $2 id, $3 worker, $4 attempt (the fencing token).
 */
export const COMPLETE_EVALUATION = `WITH completed AS (UPDATE evaluations
    SET status = 'completed', results = $1, completed_at = now(), lease_expires_at = NULL, error_message = NULL
  WHERE id = $2 AND status = 'analyzing' AND claimed_by = $3 AND attempt = $4 RETURNING *),
  idea AS (UPDATE business_ideas SET status = 'completed'
    WHERE id = (SELECT business_idea_id FROM completed) AND status = 'evaluating' AND deleted_at IS NULL RETURNING business_ideas.id)
  SELECT ${EVALUATION_COLUMNS} FROM completed`;

/** The idea follows its evaluation one step, as a statement of its own (Prisma): $1 to, $2 idea, $3 from. */
export const FOLLOW_IDEA = `UPDATE business_ideas SET status = $1 WHERE id = $2 AND status = $3 AND deleted_at IS NULL`;

/** createEvaluation: a pending run of a live, evaluable idea (the repository's check and insert in one statement). */
export const ENQUEUE = `INSERT INTO evaluations (business_idea_id, priority)
  SELECT id, 'normal' FROM business_ideas WHERE id = $1 AND deleted_at IS NULL AND status IN ('submitted', 'evaluating', 'completed')
  RETURNING id`;
