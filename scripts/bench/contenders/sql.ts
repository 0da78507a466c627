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

/** A column list with every column qualified by `alias` (for statements that join). */
const qualified = (columns: string, alias: string): string => columns.replace(/(^|, |\n {2})(\w+)/g, `$1${alias}.$2`);

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

/**
 * The repository's createAgentRuns with `{ start: true }` and a worker's token, in one statement:
 * the fence (the evaluation analyzing at the token's attempt and worker, share-locked against a
 * claim), an upsert that creates the runs already running (or takes over an earlier attempt's),
 * and the rows it left alone. $1 evaluation, $2 worker, $3 attempt, $4 agent types, $5 input data
 * (one JSON text per type). Written for this one case, as a hand-writer would: the status, the
 * start time and `rerunCompleted` (false) are literals where the repository binds them.
 */
export const START_AGENT_RUNS = `WITH fence AS MATERIALIZED (
  SELECT e.id, e.attempt FROM evaluations e
   WHERE e.id = $1 AND e.status = 'analyzing' AND e.claimed_by = $2 AND e.attempt = $3 FOR SHARE),
input AS (SELECT * FROM unnest($4::text[], $5::jsonb[]) AS i (agent_type, input_data)),
written AS (
  INSERT INTO agent_results AS a (evaluation_id, agent_type, input_data, attempt, status, started_at)
  SELECT f.id, i.agent_type, i.input_data, f.attempt, 'running', now() FROM fence f CROSS JOIN input i
  ON CONFLICT (evaluation_id, agent_type) DO UPDATE
    SET attempt = excluded.attempt, status = excluded.status, input_data = excluded.input_data, started_at = excluded.started_at,
        output_data = NULL, insights = NULL, score = NULL, error_message = NULL, completed_at = NULL, completion_key = NULL
    WHERE a.attempt < excluded.attempt AND a.status <> 'completed'
  RETURNING a.*)
SELECT ${AGENT_RESULT_COLUMNS} FROM written
UNION ALL
SELECT ${qualified(AGENT_RESULT_COLUMNS, 'a')} FROM agent_results a JOIN input i ON i.agent_type = a.agent_type
 WHERE a.evaluation_id = (SELECT f.id FROM fence f) AND a.id NOT IN (SELECT w.id FROM written w)`;

/**
 * The repository's completeAgentRuns with a worker's token, in one statement, all or none: the
 * runs locked in id order and checked (running, of the token's attempt, its evaluation current),
 * and the update written only when every one of them is. $1 ids, $2 outputs, $3 insights, $4
 * scores, $5 completion keys, $6 attempt, $7 worker.
 */
export const COMPLETE_AGENT_RUNS = `WITH input AS (SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::jsonb[], $4::numeric[], $5::text[])
    AS i (id, output_data, insights, score, completion_key)),
running AS MATERIALIZED (SELECT a.id FROM agent_results a JOIN input i ON i.id = a.id WHERE a.status = 'running'
  AND a.attempt = $6 AND EXISTS (SELECT FROM evaluations e WHERE e.id = a.evaluation_id AND e.status = 'analyzing'
    AND e.claimed_by = $7 AND e.attempt = $6 FOR SHARE)
  ORDER BY a.id FOR NO KEY UPDATE OF a)
UPDATE agent_results a SET status = 'completed', output_data = i.output_data, insights = i.insights, score = i.score,
  completion_key = coalesce(i.completion_key, a.completion_key), completed_at = now()
FROM input i WHERE a.id = i.id AND a.status = 'running' AND (SELECT count(*) FROM running) = (SELECT count(*) FROM input)
RETURNING ${qualified(AGENT_RESULT_COLUMNS, 'a')}`;
