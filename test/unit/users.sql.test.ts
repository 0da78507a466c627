/** The SQL every users repository function sends, committed as test/unit/__sql__/users.sql. */
import { expect, it } from 'vitest';
import { encodeCursor } from '../../src/validation/cursor.js';
import * as users from '../../src/repositories/users.js';
import { captureSql, sqlDocument } from '../support/sql-capture.js';

const ID = '0b6e2a3c-6f1d-4c2e-9a53-2f8f1d0c7e11';
const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=';
const CURSOR = encodeCursor({ createdAt: '2026-11-25T09:00:00.123456Z', id: ID });

it('compiles every users query as committed in __sql__/users.sql', async () => {
  const { sqlOf } = captureSql();
  const entries = {
    createUser: await sqlOf((db) => users.createUser(db, { email: 'Ada@Example.com', name: 'Ada Lovelace', passwordHash: HASH })),
    'createUser (invalid input)': await sqlOf((db) => users.createUser(db, { email: 'not-an-email', name: '', passwordHash: '' })),
    getUser: await sqlOf((db) => users.getUser(db, ID)),
    getUserByEmail: await sqlOf((db) => users.getUserByEmail(db, 'ada@example.com')),
    getUserCredentials: await sqlOf((db) => users.getUserCredentials(db, 'ada@example.com')),
    listUsers: await sqlOf((db) => users.listUsers(db)),
    'listUsers (includeDeleted, cursor)': await sqlOf((db) => users.listUsers(db, { limit: 50, includeDeleted: true, cursor: CURSOR })),
    updateUser: await sqlOf((db) => users.updateUser(db, ID, { name: 'Ada King', email: 'ada.king@example.com' })),
    softDeleteUser: await sqlOf((db) => users.softDeleteUser(db, ID)),
    'restoreUser (then, when nothing was restored, the live lookup)': await sqlOf((db) => users.restoreUser(db, ID)),
    hardDeleteUser: await sqlOf((db) => users.hardDeleteUser(db, ID)),
  };
  // Only the credentials lookup reads the hash; createUser writes it (its column list) but does not return it.
  const reading = Object.entries(entries)
    .filter(([, text]) => text.replace(/insert into "users" \([^)]*\)/, '').includes('password_hash'))
    .map(([name]) => name);
  expect(reading).toEqual(['getUserCredentials']);
  expect(entries.createUser).toContain('password_hash');
  await expect(sqlDocument(entries)).toMatchFileSnapshot('./__sql__/users.sql');
});
