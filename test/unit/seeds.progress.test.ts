/** Progress output: throttled plain lines in a log, a redrawn bar on a terminal. */
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../seeds/progress.js';

function sink() {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
}

describe('createProgress', () => {
  it('writes at most one plain line per interval, then a summary with the rate', () => {
    let now = 0;
    const out = sink();
    const progress = createProgress({ stream: out.stream, tty: false, intervalMs: 1_000, now: () => now });
    progress.start('users', 1_000);
    for (let i = 0; i < 10; i++) {
      now += 250;
      progress.tick(100);
    }
    progress.done();
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(3); // at 1 s and 2 s, then the summary
    expect(lines[0]).toContain('users: 400/1,000 rows (40%)');
    expect(lines[2]).toBe('  users: 1,000 rows in 2.5 s (400 rows/s)');
    expect(out.text()).not.toContain('\r');
  });

  it('redraws one bar line on a terminal', () => {
    let now = 0;
    const out = sink();
    const progress = createProgress({ stream: out.stream, tty: true, now: () => now });
    progress.start('agent_results', 100);
    now += 200;
    progress.tick(50);
    progress.done();
    expect(out.text()).toContain('[############............]');
    expect(out.text().split('\n').filter(Boolean)).toHaveLength(1);
  });
});
