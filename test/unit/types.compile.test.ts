/**
 * Guarantees that live in the types, proven by compiling with the TypeScript compiler: the enum
 * label lists fail to compile when the generated enum gains or loses a label (or the list does),
 * and the repositories refuse a handle that does not say who it acts as.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const generated = resolve(root, 'src/schema/generated.ts');

function compilerOptions(): ts.CompilerOptions {
  const file = ts.readConfigFile(resolve(root, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(file.config, ts.sys, root);
  return { ...options, noEmit: true, incremental: false, tsBuildInfoFile: undefined };
}
const options = compilerOptions();
let previous: ts.Program | undefined;

/**
 * Type-checks `roots` with some files' contents replaced (`overrides`, by absolute path) and
 * returns the error messages of each root, by path.
 */
function check(roots: string[], overrides: Record<string, string> = {}): Record<string, string[]> {
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  host.readFile = (path) => overrides[resolve(path)] ?? readFile(path);
  host.fileExists = (
    (fileExists) => (path: string) =>
      resolve(path) in overrides || fileExists(path)
  )(host.fileExists.bind(host));
  const program = ts.createProgram({ rootNames: roots, options, host, oldProgram: previous });
  previous = program;
  return Object.fromEntries(
    roots.map((path) => [
      path,
      ts.getPreEmitDiagnostics(program, program.getSourceFile(path)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    ]),
  );
}

const source = (path: string) => readFileSync(path, 'utf8');

describe('enum label lists', () => {
  const cases = [
    { list: 'IDEA_STATUSES', file: 'src/validation/business-ideas.ts', union: 'IdeaStatus', label: 'archived' },
    { list: 'EVALUATION_STATUSES', file: 'src/validation/evaluations.ts', union: 'EvaluationStatus', label: 'failed' },
    { list: 'EVALUATION_PRIORITIES', file: 'src/validation/evaluations.ts', union: 'EvaluationPriority', label: 'high' },
  ] as const;

  it('compile as committed', () => {
    const files = [...new Set(cases.map((c) => resolve(root, c.file)))];
    expect(check(files)).toEqual(Object.fromEntries(files.map((f) => [f, []])));
  });

  it.each(cases)('$list fails to compile when $union gains a label in the database', ({ file, union }) => {
    const widened = source(generated).replace(`export type ${union} = `, `export type ${union} = "added_in_a_migration" | `);
    expect(widened).not.toBe(source(generated));
    const errors = check([resolve(root, file)], { [generated]: widened })[resolve(root, file)];
    expect(errors?.join('\n')).toContain('added_in_a_migration');
  });

  it.each(cases)('$list fails to compile when $union loses $label in the database', ({ file, union, label }) => {
    const declaration = new RegExp(`export type ${union} = [^;]*;`);
    const narrowed = source(generated).replace(declaration, (line) => line.replace(`"${label}" | `, '').replace(` | "${label}"`, ''));
    expect(narrowed).not.toBe(source(generated));
    expect(check([resolve(root, file)], { [generated]: narrowed })[resolve(root, file)]).not.toEqual([]);
  });

  it.each(cases)('$list fails to compile when the list loses $label', ({ list, file, label }) => {
    const path = resolve(root, file);
    const declaration = new RegExp(`export const ${list} = [^;]*;`);
    const edited = source(path).replace(declaration, (line) => line.replace(`'${label}', `, '').replace(`, '${label}'`, ''));
    expect(edited).not.toBe(source(path));
    expect(check([path], { [path]: edited })[path]?.join('\n')).toContain(label);
  });
});

describe('the calling paths', () => {
  const dir = resolve(root, 'test/unit/__types__');
  const snippet = (name: string, body: string): [string, string] => [
    resolve(dir, `${name}.ts`),
    `import type { Kysely } from 'kysely';
import type { Database } from '../../../src/db/database.js';
import * as auditLog from '../../../src/repositories/audit-log.js';
import * as businessIdeas from '../../../src/repositories/business-ideas.js';
import * as evaluations from '../../../src/repositories/evaluations.js';
import * as users from '../../../src/repositories/users.js';
import type { DB } from '../../../src/schema/generated.js';
declare const database: Database;
declare const app: Database<'app'>;
declare const worker: Database<'worker'>;
declare const raw: Kysely<DB>;
declare const id: string;
void [auditLog, businessIdeas, evaluations, users, app, worker, raw, id];
export const run = async () => {
  ${body};
};
`,
  ];
  const accepted = {
    'a user transaction': 'await database.withUser(id, (trx) => businessIdeas.getIdea(trx, id))',
    'the worker path': 'await businessIdeas.getIdea(database.worker, id)',
    'the owner path': 'await auditLog.listAuditEntries(database.owner, { tableName: "users", rowId: id })',
    'anonymous, for users': 'await users.getUserByEmail(database.anonymous, "ada@example.com")',
    'a transaction on a path': 'await database.transaction(database.owner, (trx) => businessIdeas.getIdea(trx, id))',
    'the owner role, the audit log': 'await database.db.selectFrom("auditLog").select("id").execute()',
    'the owner path, the audit log in a transaction':
      'await database.transaction(database.owner, (trx) => trx.selectFrom("auditLog").select("id").execute())',
    'the app role, its own tables':
      'await app.db.selectFrom("businessIdeas").innerJoin("users", "users.id", "businessIdeas.userId").select("users.email").execute()',
    'the app role, a user transaction':
      'await app.withUser(id, async (trx) => { await trx.selectFrom("users").select("id").execute(); return businessIdeas.getIdea(trx, id); })',
    'the app role, sign-up': 'await users.getUserByEmail(app.anonymous, "ada@example.com")',
    'the worker role, the queue': 'await evaluations.claimNext(worker.worker, "worker-1")',
    'the worker role, a transaction on its path':
      'await worker.transaction(worker.worker, (trx) => trx.selectFrom("agentResults").select("id").execute())',
  };
  const refused = {
    'a plain Kysely': 'await businessIdeas.getIdea(raw, id)',
    'database.db': 'await businessIdeas.getIdea(database.db, id)',
    'anonymous, for ideas': 'await businessIdeas.getIdea(database.anonymous, id)',
    'a worker, for the audit log': 'await auditLog.listAuditEntries(database.worker, { tableName: "users", rowId: id })',
    "Kysely's own transaction (unmarked)": 'await database.owner.transaction().execute((trx) => businessIdeas.getIdea(trx, id))',
    'the app role, the audit log': 'await app.db.selectFrom("auditLog").select("id").execute()',
    'the app role, seed history in a transaction':
      'await app.transaction(app.db, (trx) => trx.selectFrom("seedHistory").selectAll().execute())',
    'a user transaction, the audit log': 'await database.withUser(id, (trx) => trx.selectFrom("auditLog").select("id").execute())',
    'the app role has no owner path': 'await users.getUser(app.owner, id)',
    'the app role has no worker path': 'await evaluations.claimNext(app.worker, "worker-1")',
    'the worker role, users': 'await worker.db.selectFrom("users").select("id").execute()',
    'the worker role has no user path': 'await worker.withUser(id, async () => 1)',
    'a worker, for users': 'await users.getUser(database.worker, id)',
    'a worker, creating an idea': 'await businessIdeas.createIdea(database.worker, id, { title: "t", description: "d" })',
    'a worker, creating an evaluation': 'await evaluations.createEvaluation(database.worker, id)',
  };

  it('accept every path a function is for, and refuse every other handle', () => {
    const files = Object.fromEntries(
      Object.entries({ ...accepted, ...refused }).map(([name, body]) => snippet(name.replace(/\W+/g, '-'), body)),
    );
    const errors = check(Object.keys(files), files);
    const failing = (names: object) =>
      Object.keys(names).filter((name) => (errors[resolve(dir, `${name.replace(/\W+/g, '-')}.ts`)] ?? ['missing']).length > 0);
    expect(failing(accepted)).toEqual([]);
    expect(failing(refused)).toEqual(Object.keys(refused));
  });
});
