/**
 * Reads the audit trail that the triggers of migration 20261125090200_audit_log write. Nothing
 * here writes to `audit_log`: only the triggers do, in the transaction of the change itself.
 */
import type { Kysely, Selectable } from 'kysely';
import type { AuditLog, DB } from '../schema/generated.js';
import { parseInput } from '../validation/common.js';
import { listAuditEntriesSchema, type ListAuditEntriesInput } from '../validation/audit-log.js';

/**
 * One recorded change. `oldRow`/`newRow` are the database's view of the row (snake_case keys,
 * timestamps as ISO strings, never `password_hash`); `actor` is the `withActor()` id or null.
 */
export type AuditEntry = Selectable<AuditLog>;

export type { ListAuditEntriesInput };

/**
 * The history of one row, oldest change first (in audit id order, which for one row is the order
 * the changes were made: row locks serialise them). At most `limit` entries (default 100); pass the
 * last entry's `id` as `afterId` for the next page.
 *
 * @example
 * ```ts
 * const history = await listAuditEntries(db, { tableName: 'business_ideas', rowId: idea.id });
 * for (const e of history) console.log(e.changedAt, e.operation, e.actor, e.newRow?.status);
 * ```
 */
export async function listAuditEntries(db: Kysely<DB>, input: ListAuditEntriesInput): Promise<AuditEntry[]> {
  const filters = parseInput(listAuditEntriesSchema, input, 'audit log filter');
  let query = db
    .selectFrom('auditLog')
    .selectAll()
    .where('tableName', '=', filters.tableName)
    .where('rowId', '=', filters.rowId);
  if (filters.afterId !== undefined) query = query.where('id', '>', filters.afterId);
  return query.orderBy('id').limit(filters.limit).execute();
}
