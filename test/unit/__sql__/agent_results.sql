-- createAgentRuns (one multi-row insert)
insert into "agent_results" ("evaluation_id", "agent_type", "input_data") values ($1, $2, $3), ($4, $5, $6), ($7, $8, $9) returning *;

-- createAgentRuns (started)
insert into "agent_results" ("evaluation_id", "agent_type", "input_data", "status", "started_at") values ($1, $2, $3, $4, now()), ($5, $6, $7, $8, now()) returning *;

-- createAgentRuns (token: the fence, created or taken over in place, then the attempt-state lookup)
with fence as materialized (
  select e.id, e.attempt from evaluations e
   where e.id = $1 and e.status = 'analyzing' and e.claimed_by = $2 and e.attempt = $3
   for share),
input as (select * from unnest($4::text[], $5::jsonb[]) as i (agent_type, input_data)),
written as (
  insert into agent_results as a (evaluation_id, agent_type, input_data, attempt, status, started_at)
  select f.id, i.agent_type, i.input_data, f.attempt, $6::agent_result_status, case when $7::boolean then now() end
    from fence f cross join input i
  on conflict (evaluation_id, agent_type) do update
    set attempt = excluded.attempt, status = excluded.status, input_data = excluded.input_data, started_at = excluded.started_at,
        output_data = null, insights = null, score = null, error_message = null, completed_at = null, completion_key = null
    where a.attempt < excluded.attempt and (a.status <> 'completed' or $8::boolean)
  returning a.*)
select w.*, true as taken from written w
union all
select a.*, false from agent_results a join input i on i.agent_type = a.agent_type
 where a.evaluation_id = (select f.id from fence f) and a.id not in (select w.id from written w);
select * from evaluation_attempt_state($1) as "state";

-- createAgentRuns (invalid input)
-- (no query: rejected before the database)

-- getAgentResult
select * from "agent_results" where "id" = $1;

-- listAgentResults
select * from "agent_results" where "evaluation_id" = $1 order by "agent_type" limit $2;

-- listAgentResults (cursor)
select * from "agent_results" where "evaluation_id" = $1 and "agent_type" > $2 order by "agent_type" limit $3;

-- startAgentRun (then, when nothing matched, the status lookup)
update "agent_results" set "status" = $1, "started_at" = now() where "id" = $2 and "status" = $3 returning *;
select "status" from "agent_results" where "id" = $1;

-- startAgentRun (token: fenced in the statement; then the attempt-state lookup)
update "agent_results" set "status" = $1, "started_at" = now() where "id" = $2 and "status" = $3 and ("agent_results"."attempt" = $4 and exists (select 1 as "current" from "evaluations" where "evaluations"."id" = "agent_results"."evaluation_id" and "evaluations"."status" = 'analyzing' and "evaluations"."claimed_by" = $5 and "evaluations"."attempt" = $6 for share)) returning *;
select * from agent_run_attempt_state($1) as "state";

-- completeAgentRun (token)
update "agent_results" set "status" = $1, "output_data" = $2, "insights" = $3, "score" = $4, "completed_at" = now() where "id" = $5 and "status" = $6 and ("agent_results"."attempt" = $7 and exists (select 1 as "current" from "evaluations" where "evaluations"."id" = "agent_results"."evaluation_id" and "evaluations"."status" = 'analyzing' and "evaluations"."claimed_by" = $8 and "evaluations"."attempt" = $9 for share)) returning *;
select * from agent_run_attempt_state($1) as "state";

-- completeAgentRuns (token)
with input as (select * from unnest($1::uuid[], $2::jsonb[], $3::jsonb[], $4::numeric[], $5::text[]) as i (id, output_data, insights, score, completion_key)),
running as materialized (select a.id from agent_results a join input i on i.id = a.id where a.status = 'running' and a.attempt = $6 and exists (select from evaluations e where e.id = a.evaluation_id and e.status = 'analyzing' and e.claimed_by = $7 and e.attempt = $8 for share) order by a.id for no key update of a)
update agent_results a set status = 'completed', output_data = i.output_data, insights = i.insights, score = i.score,
  completion_key = coalesce(i.completion_key, a.completion_key), completed_at = now()
from input i where a.id = i.id and a.status = 'running' and (select count(*) from running) = (select count(*) from input)
returning a.*;
select a.id, a.status,
  a.completion_key = i.completion_key as same_key,
  a.output_data = i.output_data and a.insights is not distinct from i.insights and a.score is not distinct from i.score as same_result
from unnest($1::uuid[], $2::jsonb[], $3::jsonb[], $4::numeric[], $5::text[]) as i (id, output_data, insights, score, completion_key) join agent_results a on a.id = i.id;
select * from agent_run_attempt_state($1) as "state";
select * from agent_run_attempt_state($1) as "state";

-- failAgentRun (token)
update "agent_results" set "status" = $1, "error_message" = $2, "completed_at" = now() where "id" = $3 and "status" in ($4, $5) and ("agent_results"."attempt" = $6 and exists (select 1 as "current" from "evaluations" where "evaluations"."id" = "agent_results"."evaluation_id" and "evaluations"."status" = 'analyzing' and "evaluations"."claimed_by" = $7 and "evaluations"."attempt" = $8 for share)) returning *;
select * from agent_run_attempt_state($1) as "state";

-- completeAgentRun
update "agent_results" set "status" = $1, "output_data" = $2, "insights" = $3, "score" = $4, "completed_at" = now() where "id" = $5 and "status" = $6 returning *;
select "status" from "agent_results" where "id" = $1;

-- completeAgentRun (idempotency key; then the run the key completed, then the status lookup)
update "agent_results" set "status" = $1, "output_data" = $2, "insights" = $3, "score" = $4, "completed_at" = now(), "completion_key" = $5 where "id" = $6 and "status" = $7 returning *;
select *, output_data = $1::jsonb and insights is not distinct from $2::jsonb and score is not distinct from $3::numeric as "same_result" from "agent_results" where "id" = $4 and "status" = $5 and "completion_key" = $6;
select "status" from "agent_results" where "id" = $1;

-- completeAgentRun (invalid score)
-- (no query: rejected before the database)

-- completeAgentRuns (then, when it wrote nothing, the runs' states, then the status lookup)
with input as (select * from unnest($1::uuid[], $2::jsonb[], $3::jsonb[], $4::numeric[], $5::text[]) as i (id, output_data, insights, score, completion_key)),
running as materialized (select a.id from agent_results a join input i on i.id = a.id where a.status = 'running' order by a.id for no key update of a)
update agent_results a set status = 'completed', output_data = i.output_data, insights = i.insights, score = i.score,
  completion_key = coalesce(i.completion_key, a.completion_key), completed_at = now()
from input i where a.id = i.id and a.status = 'running' and (select count(*) from running) = (select count(*) from input)
returning a.*;
select a.id, a.status,
  a.completion_key = i.completion_key as same_key,
  a.output_data = i.output_data and a.insights is not distinct from i.insights and a.score is not distinct from i.score as same_result
from unnest($1::uuid[], $2::jsonb[], $3::jsonb[], $4::numeric[], $5::text[]) as i (id, output_data, insights, score, completion_key) join agent_results a on a.id = i.id;
select "status" from "agent_results" where "id" = $1;

-- completeAgentRuns (invalid input)
-- (no query: rejected before the database)

-- failAgentRun
update "agent_results" set "status" = $1, "error_message" = $2, "completed_at" = now() where "id" = $3 and "status" in ($4, $5) returning *;
select "status" from "agent_results" where "id" = $1;

-- findAgentResultsByInsights
select *, to_char("agent_results"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "agent_results" where "agent_results"."insights" @> $1::jsonb order by "agent_results"."created_at" desc, "agent_results"."id" desc limit $2;

-- findAgentResultsByInsights (every filter, cursor)
select *, to_char("agent_results"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "agent_results" where "agent_results"."insights" @> $1::jsonb and "evaluation_id" = $2 and "agent_type" = $3 and ("agent_results"."created_at", "agent_results"."id") < ($4::timestamptz, $5::uuid) order by "agent_results"."created_at" desc, "agent_results"."id" desc limit $6;

-- findAgentResultsByOutput
select *, to_char("agent_results"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "agent_results" where "agent_results"."output_data" @? $1::jsonpath order by "agent_results"."created_at" desc, "agent_results"."id" desc limit $2;

-- findAgentResultsByOutput (every filter, cursor)
select *, to_char("agent_results"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "agent_results" where "agent_results"."output_data" @? $1::jsonpath and "evaluation_id" = $2 and "agent_type" = $3 and ("agent_results"."created_at", "agent_results"."id") < ($4::timestamptz, $5::uuid) order by "agent_results"."created_at" desc, "agent_results"."id" desc limit $6;

-- scoreSummary
select "agent_type", grouping("agent_type") = 1 as "is_overall", count(*) as "runs", count("score") as "scored", round(avg("score"), 2) as "average", min("score") as "min", max("score") as "max", exists (select "evaluations"."id" from "evaluations" where "evaluations"."id" = $1) as "evaluation_exists" from "agent_results" where "evaluation_id" = $2 group by grouping sets (("agent_type"), ()) order by grouping("agent_type"), "agent_type";
