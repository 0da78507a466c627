/** The users input schemas at their boundaries, without a database: they mirror the CHECKs on users. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import * as users from '../../src/repositories/users.js';
import { parseInput } from '../../src/validation/common.js';
import { createUserSchema, listUsersSchema, updateUserSchema } from '../../src/validation/users.js';
import { captureSql } from '../support/sql-capture.js';

const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG';
const valid = { email: 'ada@example.com', name: 'Ada Lovelace', passwordHash: HASH };

/** The issues `input` raises, as `path: message` lines (empty when valid). */
function issues(input: unknown, schema: Parameters<typeof parseInput>[0] = createUserSchema): string[] {
  try {
    parseInput(schema, input, 'user');
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
}
const paths = (input: unknown, schema?: Parameters<typeof parseInput>[0]): string[] =>
  issues(input, schema).map((line) => line.split(':')[0]!);

describe('email', () => {
  it('is normalised: trimmed and lowercased', () => {
    expect(parseInput(createUserSchema, { ...valid, email: ' \tAda.Lovelace@Example.COM \n' }, 'user').email).toBe(
      'ada.lovelace@example.com',
    );
  });

  it('254 characters is the maximum, counted after trimming', () => {
    const at254 = `${'a'.repeat(254 - '@example.com'.length)}@example.com`;
    expect(at254).toHaveLength(254);
    expect(paths({ ...valid, email: `  ${at254}  ` })).toEqual([]);
    expect(issues({ ...valid, email: `a${at254}` })).toEqual(['email: must be at most 254 characters']);
  });

  it('counts code points, as char_length does', () => {
    // 250 code points but 251 UTF-16 units: valid for PostgreSQL, so valid here.
    const astral = `${'a'.repeat(250 - '𝒜@ex.io'.length + 1)}𝒜@ex.io`;
    expect([...astral]).toHaveLength(250);
    expect(paths({ ...valid, email: astral })).toEqual([]);
  });

  it.each([
    '',
    'ada',
    'ada@',
    '@example.com',
    'ada@example',
    'ada@@example.com',
    'ada lovelace@example.com',
    'ada@exa mple.com',
    'ada@example.com\u0000',
    42,
    null,
  ])('rejects %j', (email) => {
    expect(paths({ ...valid, email })).toEqual(['email']);
  });

  it.each(['a@b.co', "o'brien+ideas@example.co.uk", 'ÄDA@bücher.de'])('accepts %j', (email) => {
    expect(paths({ ...valid, email })).toEqual([]);
  });
});

describe('name', () => {
  it('1 to 100 characters, the minimum not counting surrounding spaces (btrim)', () => {
    expect(paths({ ...valid, name: 'A' })).toEqual([]);
    expect(paths({ ...valid, name: ' A ' })).toEqual([]);
    expect(paths({ ...valid, name: 'x'.repeat(100) })).toEqual([]);
    expect(paths({ ...valid, name: '🙂'.repeat(100) })).toEqual([]); // 100 code points, 200 UTF-16 units
    expect(issues({ ...valid, name: '' })).toEqual(['name: must be at least 1 character, not counting leading and trailing spaces']);
    expect(paths({ ...valid, name: '    ' })).toEqual(['name']);
    expect(issues({ ...valid, name: 'x'.repeat(101) })).toEqual(['name: must be at most 100 characters']);
    expect(paths({ ...valid, name: ' '.repeat(100) + 'x' })).toEqual(['name']); // the maximum counts the spaces
    expect(paths({ ...valid, name: 'Ada\u0000' })).toEqual(['name']);
  });
});

describe('passwordHash', () => {
  it.each([
    HASH,
    '$2b$12$KIXQJ8zP1eZ5y6Yt0pXbUe3uQy7m8Jt9rQ2mQ0m2r3s4t5u6v7w8x',
    'scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNo',
    'pbkdf2_sha256$600000$salt$hash=',
  ])('accepts a hash like %s', (passwordHash) => {
    expect(paths({ ...valid, passwordHash })).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['too short to be a hash', 'short-hash'],
    ['containing a space', 'correct horse battery staple'],
    ['non-ASCII', 'pässwörd-häsh-1234567890'],
    ['too long', 'x'.repeat(513)],
    ['not a string', 1_234_567_890],
  ])('rejects one %s, without echoing it', (_what, passwordHash) => {
    const lines = issues({ ...valid, passwordHash });
    expect(lines.map((l) => l.split(':')[0])).toEqual(['passwordHash']);
    if (typeof passwordHash === 'string' && passwordHash !== '') expect(lines.join('\n')).not.toContain(passwordHash);
  });

  it('16 and 512 characters are the bounds', () => {
    expect(paths({ ...valid, passwordHash: 'h'.repeat(16) })).toEqual([]);
    expect(paths({ ...valid, passwordHash: 'h'.repeat(15) })).toEqual(['passwordHash']);
    expect(paths({ ...valid, passwordHash: 'h'.repeat(512) })).toEqual([]);
  });
});

describe('createUser, updateUser and listUsers input', () => {
  it('lists every failing field at once, and unknown or missing ones', () => {
    expect(paths({ email: 'x', name: '', passwordHash: '' }).sort()).toEqual(['email', 'name', 'passwordHash']);
    expect(paths({ ...valid, password: 'hunter2' })).toEqual(['(root)']);
    expect(paths({ email: valid.email })).toEqual(['name', 'passwordHash']);
    expect(paths(null)).toEqual(['(root)']);
  });

  it('update needs at least one field and validates each', () => {
    expect(paths({}, updateUserSchema)).toEqual(['(root)']);
    expect(paths({ name: 'Ada King' }, updateUserSchema)).toEqual([]);
    expect(parseInput(updateUserSchema, { email: ' X@Y.ORG ' }, 'user')).toEqual({ email: 'x@y.org' });
    expect(paths({ name: '', email: 'nope' }, updateUserSchema).sort()).toEqual(['email', 'name']);
    expect(paths({ passwordHash: HASH }, updateUserSchema)).toContain('(root)'); // not updatable here
  });

  it('list options: limit 1..100 (default 20), includeDeleted boolean (default false)', () => {
    expect(parseInput(listUsersSchema, {}, 'user')).toEqual({ limit: 20, includeDeleted: false });
    expect(paths({ limit: 1 }, listUsersSchema)).toEqual([]);
    expect(paths({ limit: 100 }, listUsersSchema)).toEqual([]);
    expect(paths({ limit: 0, includeDeleted: 1, cursor: '' }, listUsersSchema).sort()).toEqual(['cursor', 'includeDeleted', 'limit']);
  });
});

describe('repository functions validate before sending anything', () => {
  it('no SQL is compiled for invalid input', async () => {
    const { sqlOf } = captureSql();
    const calls = [
      (db: Parameters<typeof users.createUser>[0]) => users.createUser(db, { ...valid, email: 'nope' }),
      (db: Parameters<typeof users.createUser>[0]) => users.getUser(db, 'not-a-uuid'),
      (db: Parameters<typeof users.createUser>[0]) => users.getUserByEmail(db, ''),
      (db: Parameters<typeof users.createUser>[0]) => users.getUserCredentials(db, 'a@b'),
      (db: Parameters<typeof users.createUser>[0]) => users.listUsers(db, { limit: 1000 }),
      (db: Parameters<typeof users.createUser>[0]) => users.updateUser(db, '00000000-0000-4000-8000-000000000000', {}),
      (db: Parameters<typeof users.createUser>[0]) => users.softDeleteUser(db, '1'),
      (db: Parameters<typeof users.createUser>[0]) => users.restoreUser(db, '1'),
      (db: Parameters<typeof users.createUser>[0]) => users.hardDeleteUser(db, '1'),
    ];
    for (const call of calls) {
      expect(await sqlOf(call)).toBe('');
      await expect(call(captureSql().db)).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
