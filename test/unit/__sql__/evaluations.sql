-- createEvaluation
insert into "evaluations" ("business_idea_id", "priority", "max_attempts") select "business_ideas"."id", cast($1 as evaluation_priority) as "priority", $2::int as "max_attempts" from "business_ideas" where "business_ideas"."id" = $3 and "business_ideas"."deleted_at" is null and "business_ideas"."status" in ($4, $5, $6) returning *;
select "status", "deleted_at" from "business_ideas" where "id" = $1;

-- createEvaluation (idempotency key; then the first evaluation, then the idea)
insert into "evaluations" ("business_idea_id", "priority", "max_attempts", "idempotency_key") select "business_ideas"."id", cast($1 as evaluation_priority) as "priority", $2::int as "max_attempts", $3::text as "idempotency_key" from "business_ideas" where "business_ideas"."id" = $4 and "business_ideas"."deleted_at" is null and "business_ideas"."status" in ($5, $6, $7) on conflict ("business_idea_id", "idempotency_key") where "idempotency_key" is not null do nothing returning *;
select * from "evaluations" where "business_idea_id" = $1 and "idempotency_key" = $2;
select "status", "deleted_at" from "business_ideas" where "id" = $1;

-- createEvaluation (invalid input)
-- (no query: rejected before the database)

-- getEvaluation (not found)
select * from "evaluations" where "id" = $1;

-- getEvaluation (found: then its agent results)
select * from "evaluations" where "id" = $1;
select * from "agent_results" where "evaluation_id" = $1 order by "agent_type";

-- listEvaluationsByIdea
select *, to_char("evaluations"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "evaluations" where "business_idea_id" = $1 order by "evaluations"."created_at" desc, "evaluations"."id" desc limit $2;

-- listEvaluationsByIdea (cursor)
select *, to_char("evaluations"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "evaluations" where "business_idea_id" = $1 and ("evaluations"."created_at", "evaluations"."id") < ($2::timestamptz, $3::uuid) order by "evaluations"."created_at" desc, "evaluations"."id" desc limit $4;

-- listEvaluationsByStatus
select *, to_char("evaluations"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "evaluations" where "status" = $1 order by "evaluations"."created_at" desc, "evaluations"."id" desc limit $2;

-- listEvaluationsByStatus (cursor)
select *, to_char("evaluations"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "evaluations" where "status" = $1 and ("evaluations"."created_at", "evaluations"."id") < ($2::timestamptz, $3::uuid) order by "evaluations"."created_at" desc, "evaluations"."id" desc limit $4;

-- claimNext (nothing to claim)
with "buried" as (update "evaluations" set "status" = 'dead', "failures" = failures + 1, "lease_expires_at" = $1, "completed_at" = now(), "error_message" = format('the lease of attempt %s (%s) expired; %s of %s attempts failed', attempt, claimed_by, failures + 1, max_attempts) where "id" = any(array((select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp() and failures + 1 >= max_attempts order by "lease_expires_at", "id" limit 10 for no key update skip locked))) returning "evaluations"."id"), "claimed" as (update "evaluations" set "status" = $2, "started_at" = now(), "claimed_by" = $3, "lease_expires_at" = statement_timestamp() + make_interval(secs => $4), "attempt" = attempt + 1, "failures" = failures + (status = 'analyzing')::int where "id" = (select coalesce((select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp() and failures + 1 < max_attempts order by "lease_expires_at", "id" limit $5 for no key update skip locked), (select "id" from "evaluations" where "status" = 'pending' and "run_after" <= statement_timestamp() order by "priority" desc, "run_after", "id" limit $6 for no key update skip locked))) returning *), "idea" as (update "business_ideas" set "status" = $7 where "id" = (select "claimed"."business_idea_id" from "claimed") and "status" = $8 and "deleted_at" is null returning "business_ideas"."id") select * from "claimed";

-- claimNext (claimed: the idea follows in the same statement)
with "buried" as (update "evaluations" set "status" = 'dead', "failures" = failures + 1, "lease_expires_at" = $1, "completed_at" = now(), "error_message" = format('the lease of attempt %s (%s) expired; %s of %s attempts failed', attempt, claimed_by, failures + 1, max_attempts) where "id" = any(array((select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp() and failures + 1 >= max_attempts order by "lease_expires_at", "id" limit 10 for no key update skip locked))) returning "evaluations"."id"), "claimed" as (update "evaluations" set "status" = $2, "started_at" = now(), "claimed_by" = $3, "lease_expires_at" = statement_timestamp() + make_interval(secs => $4), "attempt" = attempt + 1, "failures" = failures + (status = 'analyzing')::int where "id" = (select coalesce((select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp() and failures + 1 < max_attempts order by "lease_expires_at", "id" limit $5 for no key update skip locked), (select "id" from "evaluations" where "status" = 'pending' and "run_after" <= statement_timestamp() order by "priority" desc, "run_after", "id" limit $6 for no key update skip locked))) returning *), "idea" as (update "business_ideas" set "status" = $7 where "id" = (select "claimed"."business_idea_id" from "claimed") and "status" = $8 and "deleted_at" is null returning "business_ideas"."id") select * from "claimed";

-- claimNext (inside a caller transaction: no transaction of its own)
begin;
with "buried" as (update "evaluations" set "status" = 'dead', "failures" = failures + 1, "lease_expires_at" = $1, "completed_at" = now(), "error_message" = format('the lease of attempt %s (%s) expired; %s of %s attempts failed', attempt, claimed_by, failures + 1, max_attempts) where "id" = any(array((select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp() and failures + 1 >= max_attempts order by "lease_expires_at", "id" limit 10 for no key update skip locked))) returning "evaluations"."id"), "claimed" as (update "evaluations" set "status" = $2, "started_at" = now(), "claimed_by" = $3, "lease_expires_at" = statement_timestamp() + make_interval(secs => $4), "attempt" = attempt + 1, "failures" = failures + (status = 'analyzing')::int where "id" = (select coalesce((select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp() and failures + 1 < max_attempts order by "lease_expires_at", "id" limit $5 for no key update skip locked), (select "id" from "evaluations" where "status" = 'pending' and "run_after" <= statement_timestamp() order by "priority" desc, "run_after", "id" limit $6 for no key update skip locked))) returning *), "idea" as (update "business_ideas" set "status" = $7 where "id" = (select "claimed"."business_idea_id" from "claimed") and "status" = $8 and "deleted_at" is null returning "business_ideas"."id") select * from "claimed";
commit;

-- renewLease (then, when nothing matched, the attempt-state lookup)
update "evaluations" set "lease_expires_at" = statement_timestamp() + make_interval(secs => $1) where "id" = $2 and "status" = $3 and "claimed_by" = $4 and "attempt" = $5 returning *;
select * from evaluation_attempt_state($1) as "state";

-- releaseLease
update "evaluations" set "status" = $1, "started_at" = $2, "claimed_by" = $3, "lease_expires_at" = $4 where "id" = $5 and "status" = $6 and "claimed_by" = $7 and "attempt" = $8 returning *;
select * from evaluation_attempt_state($1) as "state";

-- completeEvaluation (then, when nothing matched, the status lookup)
with "completed" as (update "evaluations" set "status" = $1, "results" = $2, "completed_at" = now(), "lease_expires_at" = $3, "error_message" = $4 where "id" = $5 and "status" = $6 returning *), "idea" as (update "business_ideas" set "status" = $7 where "id" = (select "completed"."business_idea_id" from "completed") and "status" = $8 and "deleted_at" is null returning "business_ideas"."id") select * from "completed";
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- completeEvaluation (completed: the idea follows in the same statement)
with "completed" as (update "evaluations" set "status" = $1, "results" = $2, "completed_at" = now(), "lease_expires_at" = $3, "error_message" = $4 where "id" = $5 and "status" = $6 returning *), "idea" as (update "business_ideas" set "status" = $7 where "id" = (select "completed"."business_idea_id" from "completed") and "status" = $8 and "deleted_at" is null returning "business_ideas"."id") select * from "completed";

-- completeEvaluation (token: that attempt only)
with "completed" as (update "evaluations" set "status" = $1, "results" = $2, "completed_at" = now(), "lease_expires_at" = $3, "error_message" = $4 where "id" = $5 and "status" = $6 and "claimed_by" = $7 and "attempt" = $8 returning *), "idea" as (update "business_ideas" set "status" = $9 where "id" = (select "completed"."business_idea_id" from "completed") and "status" = $10 and "deleted_at" is null returning "business_ideas"."id") select * from "completed";
select * from evaluation_attempt_state($1) as "state";

-- completeEvaluation (invalid input)
-- (no query: rejected before the database)

-- failEvaluation
update "evaluations" set "status" = $1, "error_message" = $2, "completed_at" = now(), "lease_expires_at" = $3 where "id" = $4 and "status" in ($5, $6) returning *;
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- failEvaluation (token: retried with backoff, or dead-lettered)
update "evaluations" set "status" = case when failures + 1 < max_attempts then 'pending'::evaluation_status else 'dead'::evaluation_status end, "failures" = failures + 1, "error_message" = $1, "claimed_by" = case when failures + 1 < max_attempts then null else claimed_by end, "started_at" = case when failures + 1 < max_attempts then null else started_at end, "lease_expires_at" = $2, "completed_at" = case when failures + 1 < max_attempts then null else now() end, "run_after" = case when failures + 1 < max_attempts then statement_timestamp() + make_interval(secs => least(3600, 10 * power(2, failures)) * (0.5 + random() / 2)) else run_after end where "id" = $3 and "status" = $4 and "claimed_by" = $5 and "attempt" = $6 returning *;
select * from evaluation_attempt_state($1) as "state";

-- retryEvaluation
update "evaluations" set "status" = $1, "started_at" = $2, "completed_at" = $3, "claimed_by" = $4, "lease_expires_at" = $5, "failures" = $6, "max_attempts" = coalesce($7::int, max_attempts), "run_after" = statement_timestamp() where "id" = $8 and "status" in ($9, $10) returning *;
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- retryEvaluation (a new budget)
update "evaluations" set "status" = $1, "started_at" = $2, "completed_at" = $3, "claimed_by" = $4, "lease_expires_at" = $5, "failures" = $6, "max_attempts" = coalesce($7::int, max_attempts), "run_after" = statement_timestamp() where "id" = $8 and "status" in ($9, $10) returning *;
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- nextClaimableIn
select ceil(extract(epoch from (least(
      (select min(lease_expires_at) from evaluations where status = 'analyzing'),
      (select min(run_after) from evaluations where status = 'pending' and run_after > statement_timestamp())
    ) - statement_timestamp())) * 1000)::int8 as "in_ms";
