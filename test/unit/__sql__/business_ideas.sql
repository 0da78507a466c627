-- createIdea
insert into "business_ideas" ("user_id", "title", "description") select "users"."id", $1::text as "title", $2::text as "description" from "users" where "users"."id" = $3 and "users"."deleted_at" is null returning "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at";

-- createIdea (idempotency key; then, when nothing was inserted, the first idea)
insert into "business_ideas" ("user_id", "title", "description", "idempotency_key") select "users"."id", $1::text as "title", $2::text as "description", $3::text as "idempotency_key" from "users" where "users"."id" = $4 and "users"."deleted_at" is null on conflict ("user_id", "idempotency_key") where "idempotency_key" is not null do nothing returning "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at";
select "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at", "business_ideas"."deleted_at" from "business_ideas" where "business_ideas"."user_id" = $1 and "business_ideas"."idempotency_key" = $2;

-- createIdea (invalid input)
-- (no query: rejected before the database)

-- getIdea
select "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at" from "business_ideas" where "business_ideas"."id" = $1 and "business_ideas"."deleted_at" is null;

-- listIdeasByUser
select "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at", to_char("business_ideas"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "business_ideas" where "business_ideas"."user_id" = $1 and "business_ideas"."deleted_at" is null order by "business_ideas"."created_at" desc, "business_ideas"."id" desc limit $2;

-- listIdeasByUser (every filter, cursor)
select "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at", to_char("business_ideas"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "business_ideas" where "business_ideas"."user_id" = $1 and "business_ideas"."deleted_at" is null and "business_ideas"."status" = any($2::idea_status[]) and "business_ideas"."created_at" >= $3 and "business_ideas"."created_at" < $4 and business_idea_search_vector("business_ideas"."title", "business_ideas"."description") @@ websearch_to_tsquery('english', $5) and ("business_ideas"."created_at", "business_ideas"."id") < ($6::timestamptz, $7::uuid) order by "business_ideas"."created_at" desc, "business_ideas"."id" desc limit $8;

-- updateIdeaContent (then, when nothing matched, the status lookup)
update "business_ideas" set "title" = $1 where "business_ideas"."id" = $2 and "business_ideas"."deleted_at" is null and "business_ideas"."status" = $3 returning "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at";
select "business_ideas"."status" from "business_ideas" where "business_ideas"."id" = $1 and "business_ideas"."deleted_at" is null;

-- setIdeaStatus (evaluating, idempotent)
update "business_ideas" set "status" = $1 where "business_ideas"."id" = $2 and "business_ideas"."deleted_at" is null and "business_ideas"."status" = any($3::idea_status[]) returning "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at";
select "business_ideas"."status" from "business_ideas" where "business_ideas"."id" = $1 and "business_ideas"."deleted_at" is null;

-- submitIdea
update "business_ideas" set "status" = $1 where "business_ideas"."id" = $2 and "business_ideas"."deleted_at" is null and "business_ideas"."status" = any($3::idea_status[]) returning "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at";
select "business_ideas"."status" from "business_ideas" where "business_ideas"."id" = $1 and "business_ideas"."deleted_at" is null;

-- startIdeaEvaluation
update "business_ideas" set "status" = $1 where "business_ideas"."id" = $2 and "business_ideas"."deleted_at" is null and "business_ideas"."status" = any($3::idea_status[]) returning "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at";
select "business_ideas"."status" from "business_ideas" where "business_ideas"."id" = $1 and "business_ideas"."deleted_at" is null;

-- completeIdea
update "business_ideas" set "status" = $1 where "business_ideas"."id" = $2 and "business_ideas"."deleted_at" is null and "business_ideas"."status" = any($3::idea_status[]) returning "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at";
select "business_ideas"."status" from "business_ideas" where "business_ideas"."id" = $1 and "business_ideas"."deleted_at" is null;

-- archiveIdea
update "business_ideas" set "status" = $1 where "business_ideas"."id" = $2 and "business_ideas"."deleted_at" is null and "business_ideas"."status" = any($3::idea_status[]) returning "business_ideas"."id", "business_ideas"."user_id", "business_ideas"."title", "business_ideas"."description", "business_ideas"."status", "business_ideas"."created_at", "business_ideas"."updated_at";
select "business_ideas"."status" from "business_ideas" where "business_ideas"."id" = $1 and "business_ideas"."deleted_at" is null;

-- softDeleteIdea
update "business_ideas" set "deleted_at" = now() where "business_ideas"."id" = $1 and "business_ideas"."deleted_at" is null returning "business_ideas"."id";

-- ideaStatsForUser
select "s"."status", count("bi"."id") as "count", round(avg(char_length("bi"."description")), 2) as "average_description_length" from unnest(enum_range(null::idea_status)) as s(status) left join "business_ideas" as "bi" on "bi"."status" = "s"."status" and "bi"."user_id" = $1 and "bi"."deleted_at" is null group by rollup ("s"."status");
