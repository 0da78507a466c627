/**
 * Progress for long seed steps: a redrawn bar on a terminal, a plain line every few seconds
 * otherwise (CI logs, pipes), nothing in tests.
 */
import type { Progress } from './types.js';

/** Options for `createProgress()`. */
export interface ProgressOptions {
  /** Where to write; default process.stderr (stdout stays for results). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Draw a bar (default: when the stream is a terminal). */
  tty?: boolean;
  /** Plain mode: at most one line per this many ms (default 2000). */
  intervalMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

const number = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * A Progress that writes to a terminal or a log.
 *
 * @example
 * ```ts
 * const progress = createProgress();
 * progress.start('users', 1000); progress.tick(500); progress.tick(500); progress.done();
 * ```
 */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const intervalMs = options.intervalMs ?? 2_000;
  const now = options.now ?? Date.now;
  let label = '';
  let total = 0;
  let done = 0;
  let startedAt = 0;
  let lastDraw = 0;
  let active = false;

  const rate = (): number => done / Math.max((now() - startedAt) / 1000, 0.001);
  const line = (): string => {
    const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
    return `${label}: ${number(done)}/${number(total)} rows (${pct.toFixed(0)}%), ${number(rate())} rows/s`;
  };
  const bar = (): string => {
    const width = 24;
    const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : width;
    return `\r${label.padEnd(16)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line().slice(label.length + 2)}\x1b[K`;
  };

  return {
    start(name, count) {
      label = name;
      total = count;
      done = 0;
      startedAt = now();
      lastDraw = startedAt;
      active = true;
      if (tty) stream.write(bar());
    },
    tick(n) {
      if (!active) return;
      done += n;
      const t = now();
      if (tty && t - lastDraw >= 100) {
        lastDraw = t;
        stream.write(bar());
      } else if (!tty && t - lastDraw >= intervalMs) {
        lastDraw = t;
        stream.write(`  ${line()}\n`);
      }
    },
    done() {
      if (!active) return;
      active = false;
      const seconds = (now() - startedAt) / 1000;
      const summary = `${label}: ${number(done)} rows in ${seconds.toFixed(1)} s (${number(rate())} rows/s)`;
      stream.write(tty ? `\r${summary}\x1b[K\n` : `  ${summary}\n`);
    },
  };
}

/** A Progress that writes nothing (library use, tests). */
export const silentProgress: Progress = { start: () => {}, tick: () => {}, done: () => {} };
