/**
 * How each statement of a `transaction:false` section runs, so that an interrupted run (a killed
 * migrator, a lost connection, a failed statement) can always be resumed by running the same
 * command again:
 *
 * - **exactly once**: a statement PostgreSQL accepts in a transaction runs in a transaction of its
 *   own together with the update of its progress record, so either both happened or neither did;
 *   a `BEGIN ... COMMIT` block written in the section is recorded just before its `COMMIT`;
 * - **re-runnable**: a statement PostgreSQL refuses in a transaction (`CREATE INDEX CONCURRENTLY`,
 *   `VACUUM`, ...) runs on its own, and may be interrupted after it took effect but before its
 *   progress was recorded, so it must be safe to run again. The runner knows how for the ones
 *   below, and checks the catalog first where running it again would not be enough (an INVALID
 *   index left by an interrupted `CREATE INDEX CONCURRENTLY` is dropped and built again);
 * - **session**: `SET` / `RESET` change only the session, and are replayed when a run resumes.
 *
 * Anything else that cannot run in a transaction is refused when the file is parsed, with what to
 * write instead, so a bad file stops the run before anything is touched.
 */
import type { SqlStatement } from './sql-splitter.js';

/** What to check before running an interrupted re-runnable statement again. */
export type ResumeCheck =
  /** The index is looked up by name in its table's schema: valid means done, INVALID is dropped first. */
  | { kind: 'create-index'; index: string; table: string }
  /** Done when the index no longer exists. */
  | { kind: 'drop-index'; index: string; ifExists: boolean }
  /** Leftover INVALID `*_ccnew` / `*_ccold` indexes of an interrupted REINDEX CONCURRENTLY are dropped first. */
  | { kind: 'reindex'; target: 'index' | 'table' | 'schema' | 'database'; name: string | undefined };

export type RunMode =
  | { mode: 'transaction' }
  | { mode: 'session' }
  | { mode: 'rerun'; what: string; check?: ResumeCheck }
  | { mode: 'block-begin' }
  | { mode: 'in-block' }
  | { mode: 'block-commit' }
  | { mode: 'block-rollback' };

/** A statement of a `transaction:false` section and how it runs. */
export interface PlannedStatement {
  statement: SqlStatement;
  run: RunMode;
}

/** A statement the runner cannot make safe to resume: its line and what to write instead. */
export interface PlanProblem {
  line: number;
  message: string;
}

/** The comment that marks the next statement of a `transaction:false` section as safe to run twice. */
export const RERUNNABLE_MARK = '-- migrate:rerunnable';

interface Token {
  /** Lowercased keyword or unquoted identifier; the identifier's value for a quoted one; the character for punctuation. */
  value: string;
  /** As written. */
  text: string;
  kind: 'word' | 'quoted' | 'punct' | 'literal';
}

/** Tokens of one statement, outside comments and literals (literals become one `literal` token each). */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 0;
      while (i < n) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else if (c === '"') {
      let k = i + 1;
      let value = '';
      while (k < n) {
        if (sql[k] === '"') {
          if (sql[k + 1] !== '"') break;
          value += '"';
          k += 2;
        } else value += sql[k++];
      }
      tokens.push({ value, text: sql.slice(i, k + 1), kind: 'quoted' });
      i = k + 1;
    } else if (c === "'") {
      const escapes = /[eE]/.test(sql[i - 1] ?? '') && !/[A-Za-z0-9_$]/.test(sql[i - 2] ?? '');
      let k = i + 1;
      while (k < n) {
        if (escapes && sql[k] === '\\') k += 2;
        else if (sql[k] === "'" && sql[k + 1] === "'") k += 2;
        else if (sql[k] === "'") break;
        else k++;
      }
      tokens.push({ value: '', text: sql.slice(i, k + 1), kind: 'literal' });
      i = k + 1;
    } else if (c === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i, i + 64))) {
      const delimiter = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))![0];
      const close = sql.indexOf(delimiter, i + delimiter.length);
      const end = close === -1 ? n : close + delimiter.length;
      tokens.push({ value: '', text: sql.slice(i, end), kind: 'literal' });
      i = end;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let k = i + 1;
      while (k < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[k]!)) k++;
      const text = sql.slice(i, k);
      // E'...', B'...', X'...', N'...': the prefix is part of the literal.
      if (sql[k] === "'" && /^[ebxn]$/i.test(text)) {
        i = k;
        continue;
      }
      tokens.push({ value: text.toLowerCase(), text, kind: 'word' });
      i = k;
    } else {
      tokens.push({ value: c, text: c, kind: 'punct' });
      i++;
    }
  }
  return tokens;
}

/** Reads `name` or `schema.name` (each part a word or a quoted identifier) at `at`. */
function qualifiedName(tokens: readonly Token[], at: number): { text: string; last: Token; next: number } | undefined {
  const part = (t: Token | undefined) => t && (t.kind === 'word' || t.kind === 'quoted');
  if (!part(tokens[at])) return undefined;
  const parts = [tokens[at]!];
  let k = at + 1;
  while (tokens[k]?.value === '.' && part(tokens[k + 1])) {
    parts.push(tokens[k + 1]!);
    k += 2;
  }
  return { text: parts.map((p) => p.text).join('.'), last: parts[parts.length - 1]!, next: k };
}

const isWord = (t: Token | undefined, ...words: string[]) => t?.kind === 'word' && words.includes(t.value);

/** Skips a parenthesised option list (`VACUUM (VERBOSE)`, `REINDEX (VERBOSE)`) at `at`. */
function skipParens(tokens: readonly Token[], at: number): number {
  if (tokens[at]?.value !== '(') return at;
  let depth = 0;
  for (let k = at; k < tokens.length; k++) {
    if (tokens[k]!.value === '(') depth++;
    else if (tokens[k]!.value === ')' && --depth === 0) return k + 1;
  }
  return tokens.length;
}

type Classified = RunMode | { mode: 'refuse'; message: string } | { mode: 'begin' | 'commit' | 'rollback' | 'savepoint' };

/** How one statement runs in a `transaction:false` section, outside a written `BEGIN` block. */
function classify(sql: string): Classified {
  const t = tokenize(sql);
  const [a, b, c] = t;

  // Transaction control written in the section.
  if (isWord(a, 'begin') || (isWord(a, 'start') && isWord(b, 'transaction'))) return { mode: 'begin' };
  if (isWord(a, 'commit', 'end') && isWord(b, 'prepared')) return refuse('COMMIT PREPARED', 'finish prepared transactions by hand');
  if (isWord(a, 'rollback') && isWord(b, 'prepared')) return refuse('ROLLBACK PREPARED', 'finish prepared transactions by hand');
  if (isWord(a, 'prepare') && isWord(b, 'transaction'))
    return refuse('PREPARE TRANSACTION', 'two-phase commit has no place in a migration');
  if (isWord(a, 'commit', 'end')) {
    if (t.some((x) => isWord(x, 'chain'))) return refuse('COMMIT AND CHAIN', 'write COMMIT; then BEGIN;');
    return { mode: 'commit' };
  }
  if (isWord(a, 'abort')) return { mode: 'rollback' };
  if (isWord(a, 'rollback')) {
    if (isWord(b, 'to')) return { mode: 'savepoint' };
    if (t.some((x) => isWord(x, 'chain'))) return refuse('ROLLBACK AND CHAIN', 'write ROLLBACK; then BEGIN;');
    return { mode: 'rollback' };
  }
  if (isWord(a, 'savepoint', 'release')) return { mode: 'savepoint' };

  // Session settings: replayed when a run resumes.
  if (isWord(a, 'set') && !isWord(b, 'local', 'transaction', 'constraints') && !(isWord(b, 'session') && isWord(c, 'characteristics'))) {
    return { mode: 'session' };
  }
  if (isWord(a, 'reset')) return { mode: 'session' };

  if (isWord(a, 'create')) {
    let k = 1;
    if (isWord(t[k], 'unique')) k++;
    if (isWord(t[k], 'index')) {
      k++;
      if (!isWord(t[k], 'concurrently')) return { mode: 'transaction' };
      k++;
      if (isWord(t[k], 'if') && isWord(t[k + 1], 'not') && isWord(t[k + 2], 'exists')) k += 3;
      if (isWord(t[k], 'on')) {
        return refuse(
          'CREATE INDEX CONCURRENTLY without an index name',
          'name the index: CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON ... (an unnamed index gets a new name on every run, so running it again would build a second index)',
        );
      }
      const index = t[k];
      if (!index || (index.kind !== 'word' && index.kind !== 'quoted') || !isWord(t[k + 1], 'on')) return { mode: 'transaction' };
      k += 2;
      if (isWord(t[k], 'only')) k++;
      const table = qualifiedName(t, k);
      if (!table) return { mode: 'transaction' }; // PostgreSQL reports the syntax error
      return { mode: 'rerun', what: 'CREATE INDEX CONCURRENTLY', check: { kind: 'create-index', index: index.value, table: table.text } };
    }
    if (isWord(b, 'database', 'tablespace')) {
      return refuse(
        `CREATE ${b!.value.toUpperCase()}`,
        'it cannot run in a transaction and has no IF NOT EXISTS; create it outside the migrations',
      );
    }
    if (isWord(b, 'subscription')) return refuse('CREATE SUBSCRIPTION', 'manage subscriptions outside the migrations');
  }

  if (isWord(a, 'drop')) {
    if (isWord(b, 'index') && isWord(c, 'concurrently')) {
      let k = 3;
      const ifExists = isWord(t[k], 'if') && isWord(t[k + 1], 'exists');
      if (ifExists) k += 2;
      const index = qualifiedName(t, k);
      if (!index) return { mode: 'transaction' };
      return { mode: 'rerun', what: 'DROP INDEX CONCURRENTLY', check: { kind: 'drop-index', index: index.text, ifExists } };
    }
    if (isWord(b, 'database', 'tablespace')) {
      const what = `DROP ${b!.value.toUpperCase()}`;
      if (isWord(c, 'if') && isWord(t[3], 'exists')) return { mode: 'rerun', what };
      return refuse(what, `write ${what} IF EXISTS, which is safe to run again`);
    }
    if (isWord(b, 'subscription')) return refuse('DROP SUBSCRIPTION', 'manage subscriptions outside the migrations');
  }

  if (isWord(a, 'reindex')) {
    let k = skipParens(t, 1);
    const target = t[k]?.value;
    k++;
    const concurrently = isWord(t[k], 'concurrently');
    if (concurrently) k++;
    const name = qualifiedName(t, k)?.text;
    if (concurrently && (target === 'index' || target === 'table' || target === 'schema' || target === 'database')) {
      return { mode: 'rerun', what: 'REINDEX CONCURRENTLY', check: { kind: 'reindex', target, name } };
    }
    return { mode: 'rerun', what: 'REINDEX' };
  }
  if (isWord(a, 'vacuum')) return { mode: 'rerun', what: 'VACUUM' };
  if (isWord(a, 'analyze', 'analyse')) return { mode: 'rerun', what: 'ANALYZE' };
  if (isWord(a, 'cluster')) return { mode: 'rerun', what: 'CLUSTER' };
  if (isWord(a, 'checkpoint')) return { mode: 'rerun', what: 'CHECKPOINT' };
  if (isWord(a, 'alter') && isWord(b, 'system')) return { mode: 'rerun', what: 'ALTER SYSTEM' };
  if (isWord(a, 'alter') && isWord(b, 'database') && t.some((x, i) => isWord(x, 'set') && isWord(t[i + 1], 'tablespace'))) {
    return { mode: 'rerun', what: 'ALTER DATABASE ... SET TABLESPACE' };
  }
  if (isWord(a, 'alter') && isWord(b, 'subscription')) return refuse('ALTER SUBSCRIPTION', 'manage subscriptions outside the migrations');
  if (isWord(a, 'alter') && isWord(b, 'table') && t.some((x, i) => isWord(x, 'detach') && isWord(t[i + 1], 'partition'))) {
    if (t.some((x) => isWord(x, 'concurrently', 'finalize'))) {
      return refuse(
        'ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY',
        'an interrupted one leaves the partition "detach pending" and running it again fails; use DETACH PARTITION without CONCURRENTLY, or run it by hand',
      );
    }
  }
  if (isWord(a, 'discard')) return refuse('DISCARD', "it resets the runner's session (its timeouts and settings)");
  return { mode: 'transaction' };
}

function refuse(what: string, instead: string): { mode: 'refuse'; message: string } {
  return { mode: 'refuse', message: `${what} is not safe to run again after an interruption: ${instead}` };
}

/**
 * Plans a `transaction:false` section: how each statement runs, or the problems that make it
 * unsafe to resume. `rerunnable` holds the lines of statements marked `-- migrate:rerunnable`.
 */
export function planSection(
  statements: readonly SqlStatement[],
  rerunnable: ReadonlySet<number> = new Set(),
): { plan: PlannedStatement[]; problems: PlanProblem[] } {
  const plan: PlannedStatement[] = [];
  const problems: PlanProblem[] = [];
  let blockLine: number | undefined;
  for (const statement of statements) {
    const kind = classify(statement.sql);
    const problem = (message: string) => problems.push({ line: statement.line, message });
    if (blockLine !== undefined) {
      // Inside a BEGIN written in the section: everything commits or rolls back with its block.
      if (rerunnable.has(statement.line)) problem(`${RERUNNABLE_MARK} has no meaning inside the transaction opened at line ${blockLine}`);
      if (kind.mode === 'commit' || kind.mode === 'rollback') {
        plan.push({ statement, run: { mode: kind.mode === 'commit' ? 'block-commit' : 'block-rollback' } });
        blockLine = undefined;
      } else if (kind.mode === 'begin') problem(`BEGIN inside the transaction opened at line ${blockLine}; close it with COMMIT first`);
      else if (kind.mode === 'refuse') problem(kind.message);
      else if (kind.mode === 'rerun')
        problem(`${kind.what} cannot run inside the transaction opened at line ${blockLine}; move it after the COMMIT`);
      else plan.push({ statement, run: { mode: 'in-block' } });
      continue;
    }
    if (rerunnable.has(statement.line)) {
      if (kind.mode === 'begin' || kind.mode === 'commit' || kind.mode === 'rollback' || kind.mode === 'savepoint') {
        problem(`${RERUNNABLE_MARK} cannot mark transaction control`);
      } else {
        plan.push({ statement, run: { mode: 'rerun', what: 'a statement marked re-runnable' } });
      }
      continue;
    }
    switch (kind.mode) {
      case 'begin':
        blockLine = statement.line;
        plan.push({ statement, run: { mode: 'block-begin' } });
        break;
      case 'commit':
      case 'rollback':
        problem(`${statement.sql.split(/\s/, 1)[0]!.toUpperCase()} ends no transaction: there is no BEGIN before it in this section`);
        break;
      case 'savepoint':
        problem('a savepoint needs a transaction: put it between BEGIN and COMMIT');
        break;
      case 'refuse':
        problem(kind.message);
        break;
      default:
        plan.push({ statement, run: kind });
    }
  }
  if (blockLine !== undefined)
    problems.push({ line: blockLine, message: 'this BEGIN is never closed: end the transaction with COMMIT in the same section' });
  return { plan, problems };
}
