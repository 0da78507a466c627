/**
 * Reads the audit trail that the triggers of migration 20261125090200_audit_log write. Nothing
 * here writes to `audit_log`: only the triggers do, in the transaction of the change itself.
 */
import type { Selectable } from 'kysely';
import type { AuditLog } from '../schema/generated.js';
import { parseInput } from '../validation/common.js';
import { encodeSequenceCursor } from '../validation/cursor.js';
import { listAuditEntriesSchema, type ListAuditEntriesInput } from '../validation/audit-log.js';
import { traced } from '../telemetry.js';
import { tables, type Executor } from './executor.js';
import { pageOf, type Page } from './page.js';

/**
 * One recorded change, in the database's view (snake_case keys, timestamps as ISO strings, never
 * `password_hash`): an insert's `newRow` is the whole new row and its `oldRow` null; a delete's
 * `oldRow` the whole old row and its `newRow` null; an update's `oldRow` and `newRow` hold only
 * the columns it changed, with their values before and after (both `{}` when it changed only the
 * password hash; entries written before migration 20261202090000 hold whole rows). `actor` is the
 * transaction's `actorId` (or its user's id) or null.
 */
export type AuditEntry = Selectable<AuditLog>;

export type { ListAuditEntriesInput };

/**
 * The history of one row, oldest change first (in audit id order, which for one row is the order
 * the changes were made: row locks serialise them), `limit` entries a page (default 100). Each
 * update entry names only what changed (see `AuditEntry`); the row after a change is the insert's
 * `newRow` with the later `newRow`s applied in order. Only the owner role may read the audit log
 * (its entries hold every user's data), so it takes `database.owner`.
 *
 * @example
 * ```ts
 * const page = await listAuditEntries(database.owner, { tableName: 'business_ideas', rowId: idea.id });
 * for (const e of page.items) if (e.newRow && 'status' in e.newRow) console.log(e.changedAt, e.actor, e.oldRow?.status, '->', e.newRow.status);
 * ```
 */
export const listAuditEntries = traced(
  'auditLog.listAuditEntries',
  async (executor: Executor<'owner'>, input: ListAuditEntriesInput): Promise<Page<AuditEntry>> => {
    const db = tables(executor);
    const { tableName, rowId, limit, cursor } = parseInput(listAuditEntriesSchema, input, 'audit log filter');
    const rows = await db
      .selectFrom('auditLog')
      .selectAll()
      .where('tableName', '=', tableName)
      .where('rowId', '=', rowId)
      .$if(cursor !== undefined, (qb) => qb.where('id', '>', cursor!))
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    return pageOf(rows, limit, (entry) => encodeSequenceCursor(entry.id));
  },
);
