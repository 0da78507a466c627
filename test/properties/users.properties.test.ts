/**
 * Property-based tests (fast-check) of every users repository function that takes input: each is
 * called with values that mix valid ones (real ids and emails of fixture rows, new unique emails)
 * with hostile ones (anything, null and undefined in every position, wrong types, NaN, huge
 * numbers, NUL, lone surrogates, RTL marks, emoji, very long strings, own `__proto__` keys, deep
 * and cyclic objects, invalid Dates, forged cursors), through the owner, anonymous and user
 * paths. Every outcome must be a valid result (for writes: the row read back equals what was
 * written) or a documented typed error, and a refused call must have written nothing (the audit
 * log's high-water mark is unchanged). See test/support/arbitraries.ts for the contract in full.
 *
 * Runs: `PROPERTY_RUNS` cases per function (default 1000, the CI run; `PROPERTY_RUNS=10000` for
 * the long run), seeded from `PROPERTY_SEED` (default 20261125; each property prints its seed and
 * outcome counts). `PROPERTY_SURVEY=1` lists every failure class with a shrunk counterexample.
 *
 * ```sh
 * PROPERTY_RUNS=10000 TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx vitest run test/properties
 * ```
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as users from '../../src/repositories/users.js';
import {
  arg,
  checkProperty,
  cursorOf,
  cursorVerdict,
  expectNewestFirst,
  expectPage,
  expectShape,
  expectThat,
  expectUser,
  field,
  fieldsOf,
  idOf,
  inputObject,
  lower,
  options,
  pathOf,
  PROPERTY_TIMEOUT_MS,
  ref,
  show,
  validEmail,
  validLimit,
  validName,
  validPasswordHash,
} from '../support/arbitraries.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();
const paths = pathOf('owner', 'anonymous', 'user');
const normalised = (email: unknown): unknown => (typeof email === 'string' ? email.trim().toLowerCase() : email);

async function storedUser(id: string) {
  return t.db.selectFrom('users').select(['email', 'name', 'passwordHash', 'deletedAt']).where('id', '=', id).executeTakeFirst();
}

const emailArg = arg(fc.oneof(ref('userEmail', ['live']), ref('userEmail', ['deleted']), validEmail));

describe('users: every function that takes input, with hostile inputs', () => {
  it(
    'createUser',
    () =>
      checkProperty(
        t,
        'users.createUser',
        fc.tuple(paths, inputObject({ email: field(validEmail), name: field(validName), passwordHash: field(validPasswordHash) })),
        (_world, [input]) => ({
          call: (db) => users.createUser(db, input as never),
          inputs: [input],
          required: [{ name: 'input', value: input }],
          check: async (user) => {
            expectUser(user);
            const i = fieldsOf(input)!;
            expectThat(
              user.email === normalised(i.email) && user.name === i.name && user.deletedAt === null,
              'createUser returned other values',
              () => show({ user, input }),
            );
            const row = await storedUser(user.id);
            expectThat(
              row?.email === user.email && row.name === i.name && row.passwordHash === i.passwordHash && row.deletedAt === null,
              'createUser stored other values',
              () => show({ row, input }),
            );
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'getUser',
    () =>
      checkProperty(t, 'users.getUser', fc.tuple(paths, idOf('user')), (_world, [id]) => ({
        call: (db) => users.getUser(db, id as never),
        inputs: [id],
        readOnly: true,
        check: (user) => {
          expectUser(user);
          expectThat(user.id === lower(id) && user.deletedAt === null, 'getUser returned another user', () => show({ user, id }));
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'getUserByEmail',
    () =>
      checkProperty(t, 'users.getUserByEmail', fc.tuple(paths, emailArg), (_world, [email]) => ({
        call: (db) => users.getUserByEmail(db, email as never),
        inputs: [email],
        readOnly: true,
        check: (user) => {
          expectUser(user);
          expectThat(user.email === normalised(email) && user.deletedAt === null, 'getUserByEmail returned another user', () =>
            show({ user, email }),
          );
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'getUserCredentials',
    () =>
      checkProperty(t, 'users.getUserCredentials', fc.tuple(paths, emailArg), (_world, [email]) => ({
        call: (db) => users.getUserCredentials(db, email as never),
        inputs: [email],
        readOnly: true,
        check: async (credentials) => {
          expectShape(credentials, 'credentials', {
            id: (v) => typeof v === 'string',
            email: (v) => v === normalised(email),
            passwordHash: (v) => typeof v === 'string',
          });
          const row = await storedUser(credentials.id);
          expectThat(
            row?.passwordHash === credentials.passwordHash && row.deletedAt === null,
            'getUserCredentials returned another hash',
            () => show({ credentials, row }),
          );
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'listUsers',
    () =>
      checkProperty(
        t,
        'users.listUsers',
        fc.tuple(paths, options({ limit: field(validLimit), cursor: field(cursorOf('newest')), includeDeleted: field(fc.boolean()) })),
        (_world, [input]) => {
          const o = fieldsOf(input);
          return {
            call: (db) => users.listUsers(db, input as never),
            inputs: [input],
            readOnly: true,
            fields: [o ? cursorVerdict(o.cursor, 'newest') : undefined],
            nullOptions: input === null,
            ...(input === null ? { absent: (db) => users.listUsers(db) } : {}),
            check: (page) => {
              expectPage(page, expectUser, o?.limit, 20);
              expectNewestFirst(page.items);
              if (o?.includeDeleted !== true) {
                expectThat(
                  page.items.every((u) => u.deletedAt === null),
                  'listUsers listed a closed account',
                  () => show(page.items.map((u) => u.id)),
                );
              }
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'updateUser',
    () =>
      checkProperty(
        t,
        'users.updateUser',
        fc.tuple(paths, idOf('user'), inputObject({ email: field(validEmail, 6), name: field(validName, 6) })),
        (_world, [id, input]) => ({
          call: (db) => users.updateUser(db, id as never, input as never),
          inputs: [id, input],
          positional: ['id'],
          required: [{ name: 'input', value: input }],
          check: async (user) => {
            expectUser(user);
            const i = fieldsOf(input)!;
            const expected = {
              email: i.email === undefined ? user.email : normalised(i.email),
              name: i.name === undefined ? user.name : i.name,
            };
            expectThat(
              user.id === lower(id) && user.email === expected.email && user.name === expected.name,
              'updateUser returned other values',
              () => show({ user, input }),
            );
            const row = await storedUser(user.id);
            expectThat(row?.email === expected.email && row.name === expected.name, 'updateUser stored other values', () =>
              show({ row, input }),
            );
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'softDeleteUser',
    () =>
      checkProperty(t, 'users.softDeleteUser', fc.tuple(paths, idOf('user')), (_world, [id]) => ({
        call: (db) => users.softDeleteUser(db, id as never),
        inputs: [id],
        check: async (user) => {
          expectUser(user);
          const row = await storedUser(user.id);
          expectThat(
            user.id === lower(id) && user.deletedAt !== null && row?.deletedAt != null,
            'softDeleteUser did not close the account',
            () => show({ user, row }),
          );
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'restoreUser',
    () =>
      checkProperty(t, 'users.restoreUser', fc.tuple(paths, idOf('user')), (_world, [id]) => ({
        call: (db) => users.restoreUser(db, id as never),
        inputs: [id],
        check: async (user) => {
          expectUser(user);
          const row = await storedUser(user.id);
          expectThat(
            user.id === lower(id) && user.deletedAt === null && row?.deletedAt === null,
            'restoreUser did not reopen the account',
            () => show({ user, row }),
          );
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'hardDeleteUser',
    () =>
      checkProperty(t, 'users.hardDeleteUser', fc.tuple(paths, idOf('user')), (_world, [id]) => ({
        call: (db) => users.hardDeleteUser(db, id as never),
        inputs: [id],
        check: async (result) => {
          expectThat(result === undefined, 'hardDeleteUser returned a value', () => show(result));
          const row = await storedUser(String(lower(id)));
          expectThat(row === undefined, 'hardDeleteUser left the row', () => show(row));
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );
});
