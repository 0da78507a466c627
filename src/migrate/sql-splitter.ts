/**
 * Splits a PostgreSQL script into statements, the way psql would: semicolons inside quotes,
 * dollar quotes, comments and `BEGIN ATOMIC ... END` function bodies do not end a statement.
 *
 * Statements run one at a time so that an error can name the statement, and so that
 * `CREATE INDEX CONCURRENTLY` (which refuses to run in a multi-statement query) works.
 */

/** One statement of a script. */
export interface SqlStatement {
  /** The statement text, from its first token up to (not including) the terminating semicolon. */
  sql: string;
  /** 1-based line of the statement's first token in the script (offset by `firstLine`). */
  line: number;
}

/** The script cannot be split: an unterminated quote or comment, or a psql meta-command. */
export class SqlSplitError extends Error {
  /** 1-based line where the offending construct starts. */
  readonly line: number;

  constructor(message: string, line: number) {
    super(`${message} (line ${line})`);
    this.name = 'SqlSplitError';
    this.line = line;
  }
}

const isIdentStart = (c: string): boolean => /[A-Za-z_\u0080-\uffff]/.test(c);
const isIdentChar = (c: string): boolean => /[A-Za-z0-9_$\u0080-\uffff]/.test(c);

/**
 * Splits `script` into statements. `firstLine` is the line number of the script's first line
 * within its file, so reported lines point into the file.
 *
 * @example
 * ```ts
 * splitSql("CREATE TABLE t (a text DEFAULT ';');\nSELECT 1;");
 * // [{ sql: "CREATE TABLE t (a text DEFAULT ';')", line: 1 }, { sql: 'SELECT 1', line: 2 }]
 * ```
 */
export function splitSql(script: string, firstLine = 1): SqlStatement[] {
  const statements: SqlStatement[] = [];
  const n = script.length;
  let i = 0;
  let line = firstLine;
  // Start of the current statement (index and line of its first token), or -1 before one.
  let start = -1;
  let startLine = 0;
  // Words of the current statement seen at top level, for `CREATE FUNCTION ... BEGIN ATOMIC`.
  let words: string[] = [];
  // Nesting inside SQL-standard function bodies: BEGIN ATOMIC and CASE open, END closes.
  let atomicDepth = 0;

  const begin = (): void => {
    if (start === -1) {
      start = i;
      startLine = line;
    }
  };
  const finish = (end: number): void => {
    if (start !== -1) {
      const sql = script.slice(start, end).trimEnd();
      if (sql !== '') statements.push({ sql, line: startLine });
    }
    start = -1;
    words = [];
    atomicDepth = 0;
  };
  // Advances over script[i..to), counting newlines.
  const advance = (to: number): void => {
    for (let k = i; k < to; k++) if (script.charCodeAt(k) === 10) line++;
    i = to;
  };

  while (i < n) {
    const c = script[i] as string;
    const next = script[i + 1];

    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    // -- comment to end of line. Not part of a statement unless inside one.
    if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? n : end;
      continue;
    }
    // /* comment */, nested as PostgreSQL allows.
    if (c === '/' && next === '*') {
      const openLine = line;
      let depth = 0;
      let k = i;
      while (k < n) {
        if (script[k] === '/' && script[k + 1] === '*') {
          depth++;
          k += 2;
        } else if (script[k] === '*' && script[k + 1] === '/') {
          depth--;
          k += 2;
          if (depth === 0) break;
        } else k++;
      }
      if (depth !== 0) throw new SqlSplitError('unterminated /* comment', openLine);
      advance(k);
      continue;
    }
    if (c === ';') {
      if (atomicDepth > 0) {
        i++;
        continue;
      }
      finish(i);
      i++;
      continue;
    }
    // A backslash outside any literal at the start of a statement is a psql meta-command.
    if (c === '\\' && start === -1) {
      throw new SqlSplitError(`psql meta-commands such as "${script.slice(i).split(/\s/)[0]}" are not supported`, line);
    }

    begin();

    // 'string', E'string' (backslash escapes), U&'string', B'..', X'..'; adjacent '' is a quote.
    if (c === "'") {
      const prev = i > 0 ? script[i - 1] : '';
      const prevPrev = i > 1 ? script[i - 2] : '';
      const escapes = (prev === 'e' || prev === 'E') && !(prevPrev !== undefined && isIdentChar(prevPrev));
      const openLine = line;
      let k = i + 1;
      for (;;) {
        if (k >= n) throw new SqlSplitError('unterminated quoted string', openLine);
        const ch = script[k];
        if (escapes && ch === '\\') {
          k += 2;
        } else if (ch === "'") {
          if (script[k + 1] === "'") k += 2;
          else break;
        } else k++;
      }
      advance(k + 1);
      continue;
    }
    // "quoted identifier"; adjacent "" is a quote.
    if (c === '"') {
      const openLine = line;
      let k = i + 1;
      for (;;) {
        if (k >= n) throw new SqlSplitError('unterminated quoted identifier', openLine);
        if (script[k] === '"') {
          if (script[k + 1] === '"') k += 2;
          else break;
        } else k++;
      }
      advance(k + 1);
      continue;
    }
    // $tag$ ... $tag$. A `$` inside an identifier (a$b) or before a digit ($1) is not a quote.
    if (c === '$' && !(i > 0 && isIdentChar(script[i - 1] as string))) {
      const match = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(script.slice(i, i + 256));
      if (match) {
        const delimiter = match[0];
        const openLine = line;
        const close = script.indexOf(delimiter, i + delimiter.length);
        if (close === -1) throw new SqlSplitError(`unterminated dollar-quoted string ${delimiter}`, openLine);
        advance(close + delimiter.length);
        continue;
      }
    }
    // Words: tracked only to find SQL-standard function bodies (BEGIN ATOMIC ... END).
    if (isIdentStart(c)) {
      let k = i + 1;
      while (k < n && isIdentChar(script[k] as string)) k++;
      const word = script.slice(i, k).toLowerCase();
      i = k;
      if (words.length < 8) words.push(word);
      if (isRoutineDefinition(words)) {
        if (word === 'atomic' && lastWordBefore(script, k - word.length) === 'begin') atomicDepth++;
        else if (atomicDepth > 0 && word === 'case') atomicDepth++;
        else if (atomicDepth > 0 && word === 'end') atomicDepth--;
      }
      continue;
    }
    i++;
  }
  finish(n);
  return statements;
}

/** CREATE [OR REPLACE] FUNCTION|PROCEDURE: the only statements that may hold BEGIN ATOMIC. */
function isRoutineDefinition(words: readonly string[]): boolean {
  if (words[0] !== 'create') return false;
  const kind = words[1] === 'or' && words[2] === 'replace' ? words[3] : words[1];
  return kind === 'function' || kind === 'procedure';
}

function lastWordBefore(script: string, index: number): string {
  const match = /([A-Za-z_][A-Za-z0-9_$]*)\s*$/.exec(script.slice(Math.max(0, index - 64), index));
  return match?.[1]?.toLowerCase() ?? '';
}
