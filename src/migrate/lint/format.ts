/** The lint report as text for a terminal: one block per finding, then a summary line. */
import type { LintReport } from './lint.js';
import type { LintFinding } from './types.js';

/**
 * One finding: `file:line  severity  rule  message`, then the fix and why it is graded so.
 *
 * @example
 * ```ts
 * formatFinding(report.findings[0]!);
 * // 'migrations/x.sql:4  error  require-concurrent-index-creation  CREATE INDEX on t ...\n    fix: ...'
 * ```
 */
export function formatFinding(f: LintFinding, dir = ''): string {
  const where = `${dir ? `${dir}/` : ''}${f.file}:${f.line}`;
  const lines = [`${where}  ${f.ignored !== undefined ? 'ignored' : f.severity}  ${f.rule}  ${f.message}`];
  if (f.ignored !== undefined) lines.push(`    accepted: ${f.ignored}`);
  else lines.push(`    fix: ${f.hint}`);
  if (f.grade) lines.push(`    (${f.grade})`);
  return lines.join('\n');
}

/**
 * The whole report. Notes and ignored findings only with `verbose`.
 *
 * @example
 * ```ts
 * console.log(formatReport(await lintMigrations(files), { verbose: true }));
 * ```
 */
export function formatReport(report: LintReport, options: { verbose?: boolean; dir?: string } = {}): string {
  const shown = report.findings.filter((f) => options.verbose || (f.ignored === undefined && f.severity !== 'note'));
  const summary =
    `${report.files.length} file${report.files.length === 1 ? '' : 's'} linted: ${report.errors} error${report.errors === 1 ? '' : 's'}, ` +
    `${report.warnings} warning${report.warnings === 1 ? '' : 's'}, ${report.notes} note${report.notes === 1 ? '' : 's'}, ${report.ignored} ignored`;
  return [...shown.map((f) => formatFinding(f, options.dir)), summary].join('\n');
}
