/** `transaction()` and `withUser()` options: every field checked in one parse, before anything runs. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { ISOLATION_LEVELS, parseTransactionOptions } from '../../src/validation/transactions.js';

const USER = '0b6e2a3c-6f1d-4c2e-9a53-2f8f1d0c7e11';

function issues(options: unknown, user?: { userId: unknown }): string[] {
  try {
    parseTransactionOptions(options, user);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((issue) => issue.path);
  }
  throw new Error('expected a ValidationError');
}

describe('parseTransactionOptions', () => {
  it('takes absent, null and null fields as the defaults', () => {
    for (const options of [undefined, null, {}, { isolationLevel: null, maxAttempts: null, actorId: null }]) {
      expect(parseTransactionOptions(options)).toMatchObject({ userId: undefined });
    }
    for (const isolationLevel of ISOLATION_LEVELS) {
      expect(parseTransactionOptions({ isolationLevel, maxAttempts: 20, actorId: 'admin:1' })).toMatchObject({ isolationLevel });
    }
    expect(parseTransactionOptions({}, { userId: USER.toUpperCase() }).userId).toBe(USER.toUpperCase());
  });

  it.each([['snapshot'], [''], [[]], [{ toString: () => 'serializable' }], [JSON.parse('{"__proto__": false}')]])(
    'refuses isolation level %j by name',
    (isolationLevel) => {
      expect(issues({ isolationLevel })).toEqual(['isolationLevel']);
    },
  );

  it('lists every failing field at once, the user first, and unknown keys', () => {
    expect(issues({ maxAttempts: 0, actorId: 0, isolation: 'serializable' })).toEqual(['maxAttempts', 'actorId', '(root)']);
    expect(issues({ maxAttempts: 0 }, { userId: '' })).toEqual(['userId', 'maxAttempts']);
  });

  it('names the user whatever the options are, a missing user included', () => {
    expect(issues(undefined, { userId: undefined })).toEqual(['userId']);
    expect(issues([], { userId: [] })).toEqual(['userId', '(root)']);
  });

  it.each([['lone \ud800 actor'], ['nul \u0000'], [' \t\n'], ['a'.repeat(201)]])('refuses actor %j', (actorId) => {
    expect(issues({ actorId })).toEqual(['actorId']);
  });
});
