/** jsonObject and boundedText: what PostgreSQL cannot hold as sent (NUL, lone surrogates) is refused; look-alike text is not. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { jsonObject, parseInput } from '../../src/validation/common.js';
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
