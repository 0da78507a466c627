-- createEvaluation
insert into "evaluations" ("business_idea_id", "priority") select "business_ideas"."id", cast($1 as evaluation_priority) as "priority" from "business_ideas" where "business_ideas"."id" = $2 and "business_ideas"."deleted_at" is null and "business_ideas"."status" in ($3, $4, $5) returning *;
select "status", "deleted_at" from "business_ideas" where "id" = $1;

-- createEvaluation (idempotency key; then the first evaluation, then the idea)
insert into "evaluations" ("business_idea_id", "priority", "idempotency_key") select "business_ideas"."id", cast($1 as evaluation_priority) as "priority", $2::text as "idempotency_key" from "business_ideas" where "business_ideas"."id" = $3 and "business_ideas"."deleted_at" is null and "business_ideas"."status" in ($4, $5, $6) on conflict ("business_idea_id", "idempotency_key") where "idempotency_key" is not null do nothing returning *;
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
with "claimed" as (update "evaluations" set "status" = $1, "started_at" = now(), "claimed_by" = $2, "lease_expires_at" = statement_timestamp() + make_interval(secs => $3) where "id" = (select coalesce((select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp() order by "lease_expires_at", "id" limit $4 for no key update skip locked), (select "id" from "evaluations" where "status" = 'pending' order by "priority" desc, "created_at", "id" limit $5 for no key update skip locked))) returning *), "idea" as (update "business_ideas" set "status" = $6 where "id" = (select "claimed"."business_idea_id" from "claimed") and "status" = $7 and "deleted_at" is null returning "business_ideas"."id") select * from "claimed";

-- claimNext (claimed: the idea follows in the same statement)
with "claimed" as (update "evaluations" set "status" = $1, "started_at" = now(), "claimed_by" = $2, "lease_expires_at" = statement_timestamp() + make_interval(secs => $3) where "id" = (select coalesce((select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp() order by "lease_expires_at", "id" limit $4 for no key update skip locked), (select "id" from "evaluations" where "status" = 'pending' order by "priority" desc, "created_at", "id" limit $5 for no key update skip locked))) returning *), "idea" as (update "business_ideas" set "status" = $6 where "id" = (select "claimed"."business_idea_id" from "claimed") and "status" = $7 and "deleted_at" is null returning "business_ideas"."id") select * from "claimed";

-- claimNext (inside a caller transaction: no transaction of its own)
begin;
with "claimed" as (update "evaluations" set "status" = $1, "started_at" = now(), "claimed_by" = $2, "lease_expires_at" = statement_timestamp() + make_interval(secs => $3) where "id" = (select coalesce((select "id" from "evaluations" where "status" = 'analyzing' and "lease_expires_at" < statement_timestamp() order by "lease_expires_at", "id" limit $4 for no key update skip locked), (select "id" from "evaluations" where "status" = 'pending' order by "priority" desc, "created_at", "id" limit $5 for no key update skip locked))) returning *), "idea" as (update "business_ideas" set "status" = $6 where "id" = (select "claimed"."business_idea_id" from "claimed") and "status" = $7 and "deleted_at" is null returning "business_ideas"."id") select * from "claimed";
commit;

-- renewLease (then, when nothing matched, the status lookup)
update "evaluations" set "lease_expires_at" = statement_timestamp() + make_interval(secs => $1) where "id" = $2 and "status" = $3 and "claimed_by" = $4 returning *;
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- releaseLease
update "evaluations" set "status" = $1, "started_at" = $2, "claimed_by" = $3, "lease_expires_at" = $4 where "id" = $5 and "status" = $6 and "claimed_by" = $7 returning *;
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- completeEvaluation (then, when nothing matched, the status lookup)
with "completed" as (update "evaluations" set "status" = $1, "results" = $2, "completed_at" = now(), "lease_expires_at" = $3, "error_message" = $4 where "id" = $5 and "status" = $6 returning *), "idea" as (update "business_ideas" set "status" = $7 where "id" = (select "completed"."business_idea_id" from "completed") and "status" = $8 and "deleted_at" is null returning "business_ideas"."id") select * from "completed";
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- completeEvaluation (completed: the idea follows in the same statement)
with "completed" as (update "evaluations" set "status" = $1, "results" = $2, "completed_at" = now(), "lease_expires_at" = $3, "error_message" = $4 where "id" = $5 and "status" = $6 returning *), "idea" as (update "business_ideas" set "status" = $7 where "id" = (select "completed"."business_idea_id" from "completed") and "status" = $8 and "deleted_at" is null returning "business_ideas"."id") select * from "completed";

-- completeEvaluation (lease holder only)
with "completed" as (update "evaluations" set "status" = $1, "results" = $2, "completed_at" = now(), "lease_expires_at" = $3, "error_message" = $4 where "id" = $5 and "status" = $6 and "claimed_by" = $7 returning *), "idea" as (update "business_ideas" set "status" = $8 where "id" = (select "completed"."business_idea_id" from "completed") and "status" = $9 and "deleted_at" is null returning "business_ideas"."id") select * from "completed";
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- completeEvaluation (invalid input)
-- (no query: rejected before the database)

-- failEvaluation
update "evaluations" set "status" = $1, "error_message" = $2, "completed_at" = now(), "lease_expires_at" = $3 where "id" = $4 and "status" in ($5, $6) returning *;
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- failEvaluation (lease holder only)
update "evaluations" set "status" = $1, "error_message" = $2, "completed_at" = now(), "lease_expires_at" = $3 where "id" = $4 and "status" in ($5) and "claimed_by" = $6 returning *;
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- retryEvaluation
update "evaluations" set "status" = $1, "started_at" = $2, "completed_at" = $3, "claimed_by" = $4, "lease_expires_at" = $5 where "id" = $6 and "status" = $7 returning *;
select "status", "claimed_by" from "evaluations" where "id" = $1;

-- nextClaimableIn
select ceil(extract(epoch from (min(lease_expires_at) - statement_timestamp())) * 1000)::int8 as "in_ms" from "evaluations" where "status" = 'analyzing';
