/**
 * The documentation stays true to the repository: every relative link in README.md and docs/*.md
 * points at a file or folder that exists, and every environment variable src/config.ts reads is
 * documented (in backticks) in docs/configuration.md.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const docsDir = join(root, 'docs');

/** README.md and every Markdown page in docs/. */
function markdownFiles(): string[] {
  const pages = existsSync(docsDir)
    ? readdirSync(docsDir)
        .filter((name) => name.endsWith('.md'))
        .sort()
        .map((name) => join(docsDir, name))
    : [];
  return [join(root, 'README.md'), ...pages];
}

/** Fenced code blocks hold examples, not links: blank them out (keeping line numbers). */
function withoutFencedCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '));
}

/** Inline code spans are not links either; `[`name`](target)` keeps its brackets, so it still matches. */
function withoutInlineCode(markdown: string): string {
  return markdown.replace(/`[^`\n]+`/g, 'code');
}

interface Link {
  line: number;
  target: string;
}

/** Inline links and images (`[text](target "title")`, `![alt](<target>)`) and reference definitions (`[id]: target`). */
function markdownLinks(markdown: string): Link[] {
  const text = withoutInlineCode(withoutFencedCode(markdown));
  const lineOf = (index: number): number => text.slice(0, index).split('\n').length;
  const links: Link[] = [];
  for (const match of text.matchAll(/!?\[[^[\]]*\]\(\s*(<[^>\n]*>|[^\s)]+)(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^)\n]*\)))?\s*\)/g)) {
    links.push({ line: lineOf(match.index), target: (match[1] ?? '').replace(/^<|>$/g, '') });
  }
  for (const match of text.matchAll(/^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)/gm)) {
    links.push({ line: lineOf(match.index), target: (match[1] ?? '').replace(/^<|>$/g, '') });
  }
  return links;
}

/** Relative targets only: no scheme (`https:`, `mailto:`, ...), no protocol-relative URL, no bare `#anchor`. */
function isRelative(target: string): boolean {
  return target !== '' && !target.startsWith('#') && !target.startsWith('//') && !/^[a-z][a-z0-9+.-]*:/i.test(target);
}

/** `file: line N: target` for every relative link of `file` whose target does not exist. */
function brokenLinks(file: string): string[] {
  const markdown = readFileSync(file, 'utf8');
  const broken: string[] = [];
  for (const { line, target } of markdownLinks(markdown)) {
    if (!isRelative(target)) continue;
    const path = target.replace(/[#?].*$/, '');
    if (path === '') continue;
    let decoded = path;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      // Not percent-encoded after all: check it as written.
    }
    if (!existsSync(resolve(dirname(file), decoded))) broken.push(`${relative(root, file)}: line ${line}: ${target}`);
  }
  return broken;
}

/**
 * The environment variables a source file reads: `env.NAME` (also `process.env.NAME`),
 * `env['NAME']`, the keys of the `tunables` object, keys set beside a spread environment
 * (`{ ...env, NAME: value }`), and whole string literals that are variable names (`'DATABASE_SSL'`,
 * as passed to a function that reads `env[variable]`).
 */
function environmentVariables(source: string): string[] {
  const NAME = '[A-Z][A-Z0-9_]*[A-Z0-9]';
  const names = new Set<string>();
  const add = (pattern: RegExp, text: string): void => {
    for (const match of text.matchAll(pattern)) if (match[1]) names.add(match[1]);
  };
  add(new RegExp(`\\benv\\.(${NAME})\\b`, 'g'), source);
  add(new RegExp(`\\benv\\[\\s*['"\`](${NAME})['"\`]\\s*\\]`, 'g'), source);
  add(new RegExp(`['"](${NAME})['"]`, 'g'), source);
  for (const spread of source.matchAll(/\{\s*\.\.\.(?:process\.)?env\s*,([^{}]*)\}/g)) {
    add(new RegExp(`(?:^|,)\\s*['"]?(${NAME})['"]?\\s*:`, 'g'), spread[1] ?? '');
  }
  const start = source.search(/\bconst\s+tunables\b[^=]*=\s*\{/);
  if (start >= 0) {
    // The object literal, up to its matching brace.
    const open = source.indexOf('{', start);
    let depth = 0;
    let end = open;
    for (; end < source.length; end++) {
      if (source[end] === '{') depth++;
      else if (source[end] === '}' && --depth === 0) break;
    }
    add(new RegExp(`^\\s*['"]?(${NAME})['"]?\\s*:`, 'gm'), source.slice(open + 1, end));
  }
  // Only names that look like variables of this project or libpq, not stray constants.
  return [...names].filter((name) => name.includes('_') || name.startsWith('PG')).sort();
}

/** Every inline code span's content in `markdown`. */
function codeSpans(markdown: string): string[] {
  return [...markdown.matchAll(/`([^`\n]+)`/g)].map((match) => match[1] ?? '');
}

describe('the documentation', () => {
  it('has README.md and pages in docs/', () => {
    const files = markdownFiles();
    expect(files.map((file) => relative(root, file))).toContain('README.md');
    expect(files.length).toBeGreaterThan(1);
  });

  it('links only to files and folders that exist', () => {
    const files = markdownFiles();
    const links = files.flatMap((file) => markdownLinks(readFileSync(file, 'utf8')).filter((link) => isRelative(link.target)));
    expect(links.length).toBeGreaterThan(0);
    expect(files.flatMap(brokenLinks)).toEqual([]);
  });

  it('documents, in backticks in docs/configuration.md, every environment variable src/config.ts reads', () => {
    const variables = environmentVariables(readFileSync(join(root, 'src/config.ts'), 'utf8'));
    expect(variables.length).toBeGreaterThan(0);
    expect(variables).toEqual(expect.arrayContaining(['DATABASE_URL', 'DATABASE_POOL_MAX', 'DATABASE_PASSWORD_FILE', 'PGSSLMODE']));
    const page = join(docsDir, 'configuration.md');
    const spans = existsSync(page) ? codeSpans(readFileSync(page, 'utf8')) : [];
    const documented = (name: string): boolean => spans.some((span) => new RegExp(`(^|[^A-Z0-9_])${name}([^A-Z0-9_]|$)`).test(span));
    expect(variables.filter((name) => !documented(name)).map((name) => `docs/configuration.md does not mention \`${name}\``)).toEqual([]);
  });
});

describe('the link and variable extraction', () => {
  it('finds inline links, images and reference definitions, and skips code', () => {
    const markdown = [
      'See [the library](docs/library.md#errors), ![a diagram](<img/flow chart.png> "Flow") and [`executor`](../src/x.ts).',
      'Not a link: `[a](b.md)`. External: [site](https://example.com), [mail](mailto:a@example.com), [top](#top).',
      '```ts',
      'const a = [b](c);',
      '```',
      '[ref]: ./CHANGELOG.md',
    ].join('\n');
    expect(markdownLinks(markdown).map((link) => link.target)).toEqual([
      'docs/library.md#errors',
      'img/flow chart.png',
      '../src/x.ts',
      'https://example.com',
      'mailto:a@example.com',
      '#top',
      './CHANGELOG.md',
    ]);
    expect(
      markdownLinks(markdown)
        .filter((link) => isRelative(link.target))
        .map((link) => link.target),
    ).toEqual(['docs/library.md#errors', 'img/flow chart.png', '../src/x.ts', './CHANGELOG.md']);
  });

  it('finds variables read as env.X, env[...], tunables keys, spread keys and name literals', () => {
    const source = [
      "const tunables = {\n  POOL_MAX: [int(1, 2), '20'],\n  'SLOW_MS': [int(0, 1), '5'],\n} as const;",
      'const a = env.DATABASE_URL ?? process.env.PGHOST;',
      "const b = env['DATABASE_SSL_CA_FILE'];",
      "for (const v of ['DATABASE_SSL', 'PGSSLMODE'] as const) read(env[v]);",
      'loadConfig({ ...env, MIGRATION_URL: url, other: 1 });',
      "const c = SSL_MODES; const d = 'not a name'; const e = 'ABC';",
    ].join('\n');
    expect(environmentVariables(source)).toEqual([
      'DATABASE_SSL',
      'DATABASE_SSL_CA_FILE',
      'DATABASE_URL',
      'MIGRATION_URL',
      'PGHOST',
      'PGSSLMODE',
      'POOL_MAX',
      'SLOW_MS',
    ]);
  });
});

/** Every name `src/index.ts` exports (values and types), from its `export { ... } from` and `export * as` lines. */
function publicExports(source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/^export (?:type )?\{([^}]*)\} from/gm)) {
    for (const item of (match[1] ?? '').split(',')) {
      const name = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop();
      if (name) names.add(name);
    }
  }
  for (const match of source.matchAll(/^export \* as (\w+) from/gm)) names.add(match[1]!);
  return [...names].sort();
}

describe('the public API', () => {
  it('documents every export of src/index.ts, or uses it in the consumer test of the package', () => {
    const names = publicExports(readFileSync(join(root, 'src/index.ts'), 'utf8'));
    expect(names).toEqual(expect.arrayContaining(['createDatabase', 'users', 'Executor', 'Page', 'ValidationError']));
    const documented = [...markdownFiles(), join(root, 'test/integration/package.exports.test.ts')]
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const missing = names.filter((name) => !new RegExp(`\\b${name}\\b`).test(documented));
    expect(missing, 'exported but neither documented nor used by the consumer test').toEqual([]);
  });
});
