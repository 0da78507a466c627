-- migrate:up transaction:false

-- Indexes for the two newest-first lists that had none, found by test/integration/plans.load.test.ts
-- (EXPLAIN of every repository query on the load set): without them each page sorted the whole
-- table. Built concurrently, as the tables are populated: writes go on meanwhile, and every
-- statement is safe to run again if the run is interrupted.

-- listUsers: [WHERE deleted_at IS NULL] [AND (created_at, id) < ($1, $2)] ORDER BY created_at DESC,
-- id DESC LIMIT n. Not partial: the same list with includeDeleted reads it too (closed accounts are
-- few, so the live list filters them out as it goes).
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created_at_id_idx ON users (created_at DESC, id DESC);

-- findAgentResultsByInsights / findAgentResultsByOutput: WHERE insights @> $1 (or output_data @? $1)
-- [AND (created_at, id) < ($2, $3)] ORDER BY created_at DESC, id DESC LIMIT n. The GIN indexes
-- serve a selective search; a common one (an insight kind, a currency) matches a large share of the
-- rows, and the planner then rightly prefers reading the rows newest first and stopping at the page
-- end to fetching every match and sorting. Without this index that meant a sequential scan and a
-- sort of the whole table, on every page.
CREATE INDEX CONCURRENTLY IF NOT EXISTS agent_results_created_at_id_idx ON agent_results (created_at DESC, id DESC);

-- migrate:down transaction:false

DROP INDEX CONCURRENTLY IF EXISTS agent_results_created_at_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS users_created_at_id_idx;
