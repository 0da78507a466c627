/**
 * The direct path's row builders (src/db/direct.ts): a generated object literal per column list,
 * and the key-by-key fallback where Node disallows code generation. Both must build what the
 * CamelCase plugin's result pass builds: a later key of the same name wins in the first one's
 * place, arrays are copied, `__proto__` is an own key, and no key can become code.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rowBuilder } from '../../src/db/direct.js';

const KEYS = ['id', 'title', 'id', '__proto__', 'a"}); globalThis.injected = 1; ({"b', 'tags'];
const VALUES = ['first', 'Clinic deposits', 'second', 'own', 'quoted', ['x', 'y']];
const root = fileURLToPath(new URL('../..', import.meta.url));

/** A row as JSON with its keys in order, its prototype, and whether anything ran as code. */
const describeRow = (row: Record<string, unknown>) => ({
  entries: Object.entries(row),
  ownProto: Object.getOwnPropertyDescriptor(row, '__proto__')?.value,
  plainPrototype: Object.getPrototypeOf(row) === Object.prototype,
});

describe('rowBuilder', () => {
  it('builds rows as the result pass does: later duplicate wins in place, arrays copied, __proto__ own, nothing run', () => {
    const tags = VALUES[5] as string[];
    const row = rowBuilder(KEYS)(VALUES);
    expect(describeRow(row)).toEqual({
      entries: [
        ['id', 'second'],
        ['title', 'Clinic deposits'],
        ['__proto__', 'own'],
        ['a"}); globalThis.injected = 1; ({"b', 'quoted'],
        ['tags', ['x', 'y']],
      ],
      ownProto: 'own',
      plainPrototype: true,
    });
    expect(row.tags).not.toBe(tags);
    expect((globalThis as { injected?: unknown }).injected).toBeUndefined();
  });

  it('builds the same rows where code generation from strings is disallowed', () => {
    const script = `import('./src/db/direct.ts').then(({ rowBuilder }) => {
      const row = rowBuilder(${JSON.stringify(KEYS)})(${JSON.stringify(VALUES)});
      process.stdout.write(JSON.stringify({ entries: Object.entries(row), ownProto: Object.getOwnPropertyDescriptor(row, '__proto__')?.value,
        plainPrototype: Object.getPrototypeOf(row) === Object.prototype, canGenerate: (() => { try { new Function(''); return true; } catch { return false; } })() }));
    });`;
    const out = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '--import', 'tsx', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    const { canGenerate, ...built } = JSON.parse(out) as { canGenerate: boolean } & ReturnType<typeof describeRow>;
    expect(canGenerate).toBe(false);
    expect(built).toEqual(describeRow(rowBuilder(KEYS)(VALUES)));
  });
});
