import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../src/errors.js';
import { toPage } from '../../src/repositories/page.js';
import { agentType } from '../../src/validation/agent-results.js';
import { cursor, decodeCursor, encodeCursor, encodeKeyCursor, keyCursor } from '../../src/validation/cursor.js';
import { parseInput } from '../../src/validation/common.js';

const key = { createdAt: '2026-11-25T09:00:00.123456Z', id: '0b6e2a3c-6f1d-4c2e-9a53-2f8f1d0c7e11' };
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

describe('keyset cursors', () => {
  it('round-trips a key, keeping microseconds', () => {
    const encoded = encodeCursor(key);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(encoded)).toEqual(key);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc$def'],
    ['not JSON', Buffer.from('nope').toString('base64url')],
    ['an array', b64([key.createdAt, key.id])],
    ['milliseconds only', b64({ t: '2026-11-25T09:00:00.123Z', i: key.id })],
    ['an impossible date', b64({ t: '2026-13-45T09:00:00.123456Z', i: key.id })],
    ['a date Date.parse would roll over (February 30)', b64({ t: '2026-02-30T09:00:00.123456Z', i: key.id })],
    ['an hour that does not exist', b64({ t: '2026-02-10T24:00:00.000000Z', i: key.id })],
    ['dated year 0, which PostgreSQL has not', b64({ t: '0000-01-01T00:00:00.000000Z', i: key.id })],
    ['an SQL fragment as id', b64({ t: key.createdAt, i: "x' OR 1=1 --" })],
    ['a number as time', b64({ t: 1, i: key.id })],
    ['an extra field', b64({ t: key.createdAt, i: key.id, limit: 1e9 })],
    ['too long', 'A'.repeat(500)],
  ])('rejects a cursor that is %s, naming cursor', (_what, value) => {
    const error = (() => {
      try {
        decodeCursor(value);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path: 'cursor', message: 'is not a valid cursor' }]);
  });

  it('a key cursor holds only a key its list could have', () => {
    const field = keyCursor(agentType);
    expect(field.parse(encodeKeyCursor('market-research'))).toBe('market-research');
    for (const k of ['\u0000', '', 'Not Kebab', 7, null]) {
      expect(field.safeParse(b64({ k })).success, JSON.stringify(k)).toBe(false);
    }
    expect(field.safeParse(b64({ k: 'pricing', extra: 1 })).success).toBe(false);
  });

  it('the zod field reports a bad cursor under its path, with the other issues', () => {
    const schema = z.object({ cursor: cursor.optional(), limit: z.number().max(100) });
    expect(parseInput(schema, { cursor: encodeCursor(key), limit: 5 }, 'list')).toEqual({ cursor: key, limit: 5 });
    try {
      parseInput(schema, { cursor: 'garbage!', limit: 1000 }, 'list');
      expect.unreachable();
    } catch (e) {
      expect((e as ValidationError).issues.map((i) => i.path).sort()).toEqual(['cursor', 'limit']);
    }
  });

  it('toPage trims the look-ahead row, strips the key column and points the cursor at the last item', () => {
    const rows = [1, 2, 3].map((n) => ({
      id: `0000000${n}-0000-4000-8000-000000000000`,
      name: `r${n}`,
      cursorCreatedAt: `2026-11-25T09:00:0${n}.000001Z`,
    }));
    const page = toPage(rows, 2);
    expect(page.items).toEqual([
      { id: rows[0]!.id, name: 'r1' },
      { id: rows[1]!.id, name: 'r2' },
    ]);
    expect(decodeCursor(page.nextCursor!)).toEqual({ createdAt: rows[1]!.cursorCreatedAt, id: rows[1]!.id });
    expect(toPage(rows, 3).nextCursor).toBeNull();
    expect(toPage([], 3)).toEqual({ items: [], nextCursor: null });
  });
});
