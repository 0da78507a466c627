-- createUser
insert into "users" ("email", "name", "password_hash") values ($1, $2, $3) returning "users"."id", "users"."email", "users"."name", "users"."created_at", "users"."updated_at", "users"."deleted_at";

-- createUser (invalid input)
-- (no query: rejected before the database)

-- getUser
select "users"."id", "users"."email", "users"."name", "users"."created_at", "users"."updated_at", "users"."deleted_at" from "users" where "users"."id" = $1 and "users"."deleted_at" is null;

-- getUserByEmail
select "users"."id", "users"."email", "users"."name", "users"."created_at", "users"."updated_at", "users"."deleted_at" from "users" where "users"."email" = $1 and "users"."deleted_at" is null;

-- getUserCredentials
select "users"."id", "users"."email", "users"."password_hash" from "users" where "users"."email" = $1 and "users"."deleted_at" is null;

-- listUsers
select "users"."id", "users"."email", "users"."name", "users"."created_at", "users"."updated_at", "users"."deleted_at", to_char("users"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "users" where "users"."deleted_at" is null order by "users"."created_at" desc, "users"."id" desc limit $1;

-- listUsers (includeDeleted, cursor)
select "users"."id", "users"."email", "users"."name", "users"."created_at", "users"."updated_at", "users"."deleted_at", to_char("users"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_created_at" from "users" where ("users"."created_at", "users"."id") < ($1::timestamptz, $2::uuid) order by "users"."created_at" desc, "users"."id" desc limit $3;

-- updateUser
update "users" set "email" = $1, "name" = $2 where "users"."id" = $3 and "users"."deleted_at" is null returning "users"."id", "users"."email", "users"."name", "users"."created_at", "users"."updated_at", "users"."deleted_at";

-- softDeleteUser
update "users" set "deleted_at" = now() where "users"."id" = $1 and "users"."deleted_at" is null returning "users"."id", "users"."email", "users"."name", "users"."created_at", "users"."updated_at", "users"."deleted_at";

-- restoreUser (then, when nothing was restored, the live lookup)
update "users" set "deleted_at" = $1 where "users"."id" = $2 and "users"."deleted_at" is not null returning "users"."id", "users"."email", "users"."name", "users"."created_at", "users"."updated_at", "users"."deleted_at";
select "users"."id", "users"."email", "users"."name", "users"."created_at", "users"."updated_at", "users"."deleted_at" from "users" where "users"."id" = $1 and "users"."deleted_at" is null;

-- hardDeleteUser
delete from "users" where "users"."id" = $1 returning "users"."id";
