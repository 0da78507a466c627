/** The backoff between transaction attempts: doubling from 10 ms with jitter, never beyond 2 s. */
import { expect, it } from 'vitest';
import { retryDelayMs } from '../../src/db/transaction.js';

it('doubles from 10-20 ms and caps the base at 1 s (so at most 2 s with jitter)', () => {
  for (let i = 0; i < 200; i++) {
    const first = retryDelayMs(1);
    expect(first).toBeGreaterThanOrEqual(10);
    expect(first).toBeLessThan(20);
    const third = retryDelayMs(3);
    expect(third).toBeGreaterThanOrEqual(40);
    expect(third).toBeLessThan(80);
    for (const attempt of [8, 12, 19]) {
      const late = retryDelayMs(attempt);
      expect(late).toBeGreaterThanOrEqual(1_000);
      expect(late).toBeLessThan(2_000);
    }
  }
});
