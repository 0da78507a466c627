/** scripts/migrate.ts as operators run it: exit codes, output, argument errors. */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedNames, createScratchDatabase, migrationsDir, sql, tables, type MigrationsDir, type ScratchDatabase } from './support.js';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/migrate.ts');
const A = '20260101000000_create_a';
const B = '20260102000000_create_b';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

let db: ScratchDatabase;
let dir: MigrationsDir;
beforeAll(async () => {
  db = await createScratchDatabase();
  dir = migrationsDir({
    [`${A}.sql`]: sql('CREATE TABLE a (id int);', 'DROP TABLE a;'),
    [`${B}.sql`]: sql('CREATE TABLE b (id int);', 'DROP TABLE b;'),
  });
});
afterAll(async () => {
  await db.drop();
  dir.cleanup();
});

function cli(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      env: { ...withoutNpm(process.env), DATABASE_URL: db.url, DATABASE_MIGRATION_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Our environment without npm's variables: under `npm test` they would make the CLI think npm ran it. */
function withoutNpm(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !/^npm_/i.test(key)));
}

describe('npm run migrate', () => {
  it('prints help with exit 0, and rejects unknown flags, commands and misplaced options with exit 2, touching nothing', async () => {
    const [help, helpCommand, flag, command, none, misplaced, step, missing, create] = await Promise.all([
      cli(['--help']),
      cli(['help']),
      cli(['up', '--force']),
      cli(['sideways']),
      cli([]),
      cli(['up', '--json']),
      cli(['down', '--step', 'two']),
      cli(['up', '--to']),
      cli(['create', 'NotSnake']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run migrate -- <command> [options]');
    expect(help.stdout).toContain('--allow-out-of-order');
    expect(helpCommand.stdout).toBe(help.stdout);

    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('error: unknown option --force; accepted: --to <migration>, --step <n>, --dry-run');
    // Not Node's parseArgs text, whose hint (put it after "--") is wrong here.
    expect(flag.stderr).not.toContain('positional argument');
    expect(flag.stderr).toContain('Run "npm run migrate -- --help" for the commands and options.');

    expect(command.code).toBe(2);
    expect(command.stderr).toContain(
      'unknown command "sideways"; the commands are up, down, redo, status, lint, baseline, adopt-legacy, wait, create, help',
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('a command is required');
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('up does not accept --json');
    expect(step.code).toBe(2);
    expect(step.stderr).toContain('--step must be a whole number of 1 or more, got "two"');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--to needs a value: --to <migration>');
    expect(create.code).toBe(2);
    expect(create.stderr).toContain('must be snake_case');
    expect(await tables(db)).toEqual([]);
  }, 60_000);

  it('refuses a --to that names no migration with exit 2, before creating the ledger', async () => {
    const own = await createScratchDatabase();
    try {
      const [up, down] = await Promise.all([
        cli(['up', '--to', 'nonexistent', '--dir', dir.path], { DATABASE_URL: own.url }),
        cli(['down', '--to', '20990101000000', '--dir', dir.path], { DATABASE_URL: own.url }),
      ]);
      expect(up.code).toBe(2);
      expect(up.stderr).toContain(
        'error: --to: no migration named "nonexistent" (give a file name or its 14-digit timestamp); nothing was run',
      );
      expect(down.code).toBe(2);
      expect(down.stderr).toContain('error: --to: no migration named "20990101000000"');
      // Not even the ledger: a refused run leaves the database as it found it.
      expect(await tables(own)).toEqual([]);
    } finally {
      await own.drop();
    }
  }, 60_000);

  it('dry-runs, applies, reports status, reverts; exit 0 each time', async () => {
    const dry = await cli(['up', '--dry-run', '--dir', dir.path]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('-- dry run: nothing was changed');
    expect(dry.stdout).toContain('CREATE TABLE b (id int);');
    expect(await tables(db)).toEqual([]);

    const up = await cli(['up', '--to', '20260101000000', '--dir', dir.path, '--lock-timeout', '1000']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`applying ${A}\\napplied ${A} \\(\\d+ ms\\)\\n1 migration applied`));
    expect(up.stderr).toContain(`database: postgres://postgres@`);

    const [status, table] = await Promise.all([cli(['status', '--json', '--dir', dir.path]), cli(['status', '--dir', dir.path])]);
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout) as { name: string; state: string; appliedAt?: string }[];
    expect(parsed.map((s) => [s.name, s.state])).toEqual([
      [A, 'applied'],
      [B, 'pending'],
    ]);
    expect(Date.parse(parsed[0]?.appliedAt ?? '')).not.toBeNaN();

    expect(table.stdout).toMatch(new RegExp(`applied\\s+${A}\\s+\\d{4}-`));
    expect(table.stdout).toContain('1 applied, 1 pending');

    const down = await cli(['down', '--to', '0', '--dir', dir.path]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain('1 migration reverted');
    expect(await tables(db)).toEqual(['schema_migrations']);
  }, 60_000);

  it('exits 1 when a migration fails, printing the file, statement and PostgreSQL message', async () => {
    const bad = migrationsDir({ '20260103000000_bad.sql': sql('CREATE TABLE x (id int);\nSELECT * FROM missing_table;', 'DROP TABLE x;') });
    try {
      const outcome = await cli(['up', '--dir', bad.path]);
      expect(outcome.code).toBe(1);
      expect(outcome.stderr).toContain('error: 20260103000000_bad.sql (up) failed at statement 2 of 2, line 3:');
      expect(outcome.stderr).toContain('relation "missing_table" does not exist');
      expect(outcome.stderr).not.toContain('    at '); // a message, not a stack trace
      expect(await tables(db)).not.toContain('x');
    } finally {
      bad.cleanup();
    }
  }, 60_000);

  it('exits 1 from status when an applied file changed, from down over it, and from a bad connection', async () => {
    const own = await createScratchDatabase();
    const edited = migrationsDir({ [`${A}.sql`]: sql('CREATE TABLE a (id int);', 'DROP TABLE a;') });
    try {
      await own.migrator(edited.path).up();
      edited.write({ [`${A}.sql`]: sql('CREATE TABLE a (id bigint);', 'DROP TABLE a;') });
      const [status, down, refused] = await Promise.all([
        cli(['status', '--dir', edited.path], { DATABASE_URL: own.url }),
        cli(['down', '--dir', edited.path], { DATABASE_URL: own.url }),
        cli(['status', '--dir', edited.path], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' }),
      ]);
      expect(status.code).toBe(1);
      expect(status.stdout).toContain(`changed   ${A}`);
      expect(status.stderr).toContain('changed or missing migrations');
      expect(down.code).toBe(1);
      expect(down.stderr).toContain(`${A}.sql was edited after it was applied`);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('could not connect to postgres://postgres@127.0.0.1:1/nowhere');
      expect(await appliedNames(own)).toEqual([A]);
    } finally {
      edited.cleanup();
      await own.drop();
    }
  }, 60_000);

  it('baseline: exit 1 listing the differences, then 0 recording the migrations once the schema matches; --step is a usage error', async () => {
    const own = await createScratchDatabase();
    try {
      await own.query('CREATE TABLE a (id bigint)'); // the file says int
      const usage = await cli(['baseline', '--step', '1', '--dir', dir.path], { DATABASE_URL: own.url });
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('baseline does not accept --step');

      const refused = await cli(['baseline', '--to', A, '--dir', dir.path], { DATABASE_URL: own.url });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('error: baseline refused');
      expect(refused.stderr).toContain('different column a.id: expected integer, found bigint');
      expect(await tables(own)).toEqual(['a']);

      await own.query('ALTER TABLE a ALTER COLUMN id TYPE int');
      const dry = await cli(['baseline', '--to', A, '--dry-run', '--dir', dir.path], { DATABASE_URL: own.url });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain('1 migration would be recorded as applied (dry run: nothing was changed)');
      expect(await tables(own)).toEqual(['a']);
      const done = await cli(['baseline', '--to', A, '--dir', dir.path], { DATABASE_URL: own.url });
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toContain(`recorded ${A} as applied (not run)\n1 migration recorded as applied`);
      expect(await appliedNames(own)).toEqual([A]);
    } finally {
      await own.drop();
    }
  }, 60_000);

  it('creates a timestamped file with both sections, after the newest existing one', async () => {
    const target = migrationsDir({ '20991231235959_far_future.sql': sql('SELECT 1;', 'SELECT 1;') });
    try {
      const outcome = await cli(['create', 'add_user_roles', '--dir', target.path]);
      expect(outcome.code, outcome.stderr).toBe(0);
      const created = readdirSync(target.path).filter((f) => f.endsWith('_add_user_roles.sql'));
      expect(created).toEqual(['21000101000000_add_user_roles.sql']);
      expect(outcome.stdout).toContain('created ');
      const content = readFileSync(join(target.path, created[0]!), 'utf8');
      expect(content).toMatch(/^-- migrate:up\n[\s\S]*\n-- migrate:down\n/);

      const fresh = migrationsDir();
      try {
        const before = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
        expect((await cli(['create', 'first_one', '--dir', fresh.path])).code).toBe(0);
        const [file] = readdirSync(fresh.path);
        expect(file).toMatch(/^\d{14}_first_one\.sql$/);
        expect(file!.slice(0, 14) >= before).toBe(true);
      } finally {
        fresh.cleanup();
      }
    } finally {
      target.cleanup();
    }
  }, 60_000);
});
