-- migrate:up transaction:false

-- Index maintenance that pays for itself (issue 11, item 5): the three indexes behind the agent
-- result searches only ever serve rows with a payload, so they now hold only those. An agent run
-- is written two or three times before it has output (created pending or running, started) and
-- each of those row versions used to add a NULL entry to both GIN indexes and an entry to the
-- newest-first index; a run now enters them once, when it completes. The searches need no change:
-- `insights @> $1` and `output_data @? $1` are strict operators, so the planner proves
-- `insights IS NOT NULL` (resp. `output_data IS NOT NULL`) from the query itself, under a custom
-- and a generic plan alike (test/integration/plans.load.test.ts checks both), and the smaller
-- indexes are cheaper to read too.
-- Built concurrently under a temporary name, the old index dropped concurrently, the new one
-- renamed to the old name (ShareUpdateExclusive on the index): writes go on throughout, and every
-- statement is safe to run again if the run is interrupted.

-- findAgentResultsByInsights: WHERE insights @> $1.
CREATE INDEX CONCURRENTLY IF NOT EXISTS agent_results_insights_partial_idx
  ON agent_results USING gin (insights jsonb_path_ops) WHERE insights IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS agent_results_insights_idx;
ALTER INDEX IF EXISTS agent_results_insights_partial_idx RENAME TO agent_results_insights_idx;

-- findAgentResultsByOutput: WHERE output_data @? $1::jsonpath.
CREATE INDEX CONCURRENTLY IF NOT EXISTS agent_results_output_data_partial_idx
  ON agent_results USING gin (output_data jsonb_path_ops) WHERE output_data IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS agent_results_output_data_idx;
ALTER INDEX IF EXISTS agent_results_output_data_partial_idx RENAME TO agent_results_output_data_idx;

-- Both searches' newest-first pages (20261201120000): either condition proves the predicate.
CREATE INDEX CONCURRENTLY IF NOT EXISTS agent_results_created_at_id_partial_idx
  ON agent_results (created_at DESC, id DESC) WHERE insights IS NOT NULL OR output_data IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS agent_results_created_at_id_idx;
ALTER INDEX IF EXISTS agent_results_created_at_id_partial_idx RENAME TO agent_results_created_at_id_idx;

-- migrate:down transaction:false

-- The indexes as 20261125090100 and 20261201120000 made them, the same way round.
CREATE INDEX CONCURRENTLY IF NOT EXISTS agent_results_created_at_id_full_idx ON agent_results (created_at DESC, id DESC);
DROP INDEX CONCURRENTLY IF EXISTS agent_results_created_at_id_idx;
ALTER INDEX IF EXISTS agent_results_created_at_id_full_idx RENAME TO agent_results_created_at_id_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS agent_results_output_data_full_idx ON agent_results USING gin (output_data jsonb_path_ops);
DROP INDEX CONCURRENTLY IF EXISTS agent_results_output_data_idx;
ALTER INDEX IF EXISTS agent_results_output_data_full_idx RENAME TO agent_results_output_data_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS agent_results_insights_full_idx ON agent_results USING gin (insights jsonb_path_ops);
DROP INDEX CONCURRENTLY IF EXISTS agent_results_insights_idx;
ALTER INDEX IF EXISTS agent_results_insights_full_idx RENAME TO agent_results_insights_idx;
