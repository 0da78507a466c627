/**
 * A project typechecked in-process as `tsc -p <config> --extendedDiagnostics` checks it, with the
 * checker's own figures for one of its root files, for a deterministic type-check budget (issue
 * 11, item 7). Every file the roots import (declaration files included when `skipLibCheck` is
 * off) is checked first, then `measure`, then the other roots: the figures after `measure` are
 * those tsc prints for a project of `measure` alone (the other roots are imported by nothing),
 * and checking `measure` itself is told apart from checking what it imports. One program serves
 * both, so the declarations are checked once. The counts (types created, type instantiations)
 * are deterministic for one TypeScript version and one set of sources; the times are wall-clock
 * and only for information.
 */
import { relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import ts from 'typescript';

/** What the checker counted (`Types` and `Instantiations` in tsc's statistics). */
export interface CheckerCounts {
  types: number;
  instantiations: number;
}

export interface TypecheckedProject {
  /** Every diagnostic, formatted as tsc prints it, by file relative to the config's folder ('' for none). */
  errors: Record<string, string[]>;
  /** What tsc would count for a project of `measure` alone: everything it imports, and itself. */
  total: CheckerCounts;
  /** Checking `measure` itself, after everything it imports. */
  file: CheckerCounts;
  /** Wall-clock milliseconds checking (not asserted): as `total` counts (tsc's Check time), and `measure` alone. */
  checkMs: { total: number; file: number };
}

/**
 * Typechecks the project of `configPath`, measures its root file `measure`, and emits the root
 * files `emit` (as the project's options say; `noEmit` must be off for them).
 */
export function typecheckProject(configPath: string, measure: string, emit: readonly string[] = []): TypecheckedProject {
  const host: ts.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  };
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, host)!;
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, configFileParsingDiagnostics: config.errors });
  const sourceFile = (path: string): ts.SourceFile => {
    const found = program.getSourceFile(resolve(path));
    if (!found) throw new Error(`${path} is not a file of ${configPath}`);
    return found;
  };
  const measured = sourceFile(measure);
  const roots = new Set(program.getRootFileNames().map((name) => resolve(name)));
  const counts = (): CheckerCounts => ({ types: program.getTypeCount(), instantiations: program.getInstantiationCount() });

  const started = performance.now();
  const diagnostics: ts.Diagnostic[] = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getSyntacticDiagnostics(),
    ...program.getGlobalDiagnostics(),
  ];
  const imported = program.getSourceFiles().filter((source) => !roots.has(resolve(source.fileName)));
  for (const source of imported) diagnostics.push(...program.getSemanticDiagnostics(source));
  const before = counts();
  const fileStarted = performance.now();
  diagnostics.push(...program.getSemanticDiagnostics(measured));
  const ended = performance.now();
  const total = counts();
  for (const source of program.getSourceFiles()) {
    if (source !== measured && roots.has(resolve(source.fileName))) diagnostics.push(...program.getSemanticDiagnostics(source));
  }
  for (const path of emit) diagnostics.push(...program.emit(sourceFile(path)).diagnostics);

  const folder = resolve(configPath, '..');
  const formatHost: ts.FormatDiagnosticsHost = {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => folder,
    getNewLine: () => '\n',
  };
  const errors: Record<string, string[]> = {};
  for (const diagnostic of diagnostics) {
    const file = diagnostic.file ? relative(folder, diagnostic.file.fileName) : '';
    (errors[file] ??= []).push(ts.formatDiagnostic(diagnostic, formatHost).trimEnd());
  }
  return {
    errors,
    total,
    file: { types: total.types - before.types, instantiations: total.instantiations - before.instantiations },
    checkMs: { total: Math.round(ended - started), file: Math.round(ended - fileStarted) },
  };
}
