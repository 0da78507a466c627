/**
 * `npm run codegen`: the committed src/schema/generated.ts is what the migrations produce,
 * `--verify` fails on a file that differs (and on a schema change that was not regenerated),
 * and a write is byte-identical to the committed file (the output is deterministic).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codegen } from '../../kysely.config.js';
import { runCodegen } from '../../scripts/lib/codegen.js';
import type { PostgresServer } from '../../scripts/lib/postgres-server.js';
import { toConnectionUrl } from '../../src/connection.js';
import { defaultMigrationsDir } from '../../src/migrate/index.js';
import { adminConnection } from '../support/database.js';

const root = resolve(defaultMigrationsDir(), '..');
const committedFile = resolve(root, codegen.outFile);
const committed = readFileSync(committedFile, 'utf8');
let server: PostgresServer;
let scratch: string;

beforeAll(() => {
  // The harness's server, shared: runCodegen must not stop it.
  server = { kind: 'external', admin: adminConnection(), description: 'the test server', stop: async () => {} };
  scratch = mkdtempSync(join(tmpdir(), 'dl-codegen-test-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('runCodegen', () => {
  it('verifies the committed file against the migrations', async () => {
    const result = await runCodegen({ verify: true, server });
    expect(result).toMatchObject({ status: 'up-to-date', outFile: committedFile });
    expect(result.output).toBe(committed.replace(/\r\n/g, '\n'));
    expect(result.schema).toMatchObject({ status: 'up-to-date', file: join(root, 'db/schema.sql') });
  });

  it('fails verification of an altered copy, naming the changed line', async () => {
    const altered = join(scratch, 'altered.generated.ts');
    writeFileSync(altered, committed.replace('agentType: string;', 'agentType: number;'));
    const result = await runCodegen({ verify: true, server, outFile: altered });
    expect(result.status).toBe('out-of-date');
    expect(result.hint?.split('\n')).toEqual(expect.arrayContaining(['-  agentType: number;', '+  agentType: string;']));
    // Verify never writes.
    expect(readFileSync(altered, 'utf8')).toContain('agentType: number;');
  });

  it('fails verification when a migration changes the schema and codegen was not rerun', async () => {
    const migrations = join(scratch, 'migrations');
    cpSync(defaultMigrationsDir(), migrations, { recursive: true });
    writeFileSync(
      join(migrations, '20990101000000_add_users_locale.sql'),
      "-- migrate:up\nALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'en';\n\n-- migrate:down\nALTER TABLE users DROP COLUMN locale;\n",
    );
    const result = await runCodegen({ verify: true, server, migrationsDir: migrations });
    expect(result.status).toBe('out-of-date');
    expect(result.hint).toContain('+  locale: Generated<string>;');
    // db/schema.sql shows the same change as the reviewer will see it.
    expect(result.schema?.status).toBe('out-of-date');
    expect(result.schema?.hint).toContain("+  locale text DEFAULT 'en'::text NOT NULL");
  });

  it('writes output identical to the committed file, and leaves an up-to-date file alone', async () => {
    const target = join(scratch, 'written.generated.ts');
    const first = await runCodegen({ server, outFile: target });
    expect(first.status).toBe('written');
    expect(readFileSync(target, 'utf8')).toBe(committed.replace(/\r\n/g, '\n'));
    const second = await runCodegen({ server, outFile: target });
    expect(second.status).toBe('unchanged');
  });
});

describe('the codegen CLI', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/codegen.ts'), ...args], {
      cwd: root,
      env: { ...process.env, TEST_DATABASE_URL: toConnectionUrl(adminConnection()) },
      encoding: 'utf8',
      timeout: 60_000,
    });

  // The passing path is the first runCodegen test above (and CI runs `npm run codegen -- --verify`);
  // here only what the CLI adds: exit codes and messages. Each spawn costs a tsx start-up.
  it('exits 1 with a diff hint when the file differs', () => {
    const altered = join(scratch, 'cli-altered.generated.ts');
    writeFileSync(altered, committed.replace('evaluationId: string;', 'evaluationId: number;'));
    const bad = cli(['--verify', '--out', altered]);
    expect(bad.stderr).toContain('does not match what the migrations produce');
    expect(bad.stderr).toContain('+  evaluationId: string;');
    expect(bad.status).toBe(1);
  });

  it('rejects an unknown option with exit code 2 and the usage', () => {
    const bad = cli(['--verfy']);
    expect(bad.stderr).toContain('error: unknown option --verfy; accepted: --verify, --out <file>, -h/--help');
    expect(bad.stderr).toContain('Usage: npm run codegen');
    expect(bad.status).toBe(2);
  });
});
