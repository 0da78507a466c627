/** jsonObject and boundedText: what PostgreSQL cannot hold as sent (NUL, lone surrogates) is refused; look-alike text is not. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { id, parseId, parseInput } from '../../src/validation/common.js';
import { jsonObject, MAX_JSON_DEPTH } from '../../src/validation/json.js';
import { boundedText, hasLoneSurrogate } from '../../src/validation/common.js';
import { email } from '../../src/validation/users.js';

const messages = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error.issues.map((i) => i.message);
    throw error;
  }
  return [];
};

describe('jsonObject', () => {
  const schema = jsonObject();
  const check = (value: unknown) => messages(() => parseInput(schema, value, 'payload'));

  it('refuses a real NUL or lone surrogate in any value or key, however deep', () => {
    expect(check({ a: 'x\u0000y' })).toEqual(['must not contain the NUL character (\\u0000)']);
    expect(check({ 'k\u0000': 1 })).toEqual(['must not contain the NUL character (\\u0000)']);
    expect(check({ a: [{ b: '\\\u0000' }] })).toEqual(['must not contain the NUL character (\\u0000)']); // backslash, then NUL
    expect(check({ a: 'x\uD800' })).toEqual(['must be well-formed Unicode (no lone surrogate)']);
    expect(check({ '\uDFFF': 1 })).toEqual(['must be well-formed Unicode (no lone surrogate)']);
  });

  it('accepts the text of those escapes, and well-formed astral characters', () => {
    expect(check({ a: '\\u0000', b: '\\\\u0000', c: '\\uD800', '\\u0000': '\\\\\\ud83d' })).toEqual([]);
    expect(check({ emoji: '\u{1F680}\u{1F469}\u200D\u{1F4BB}', [`\u{1F600}`]: '\u{10348}' })).toEqual([]);
  });
});

describe('jsonObject: what jsonb cannot hold exactly', () => {
  const schema = jsonObject();
  const issues = (value: unknown) => {
    try {
      parseInput(schema, value, 'payload');
      return [];
    } catch (error) {
      if (error instanceof ValidationError) return error.issues.map((i) => `${i.path}: ${i.message}`);
      throw error;
    }
  };
  const nested = (levels: number) => {
    let value: Record<string, unknown> = {};
    for (let i = 1; i < levels; i++) value = { a: value };
    return value;
  };

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels by rule, however deep (no stack overflow)`, () => {
    expect(issues(nested(MAX_JSON_DEPTH))).toEqual([]);
    expect(issues(nested(MAX_JSON_DEPTH + 1))).toEqual([`(root): must be at most ${MAX_JSON_DEPTH} levels deep`]);
    expect(issues(nested(200_000))).toEqual([`(root): must be at most ${MAX_JSON_DEPTH} levels deep`]);
  });

  it('refuses a cycle by name, and accepts the same object twice', () => {
    const cyclic: Record<string, unknown> = { list: [] };
    (cyclic.list as unknown[]).push({ back: cyclic });
    expect(issues(cyclic)).toEqual(['list.0.back: must not contain a cycle (an object or array inside itself)']);
    const shared = { x: 1 };
    expect(issues({ a: shared, b: [shared, shared] })).toEqual([]);
  });

  it('keeps own __proto__ and constructor keys, and returns the payload as given', () => {
    const payload = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}, "ok": [1]}') as object;
    const parsed = parseInput(schema, payload, 'payload');
    expect(parsed).toBe(payload);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'constructor', 'ok']);
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(payload);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('refuses what JSON would drop or change, at its path', () => {
    class Money {
      amount = 1;
    }
    expect(
      issues({
        u: undefined,
        f: () => 1,
        n: Number.NaN,
        i: -Infinity,
        b: 10n,
        d: new Date(0),
        m: new Money(),
        holes: [1, , 3], // eslint-disable-line no-sparse-arrays
        [Symbol('s')]: 1,
      }),
    ).toEqual([
      '(root): must not have symbol keys (JSON drops them)',
      'u: must be a JSON value (string, finite number, boolean, null, array or object), not undefined',
      'f: must be a JSON value (string, finite number, boolean, null, array or object), not a function',
      'n: must be a finite number',
      'i: must be a finite number',
      'b: must be a JSON value (string, finite number, boolean, null, array or object), not a bigint',
      'd: must be a JSON value, not a Date (send an ISO 8601 string)',
      'm: must be a plain JSON object or array, not a Money',
      'holes.1: must not be a hole in an array (JSON turns it into null)',
    ]);
    expect(issues([1, 2])).toEqual(['(root): must be a JSON object']);
    expect(issues(null)).toEqual(['(root): must be a JSON object']);
  });
});

describe('lone surrogates in text', () => {
  it('are found wherever they are, and pairs are not', () => {
    for (const lone of ['\uD800', 'a\uDBFFb', '\uDC00', 'x\uDC00\uD800y', '\u{1F600}\uD83D'])
      expect(hasLoneSurrogate(lone), JSON.stringify(lone)).toBe(true);
    for (const fine of ['', 'plain', '\u{1F600}', '\uD83D\uDE00\u{10348}'])
      expect(hasLoneSurrogate(fine), JSON.stringify(fine)).toBe(false);
  });

  it('are refused by boundedText and email instead of being stored as U+FFFD', () => {
    expect(messages(() => parseInput(boundedText(1, 10), 'ab\uD800', 'text'))).toEqual(['must be well-formed Unicode (no lone surrogate)']);
    expect(messages(() => parseInput(email, 'a\uDC00@example.com', 'email'))).toEqual(['must be an email address']);
    expect(messages(() => parseInput(boundedText(1, 10), 'ok \u{1F600}', 'text'))).toEqual([]);
  });
});

describe('parseId', () => {
  // Its fast path must accept exactly what the zod schema accepts, and report the rest the same way.
  const agrees = (value: unknown) => {
    const viaZod = id.safeParse(value);
    const viaParseId = (() => {
      try {
        return { ok: true as const, value: parseId(value, 'id', 'user') };
      } catch (error) {
        return { ok: false as const, error };
      }
    })();
    expect(viaParseId.ok, JSON.stringify(value)).toBe(viaZod.success);
    if (viaParseId.ok) expect(viaParseId.value).toBe(viaZod.data);
    else expect(viaParseId.error).toMatchObject({ issues: [{ path: 'id', message: 'must be a UUID' }] });
  };

  it('accepts what z.uuid() accepts and refuses the rest with the field named', () => {
    for (const value of [
      '0b9e4c2a-6b1e-4c55-9a43-2f1f3c0d9e11',
      '0B9E4C2A-6B1E-4C55-9A43-2F1F3C0D9E11',
      '018f6a3e-7b2c-7d4e-8f00-1a2b3c4d5e6f',
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      '0b9e4c2a-6b1e-0c55-9a43-2f1f3c0d9e11',
      '0b9e4c2a-6b1e-4c55-1a43-2f1f3c0d9e11',
      ' 0b9e4c2a-6b1e-4c55-9a43-2f1f3c0d9e11',
      '0b9e4c2a-6b1e-4c55-9a43-2f1f3c0d9e11\n',
      '0b9e4c2a6b1e4c559a432f1f3c0d9e11',
      '',
      42,
      null,
      undefined,
      { toString: () => '0b9e4c2a-6b1e-4c55-9a43-2f1f3c0d9e11' },
    ]) {
      agrees(value);
    }
  });

  it('agrees with z.uuid() on arbitrary strings and uuids', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.uuid(),
          fc.uuid().map((u) => u.toUpperCase()),
        ),
        agrees,
      ),
      { numRuns: 2000 },
    );
  });
});
