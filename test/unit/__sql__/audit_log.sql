-- listAuditEntries (first page)
select * from "audit_log" where "table_name" = $1 and "row_id" = $2 order by "id" limit $3;

-- listAuditEntries (cursor)
select * from "audit_log" where "table_name" = $1 and "row_id" = $2 and "id" > $3 order by "id" limit $4;

-- listAuditEntries (invalid input)
-- (no query: rejected before the database)
