/**
 * `npm run codegen [-- --verify] [-- --out <file>]`: regenerates src/schema/generated.ts from
 * the migrations (see scripts/lib/codegen.ts), or checks that the committed file is current.
 */
import type { CodegenResult, GeneratedFile } from './lib/codegen.js';
import { parseCommandLine, printUsage, runMain } from './lib/main.js';

const usage = `Usage: npm run codegen [-- <options>]

Creates a throwaway database on the available PostgreSQL server (TEST_DATABASE_URL if set, else
Testcontainers when Docker answers, else an embedded server), applies every migration, generates
the Kysely types with kysely-codegen (settings: kysely.config.ts) and db/schema.sql (the schema
from catalog queries, for review), writes them, and drops the database. Your development database
is never read.

Options:
  --verify       do not write; exit 1 if a committed file differs from what the migrations produce
  --out <file>   the generated file (default: src/schema/generated.ts)
  -h, --help     show this help

Exit codes: 0 written, unchanged or up to date; 1 failure or (--verify) out of date;
2 usage error; 130 or 143 interrupted by SIGINT or SIGTERM.
`;

runMain(async (argv) => {
  const { values, help } = parseCommandLine(argv, {
    options: { verify: { type: 'boolean' }, out: { type: 'string', value: '<file>' } },
    usage,
  });
  if (help) return printUsage(usage);

  // Loaded only now: kysely-codegen and the server drivers take a while, --help should not.
  const { displayPath, runCodegen } = await import('./lib/codegen.js');
  const result = await runCodegen({
    verify: values.verify ?? false,
    ...(values.out !== undefined ? { outFile: values.out } : {}),
    log: (line) => console.error(line),
  });
  const schemaFailed = result.schema ? reportSchema(result.schema, displayPath(result.schema.file)) : false;
  const file = displayPath(result.outFile);
  const code = reportTypes(result.status, file, result.hint);
  return schemaFailed ? 1 : code;
});

function reportSchema(schema: GeneratedFile, file: string): boolean {
  if (schema.status === 'out-of-date') {
    console.error(
      `codegen --verify: ${file} does not match the schema the migrations build.\n` +
        `Run \`npm run codegen\` and commit the result. Difference (- committed, + expected):\n${schema.hint ?? ''}`,
    );
    return true;
  }
  const said = {
    written: `codegen: wrote ${file}`,
    unchanged: `codegen: ${file} is already up to date`,
    'up-to-date': `codegen --verify: ${file} matches the migrations`,
  }[schema.status];
  console.log(said);
  return false;
}

function reportTypes(status: CodegenResult['status'], file: string, hint: string | undefined): number {
  switch (status) {
    case 'written':
      console.log(`codegen: wrote ${file}`);
      return 0;
    case 'unchanged':
      console.log(`codegen: ${file} is already up to date`);
      return 0;
    case 'up-to-date':
      console.log(`codegen --verify: ${file} matches the migrations`);
      return 0;
    case 'out-of-date':
      console.error(
        `codegen --verify: ${file} does not match what the migrations produce.\n` +
          `Run \`npm run codegen\` and commit the result. Difference (- committed, + expected):\n${hint ?? ''}`,
      );
      return 1;
  }
}
