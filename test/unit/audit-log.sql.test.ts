/** The SQL of src/repositories/audit-log.ts, committed as a snapshot so query changes show in review. */
import { expect, it } from 'vitest';
import { listAuditEntries } from '../../src/repositories/audit-log.js';
import { encodeSequenceCursor } from '../../src/validation/cursor.js';
import { captureSql, sqlDocument } from '../support/sql-capture.js';

const ROW = '0b7f2a9e-6c1d-4e8a-9f3b-2d5c7e1a4b60';

it('audit-log queries match the committed SQL', async () => {
  const { sqlOf } = captureSql();
  await expect(
    sqlDocument({
      'listAuditEntries (first page)': await sqlOf((db) => listAuditEntries(db, { tableName: 'business_ideas', rowId: ROW })),
      'listAuditEntries (cursor)': await sqlOf((db) =>
        listAuditEntries(db, { tableName: 'users', rowId: ROW, cursor: encodeSequenceCursor(41), limit: 10 }),
      ),
      'listAuditEntries (invalid input)': await sqlOf((db) => listAuditEntries(db, { tableName: 'users', rowId: 'nope' })),
    }),
  ).toMatchFileSnapshot('./__sql__/audit_log.sql');
});
