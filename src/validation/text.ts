/**
 * Text rules that mirror PostgreSQL's: `char_length` counts code points (not UTF-16 units),
 * `btrim(x)` strips spaces only, and `text` cannot hold the NUL character.
 */
import { z } from 'zod';

/** PostgreSQL's `char_length`: code points. */
export function charLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** PostgreSQL's one-argument `btrim`: strips leading and trailing spaces (U+0020) only. */
export function btrim(value: string): string {
  return value.replace(/^ +| +$/g, '');
}

/**
 * Whether `value` holds a lone UTF-16 surrogate: not Unicode, so it cannot be stored as sent
 * (node-postgres encodes it as U+FFFD, silently changing the text).
 */
export function hasLoneSurrogate(value: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value);
}

/**
 * A text column with a CHECK of the form `char_length(btrim(x)) >= min AND char_length(x) <= max`.
 * NUL is rejected here because PostgreSQL refuses it in text (it would fail with a less clear error),
 * and lone surrogates because they would be stored as U+FFFD.
 */
export function boundedText(min: number, max: number) {
  return z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
    if (value.includes('\u0000')) ctx.addIssue({ code: 'custom', message: 'must not contain the NUL character (\\u0000)' });
    if (hasLoneSurrogate(value)) ctx.addIssue({ code: 'custom', message: 'must be well-formed Unicode (no lone surrogate)' });
    if (charLength(btrim(value)) < min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${min} character${min === 1 ? '' : 's'}, not counting leading and trailing spaces` });
    }
    if (charLength(value) > max) ctx.addIssue({ code: 'custom', message: `must be at most ${max} characters` });
  });
}
