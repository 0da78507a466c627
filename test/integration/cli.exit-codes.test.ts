/**
 * One exit-code convention for every command (docs/cli.md#exit-codes): 0 success, 1 failure, 2
 * usage error with a message that names the flag (never Node's raw parseArgs text) and the usage.
 * Every npm script and every command of the binary (run from src/ as npm runs the scripts; the
 * built binary is package.bin.test.ts's), and the help texts as docs/cli.md holds them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/embedded.js';
import { cleanEnv, repoRoot, runCli, tsxLoader, type CliResult } from '../support/cli.js';
import { spawn } from 'node:child_process';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let closed: string;
let migrated: TestDatabase;
beforeAll(async () => {
  // dl_: past the development-name guard of db:reset and db:clean, to the connection.
  closed = `postgres://postgres@127.0.0.1:${await freePort()}/dl_nowhere`;
  migrated = await createTestDatabase();
});
afterAll(() => migrated?.drop());

/** `ai-data-layer <args>` from the sources, the way `node dist/cli/main.js` runs once built. */
function bin(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, join(repoRoot, 'src/cli/main.ts'), ...args], {
      cwd: repoRoot,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** At most `limit` at a time: each is a node process compiling TypeScript on a 2-core machine. */
async function all<T>(jobs: (() => Promise<T>)[], limit = 4): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

interface Case {
  name: string;
  run: () => Promise<CliResult>;
  code: number;
  /** On stderr (or stdout for help). */
  says: string;
}

function expectCases(cases: Case[], results: CliResult[]): void {
  const failures = cases.flatMap((c, i) => {
    const r = results[i]!;
    const output = `${r.stdout}\n${r.stderr}`;
    const problems = [
      ...(r.code === c.code ? [] : [`exit ${r.code}, expected ${c.code}`]),
      ...(output.includes(c.says) ? [] : [`does not say ${JSON.stringify(c.says)}`]),
      ...(/positional argument|ERR_PARSE_ARGS|\n\s+at /.test(r.stderr) ? ['prints parseArgs text or a stack trace'] : []),
    ];
    return problems.length > 0 ? [`${c.name}: ${problems.join('; ')}\n${r.stderr.slice(0, 600)}`] : [];
  });
  expect(failures).toEqual([]);
}

describe('the npm scripts', () => {
  const scripts: [script: string, name: string, failing: { args: string[]; env: Record<string, string>; says: string }][] = [
    ['migrate.ts', 'migrate', { args: ['status'], env: { DATABASE_URL: '<closed>' }, says: 'could not connect to' }],
    ['seed.ts', 'seed', { args: [], env: { DATABASE_URL: '<closed>' }, says: 'could not connect to' }],
    ['codegen.ts', 'codegen', { args: ['--verify'], env: { TEST_DATABASE_URL: '<closed>' }, says: 'could not connect to' }],
    ['start.ts', 'start', { args: [], env: { DATABASE_URL: '<closed>' }, says: 'could not connect to' }],
    ['serve.ts', 'db:serve', { args: [], env: { DATABASE_URL: '<closed>' }, says: 'could not connect to' }],
    ['db-reset.ts', 'db:reset', { args: [], env: { DATABASE_URL: '<closed>' }, says: 'could not connect to' }],
    ['db-clean.ts', 'db:clean', { args: [], env: { DATABASE_URL: '<closed>' }, says: 'could not connect to' }],
    ['db-backup.ts', 'db:backup', { args: [], env: { DATABASE_URL: '<closed>' }, says: 'error: ' }],
    ['db-restore.ts', 'db:restore', { args: ['--file', '/nonexistent/x.dump'], env: {}, says: 'does not exist; nothing was changed' }],
    ['bench.ts', 'bench', { args: [], env: { TEST_DATABASE_URL: '<closed>' }, says: 'could not connect to' }],
  ];

  it('exit 0 for --help, 2 with the flag named and the usage for an unknown option, 1 for a failure', async () => {
    const cases: Case[] = scripts.flatMap(([script, name, failing]) => {
      const env = Object.fromEntries(Object.entries(failing.env).map(([k, v]) => [k, v === '<closed>' ? closed : v]));
      const usage = name === 'start' ? 'Usage: npm start' : `Usage: npm run ${name}`;
      return [
        { name: `${name} --help`, run: () => runCli(script, ['--help']), code: 0, says: usage },
        {
          name: `${name} --bogus`,
          run: () => runCli(script, name === 'migrate' ? ['up', '--bogus'] : ['--bogus']),
          code: 2,
          says: `error: unknown option --bogus; accepted: `,
        },
        { name: `${name} failing`, run: () => runCli(script, failing.args, { env }), code: 1, says: failing.says },
      ];
    });
    // The usage follows a usage error.
    cases.push({ name: 'seed --scale', run: () => runCli('seed.ts', ['--scale', 'lots']), code: 2, says: 'Usage: npm run seed' });
    cases.push({ name: 'db:restore without --file', run: () => runCli('db-restore.ts', []), code: 2, says: '--file is required' });
    cases.push({ name: 'migrate create', run: () => runCli('migrate.ts', ['create']), code: 2, says: 'create takes exactly one name' });
    // bench's three benchmarks: load (also without a name), queries and migrations.
    const bench = (args: string[], env: Record<string, string> = {}) => runCli('bench.ts', args, { env });
    cases.push(
      { name: 'bench load --help', run: () => bench(['load', '--help']), code: 0, says: 'Usage: npm run bench [-- [load] [options]]' },
      {
        name: 'bench frob',
        run: () => bench(['frob']),
        code: 2,
        says: 'error: unknown benchmark "frob"; accepted: load, queries, migrations',
      },
      { name: 'bench load --bogus', run: () => bench(['load', '--bogus']), code: 2, says: 'error: unknown option --bogus; accepted: ' },
      { name: 'bench queries --help', run: () => bench(['queries', '--help']), code: 0, says: 'Usage: npm run bench -- queries [options]' },
      {
        name: 'bench queries --bogus',
        run: () => bench(['queries', '--bogus']),
        code: 2,
        says: 'error: unknown option --bogus; accepted: ',
      },
      {
        name: 'bench queries --rounds 0',
        run: () => bench(['queries', '--rounds', '0']),
        code: 2,
        says: '--rounds must be a whole number',
      },
      {
        name: 'bench queries --only',
        run: () => bench(['queries', '--only', 'nap']),
        code: 2,
        says: '--only: unknown nap; accepted: point-read',
      },
      {
        name: 'bench migrations --help',
        run: () => bench(['migrations', '--help']),
        code: 0,
        says: 'Usage: npm run bench -- migrations [options]',
      },
      {
        name: 'bench migrations --rows 5',
        run: () => bench(['migrations', '--rows', '5']),
        code: 2,
        says: '--rows must be a whole number',
      },
      {
        name: 'bench migrations failing',
        run: () => bench(['migrations', '--rows', '100'], { TEST_DATABASE_URL: closed }),
        code: 1,
        says: 'could not connect to',
      },
      {
        name: 'bench queries failing',
        run: () => bench(['queries', '--rounds', '1'], { TEST_DATABASE_URL: closed }),
        code: 1,
        says: 'could not connect to',
      },
    );
    const results = await all(cases.map((c) => c.run));
    expectCases(cases, results);
  }, 240_000);
});

describe('the ai-data-layer binary', () => {
  it('exit 0 for help, version and a ready database; 1 for a failure; 2 for usage and configuration errors', async () => {
    const url = migrated.url;
    const cases: Case[] = [
      { name: '--help', run: () => bin(['--help']), code: 0, says: 'Usage: ai-data-layer <command> [options]' },
      { name: 'help migrate', run: () => bin(['help', 'migrate']), code: 0, says: 'Usage: ai-data-layer migrate <command>' },
      { name: '--version', run: () => bin(['--version']), code: 0, says: '@ai-validation/data-layer ' },
      { name: 'no command', run: () => bin([]), code: 2, says: 'error: a command is required: migrate, health, help' },
      { name: 'unknown command', run: () => bin(['frob']), code: 2, says: 'error: unknown command "frob"' },
      { name: 'unknown option', run: () => bin(['--frob']), code: 2, says: 'error: unknown option --frob; accepted: --version, -h/--help' },
      { name: 'seed', run: () => bin(['seed']), code: 2, says: 'seed is not part of the installed package' },
      {
        name: 'migrate create',
        run: () => bin(['migrate', 'create', 'x']),
        code: 2,
        says: 'create is not offered by the installed package',
      },
      { name: 'migrate --bogus', run: () => bin(['migrate', 'up', '--bogus']), code: 2, says: 'unknown option --bogus' },
      {
        name: 'migrate, no config',
        run: () => bin(['migrate', 'status']),
        code: 2,
        says: 'DATABASE_MIGRATION_URL, DATABASE_URL: neither is set',
      },
      {
        name: 'migrate, bad config',
        run: () => bin(['migrate', 'status'], { DATABASE_URL: url, MIGRATION_LOCK_TIMEOUT_MS: 'soon' }),
        code: 2,
        says: 'MIGRATION_LOCK_TIMEOUT_MS: must be a whole number',
      },
      {
        name: 'migrate, unreachable',
        run: () => bin(['migrate', 'status'], { DATABASE_URL: closed }),
        code: 1,
        says: 'could not connect to',
      },
      { name: 'migrate status', run: () => bin(['migrate', 'status'], { DATABASE_MIGRATION_URL: url }), code: 0, says: 'applied' },
      { name: 'health --help', run: () => bin(['health', '--help']), code: 0, says: 'Usage: ai-data-layer health [options]' },
      { name: 'health --bogus', run: () => bin(['health', '--bogus']), code: 2, says: 'unknown option --bogus' },
      { name: 'health, no config', run: () => bin(['health']), code: 2, says: 'DATABASE_URL: is not set' },
      { name: 'health, unreachable', run: () => bin(['health'], { DATABASE_URL: closed }), code: 1, says: 'status      down (not ready)' },
      { name: 'health, ready', run: () => bin(['health'], { DATABASE_URL: url }), code: 0, says: 'status      ok (ready)' },
    ];
    const results = await all(cases.map((c) => c.run));
    expectCases(cases, results);
  }, 240_000);
});

describe('the help texts', () => {
  /** The fenced block after `<!-- help: <command> -->` in docs/cli.md. */
  const documented = (command: string): string => {
    const page = readFileSync(join(repoRoot, 'docs/cli.md'), 'utf8');
    const at = page.indexOf(`<!-- help: ${command} -->`);
    expect(at, `docs/cli.md has no help block for ${command}`).toBeGreaterThanOrEqual(0);
    const block = /```text\n([\s\S]*?)```/.exec(page.slice(at));
    return block?.[1] ?? '';
  };

  it('are the text of docs/cli.md, verbatim', async () => {
    const [main, migrate, health, npm] = await Promise.all([
      bin(['--help']),
      bin(['migrate', '--help']),
      bin(['health', '--help']),
      runCli('migrate.ts', ['--help']),
    ]);
    expect(main.stdout).toBe(documented('ai-data-layer --help'));
    expect(migrate.stdout).toBe(documented('ai-data-layer migrate --help'));
    expect(health.stdout).toBe(documented('ai-data-layer health --help'));
    expect(npm.stdout).toBe(documented('npm run migrate -- --help'));
  }, 60_000);
});
