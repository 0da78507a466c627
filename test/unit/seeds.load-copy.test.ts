import { describe, expect, it } from 'vitest';
import { copyChunks, copyStatement, encodeCopyRow, encodeCopyValue } from '../../seeds/load/copy.js';

describe('encodeCopyValue', () => {
  it('writes NULL as \\N and escapes backslash, tab, newline and carriage return', () => {
    expect(encodeCopyValue(null)).toBe('\\N');
    expect(encodeCopyValue('plain text')).toBe('plain text');
    expect(encodeCopyValue('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    // The literal text \N must not read back as NULL.
    expect(encodeCopyValue('\\N')).toBe('\\\\N');
    expect(encodeCopyValue('{"q":"say \\"hi\\""}')).toBe('{"q":"say \\\\"hi\\\\""}');
  });
});

describe('encodeCopyRow', () => {
  it('joins with tabs, ends with a newline, and skips escaping only where promised', () => {
    expect(encodeCopyRow(['1', null, 'x\ty'])).toBe('1\t\\N\tx\\ty\n');
    expect(encodeCopyRow(['a\\b', null, 'x\ty'], [true, true, false])).toBe('a\\b\t\\N\tx\\ty\n');
  });
});

describe('copyChunks', () => {
  const rows = Array.from({ length: 50 }, (_, i) => [String(i), `text ${i}`]);

  it('splits rows into chunks near the size, without splitting a row, and counts them', () => {
    let counted = 0;
    const chunks = [...copyChunks(rows, { chunkBytes: 100, onRows: (n) => (counted += n) })];
    expect(chunks.length).toBe(5);
    for (const chunk of chunks) expect(chunk.toString().endsWith('\n')).toBe(true);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(100);
    expect(Buffer.concat(chunks).toString()).toBe(rows.map((r) => `${r.join('\t')}\n`).join(''));
    expect(counted).toBe(50);
  });

  it('stops with the abort reason between chunks', () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    expect(() => [...copyChunks(rows, { chunkBytes: 10, signal: controller.signal })]).toThrow('stop');
  });
});

describe('copyStatement', () => {
  it('quotes the table and column names', () => {
    expect(copyStatement('agent_results', ['id', 'input_data'])).toBe('COPY "agent_results" ("id", "input_data") FROM STDIN (FORMAT text)');
  });
});
