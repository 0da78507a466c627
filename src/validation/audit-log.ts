/**
 * Input schema for reading the audit trail (`src/repositories/audit-log.ts`).
 */
import { z } from 'zod';
import { id } from './common.js';
import { sequenceCursor } from './cursor.js';

/** The tables the audit triggers watch, by their SQL names (as stored in `audit_log.table_name`). */
export const auditedTables = ['users', 'business_ideas', 'evaluations', 'agent_results'] as const;

/** Filters for `listAuditEntries`: one row's history, oldest change first, a page at a time. */
export const listAuditEntriesSchema = z.strictObject({
  tableName: z.enum(auditedTables, { error: `must be one of ${auditedTables.join(', ')}` }),
  rowId: id,
  limit: z.number().int({ error: 'must be a whole number' }).min(1).max(1000).default(100),
  /** The previous page's `nextCursor`. */
  cursor: sequenceCursor.optional(),
});

export type ListAuditEntriesInput = z.input<typeof listAuditEntriesSchema>;
