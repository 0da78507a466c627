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
 * One recorded change. `oldRow`/`newRow` are the database's view of the row (snake_case keys,
 * timestamps as ISO strings, never `password_hash`); `actor` is the transaction's `actorId`
 * (or its user's id) or null.
 */
export type AuditEntry = Selectable<AuditLog>;

export type { ListAuditEntriesInput };

/**
 * The history of one row, oldest change first (in audit id order, which for one row is the order
 * the changes were made: row locks serialise them), `limit` entries a page (default 100). Only
 * the owner role may read the audit log (its row images hold every user's data), so it takes
 * `database.owner`.
 *
 * @example
 * ```ts
 * const page = await listAuditEntries(database.owner, { tableName: 'business_ideas', rowId: idea.id });
 * for (const e of page.items) console.log(e.changedAt, e.operation, e.actor, e.newRow?.status);
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
