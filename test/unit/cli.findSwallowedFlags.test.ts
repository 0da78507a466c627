/**
 * The flags npm takes for itself, from the environment npm 11 gives a script (measured with npm
 * 11.19: `npm run migrate up --dry-run` and friends; test/integration/cli.npm-flags.test.ts runs
 * the real npm), and the command line the refusal suggests.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../../src/cli/args.js';
import { MIGRATE_OPTIONS } from '../../src/cli/migrate.js';
import { findSwallowedFlags } from '../../src/cli/npm.js';

const work = mkdtempSync(join(tmpdir(), 'dl-npm-flags-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What npm sets for every script run, here with a user .npmrc like this machine's (yes=false, audit=false). */
function npmEnv(script: string, flags: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  const userconfig = join(work, 'user.npmrc');
  writeFileSync(userconfig, 'fund=false\naudit=false\nyes=false\n; a comment\n//registry.example/:_authToken=secret\n');
  return {
    npm_lifecycle_event: script,
    npm_lifecycle_script: `exec node --import tsx scripts/${script}.ts`,
    npm_command: 'run-script',
    npm_config_userconfig: userconfig,
    npm_config_globalconfig: join(work, 'missing-global.npmrc'),
    npm_config_local_prefix: work,
    npm_config_yes: '',
    npm_config_audit: '',
    npm_config_fund: '',
    npm_config_cafile: '/etc/ssl/certs/ca-certificates.crt',
    ...Object.fromEntries(Object.entries(flags).map(([k, v]) => [`npm_config_${k}`, v])),
    ...extra,
  };
}

// The migrate command's first positional is its subcommand, never a value (as parseCommandLine says).
const migrate = (argv: string[], flags: Record<string, string>, extra?: Record<string, string>) =>
  findSwallowedFlags(MIGRATE_OPTIONS, argv, npmEnv('migrate', flags, extra), 1);

describe('findSwallowedFlags', () => {
  it('finds npm-owned booleans and shows the command line with "--"', () => {
    const found = migrate(['up'], { dry_run: 'true' });
    expect(found?.flags).toEqual(['--dry-run']);
    expect(found?.suggestion).toBe('npm run migrate -- up --dry-run');
    expect(found?.message).toBe(
      'npm took --dry-run for itself (it set npm_config_dry_run=true), so the command did not receive it; nothing was run.\n' +
        'npm passes on what comes after "--":\n  npm run migrate -- up --dry-run',
    );
    expect(migrate(['status'], { json: 'true' })?.suggestion).toBe('npm run migrate -- status --json');
  });

  it("finds --to under npm's expansion of it (--token-description), with its value", () => {
    const found = migrate(['up'], { token_description: '20261124120000' });
    expect(found?.flags).toEqual(['--to']);
    expect(found?.suggestion).toBe('npm run migrate -- up --to 20261124120000');
    expect(found?.message).toContain('npm_config_token_description=20261124120000');
  });

  it('takes the values npm passed on as separate arguments from the end, in the order of the options', () => {
    expect(migrate(['up', '2'], { step: 'true' })?.suggestion).toBe('npm run migrate -- up --step 2');
    expect(migrate(['up', 'x'], { dir: 'true' })?.suggestion).toBe('npm run migrate -- up --dir x');
    expect(migrate(['up'], { step: '2' })?.suggestion).toBe('npm run migrate -- up --step 2'); // --step=2
    expect(migrate(['up', '2', '100'], { step: 'true', dry_run: 'true', lock_timeout: 'true' })?.suggestion).toBe(
      'npm run migrate -- up --step 2 --dry-run --lock-timeout 100',
    );
    expect(migrate(['up'], { step: 'true' })?.suggestion).toBe('npm run migrate -- up --step <value>');
  });

  it('finds a --no- flag from the false npm records, and quotes what the shell would split', () => {
    const seed = { set: { type: 'string' }, scale: { type: 'string' }, 'no-checks': { type: 'boolean' } } as const;
    const found = findSwallowedFlags(seed, ['my set'], npmEnv('seed', { set: 'true', checks: '' }));
    expect(found?.suggestion).toBe("npm run seed -- --set 'my set' --no-checks");
    expect(findSwallowedFlags(seed, [], npmEnv('seed', { checks: 'true' }))).toBeUndefined();
  });

  it('ignores what npm was configured with (.npmrc, NPM_CONFIG_*) rather than given', () => {
    writeFileSync(join(work, '.npmrc'), 'json = true\n');
    try {
      expect(migrate(['status'], { json: 'true' })).toBeUndefined();
    } finally {
      rmSync(join(work, '.npmrc'));
    }
    expect(migrate(['status'], { json: 'true' }, { NPM_CONFIG_JSON: 'true' })).toBeUndefined();
    expect(migrate(['status'], { json: 'true' })).toBeDefined();
  });

  it('ignores a flag the command received anyway, and anything when npm did not run it', () => {
    expect(migrate(['up', '--dry-run'], { dry_run: 'true' })).toBeUndefined();
    expect(findSwallowedFlags(MIGRATE_OPTIONS, ['up'], { npm_config_dry_run: 'true' })).toBeUndefined();
    expect(migrate(['up'], {})).toBeUndefined();
  });

  it("drops the arguments the script's own text passed, and suggests npx for npm exec", () => {
    const env = npmEnv('migrate', { dry_run: 'true' }, { npm_lifecycle_script: 'ai-data-layer migrate up' });
    // As the binary calls it: `migrate` is the binary's command, `up` the migrate command's.
    expect(findSwallowedFlags(MIGRATE_OPTIONS, ['migrate', 'up'], env, 2)?.suggestion).toBe('npm run migrate -- --dry-run');
    const step = npmEnv('migrate', { step: 'true' }, { npm_lifecycle_script: 'ai-data-layer migrate up' });
    expect(findSwallowedFlags(MIGRATE_OPTIONS, ['migrate', 'up', '2'], step, 2)?.suggestion).toBe('npm run migrate -- --step 2');
    const bare = npmEnv('db', { dry_run: 'true' }, { npm_lifecycle_script: 'ai-data-layer' });
    expect(findSwallowedFlags(MIGRATE_OPTIONS, ['migrate', 'up'], bare, 2)?.suggestion).toBe('npm run db -- migrate up --dry-run');
    const exec = npmEnv('npx', { dry_run: 'true' }, { npm_command: 'exec', npm_lifecycle_script: 'ai-data-layer' });
    expect(findSwallowedFlags(MIGRATE_OPTIONS, ['migrate', 'up'], exec, 2)?.suggestion).toBe('npx ai-data-layer migrate up --dry-run');
    const start = npmEnv('start', { force: 'true' }, { npm_command: 'start' });
    expect(findSwallowedFlags({ force: { type: 'boolean' } }, [], start)?.suggestion).toBe('npm start -- --force');
  });
});

describe('parseCommandLine', () => {
  const options = { file: { type: 'string', value: '<path>' }, force: { type: 'boolean' } } as const;
  const parse = (args: string[], positionals = 0) => parseCommandLine(args, { options, positionals, usage: 'Usage: x', env: {} });
  const refusal = (args: string[]) => {
    try {
      parse(args);
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).usage).toBe('Usage: x');
      return (error as Error).message;
    }
    throw new Error(`accepted ${args.join(' ')}`);
  };

  it('parses values, flags, --help and positionals', () => {
    expect(parse(['--file', 'a.dump', '--force'])).toEqual({ values: { file: 'a.dump', force: true }, positionals: [], help: false });
    expect(parse(['--file=a.dump'])).toMatchObject({ values: { file: 'a.dump' } });
    expect(parse(['-h'])).toMatchObject({ help: true });
    expect(parse(['one'], 1)).toMatchObject({ positionals: ['one'] });
  });

  it('names the flag and what is accepted, never with the parseArgs hint', () => {
    expect(refusal(['--frce'])).toBe('unknown option --frce; accepted: --file <path>, --force, -h/--help');
    expect(refusal(['-x'])).toBe('unknown option -x; accepted: --file <path>, --force, -h/--help');
    expect(refusal(['--file'])).toBe('--file needs a value: --file <path>');
    expect(refusal(['--file', '--force'])).toBe('--file needs a value: --file <path>');
    expect(refusal(['--force=yes'])).toBe('--force takes no value (got "yes")');
    expect(refusal(['--file', 'a', '--file', 'b'])).toBe('--file is given more than once');
    expect(refusal(['extra'])).toBe('unexpected argument "extra"');
  });

  it('refuses first, with the npm spelling, when npm took a flag', () => {
    expect(() => parseCommandLine(['x.dump'], { options, usage: 'Usage: x', env: npmEnv('db:restore', { file: 'true' }) })).toThrow(
      'npm took --file for itself (it set npm_config_file=true), so the command did not receive it; nothing was run.\nnpm passes on what comes after "--":\n  npm run db:restore -- --file x.dump',
    );
  });
});
