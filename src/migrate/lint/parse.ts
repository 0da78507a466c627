/**
 * PostgreSQL's own parser (libpg-query, compiled to WebAssembly) over the statements the runner
 * splits, so every finding and every syntax error has the file's line.
 */
import { loadModule, parseSync, scanSync } from 'libpg-query';
import type { SqlStatement } from '../sql-splitter.js';
import type { AstNode, LintStatement } from './types.js';

/** A statement PostgreSQL's parser rejects: the line in the file and the parser's message. */
export class LintParseError extends Error {
  /** 1-based line in the file. */
  readonly line: number;

  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'LintParseError';
    this.line = line;
  }
}

let loaded: Promise<void> | undefined;

/**
 * Loads the parser's WebAssembly module once per process (about 50 ms); `parseStatements` needs it.
 *
 * @example
 * ```ts
 * await loadParser();
 * parseStatements([{ sql: 'SELECT 1', line: 1 }]);
 * ```
 */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/**
 * Parses statements split by the runner (`splitSql`) into AST nodes. Throws a `LintParseError`
 * with the line of the error when PostgreSQL's grammar rejects one.
 *
 * @example
 * ```ts
 * await loadParser();
 * parseStatements([{ sql: 'CREATE INDEX i ON t (a)', line: 3 }])[0]!.kind; // 'IndexStmt'
 * ```
 */
export function parseStatements(statements: readonly SqlStatement[]): LintStatement[] {
  const parsed: LintStatement[] = [];
  for (const statement of statements) {
    let result: { stmts?: { stmt?: AstNode }[] };
    try {
      result = parseSync(statement.sql);
    } catch (error) {
      const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
      const at = details?.cursorPosition ?? 0;
      throw new LintParseError((error as Error).message, statement.line + newlinesBefore(statement.sql, at));
    }
    for (const entry of result.stmts ?? []) {
      const [kind, node] = Object.entries(entry.stmt ?? {})[0] ?? [];
      if (kind === undefined) continue;
      parsed.push({ kind, node: node as AstNode, line: statement.line, sql: statement.sql });
    }
  }
  return parsed;
}

/** Newlines in the first `byteOffset` bytes of `sql` (the parser's positions are UTF-8 byte offsets). */
function newlinesBefore(sql: string, byteOffset: number): number {
  const prefix = Buffer.from(sql, 'utf8').subarray(0, Math.max(0, byteOffset)).toString('utf8');
  return prefix.split('\n').length - 1;
}

/**
 * The identifiers of a statement as written, before the parser truncates them to 63 bytes
 * (quoted ones unquoted). Needs `loadParser()` first.
 *
 * @example
 * ```ts
 * identifiersAsWritten('CREATE TABLE "My Table" (a int)'); // ['My Table', 'a']
 * ```
 */
export function identifiersAsWritten(sql: string): string[] {
  return scanSync(sql)
    .tokens.filter((token) => token.tokenName === 'IDENT')
    .map((token) => (token.text.startsWith('"') ? token.text.slice(1, -1).replace(/""/g, '"') : token.text.toLowerCase()));
}
