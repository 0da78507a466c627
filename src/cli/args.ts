/**
 * Command lines for every command of the CLI (the `ai-data-layer` binary and the npm scripts):
 * one parser with messages that name the flag and say what is accepted, never Node's raw
 * `parseArgs` text, and the usage error every command raises (exit code 2).
 */
import { parseArgs } from 'node:util';
import type { Env } from '../config.js';
import { DataLayerError } from '../errors.js';
import { findSwallowedFlags } from './npm.js';

/** The command line is wrong: exit code 2, nothing was touched. `usage` is printed after the message. */
export class UsageError extends DataLayerError {
  /** The command's help, printed after the message (omitted when the message says everything). */
  readonly usage: string | undefined;

  constructor(message: string, usage?: string) {
    super('USAGE', message);
    this.usage = usage;
  }
}

/** One option of a command. */
export interface OptionSpec {
  type: 'boolean' | 'string';
  /** A one-letter alias (`-h`). */
  short?: string;
  /** The value's placeholder in messages (`<ms>`); default `<value>`. */
  value?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** Parsed option values: strings for string options, `true` for boolean ones, absent when not given. */
export type OptionValues<O extends OptionSpecs> = { [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean };

/** What `parseCommandLine()` returns. */
export interface ParsedCommandLine<O extends OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
  /** `-h` or `--help` was given: print the usage and exit 0. */
  help: boolean;
}

/** How a command reads its command line. */
export interface CommandLineSpec<O extends OptionSpecs> {
  options: O;
  /** How many positional arguments the command takes at most (default 0). */
  positionals?: number;
  /**
   * How many leading positionals always belong to the command itself (a subcommand such as
   * `up`), never to an option's value: for the flags npm took, see npm.ts. Default 0.
   */
  leadingPositionals?: number;
  /** The arguments before `args` on the process's command line (`['migrate']` for `ai-data-layer migrate ...`), for messages. */
  prefix?: readonly string[];
  /** The command's help, printed after a usage error. */
  usage: string;
  /**
   * The environment, to find flags npm took for itself (see npm.ts); default `process.env`. Pass
   * `{}` for a command line that did not come through npm.
   */
  env?: Env;
}

const HELP: OptionSpecs = { help: { type: 'boolean', short: 'h' } };

/**
 * Parses `args` against `spec.options` (plus `-h`/`--help`). Throws a `UsageError` naming the flag
 * for an unknown option, a missing or unexpected value, an option given twice or an extra
 * argument; and, first of all, when npm swallowed one of the options (`npm run x --flag` without
 * `--`).
 *
 * @example
 * ```ts
 * const { values, help } = parseCommandLine(argv, { options: { file: { type: 'string' } }, usage });
 * if (help) return printUsage(usage);
 * ```
 */
export function parseCommandLine<const O extends OptionSpecs>(args: readonly string[], spec: CommandLineSpec<O>): ParsedCommandLine<O> {
  const options: OptionSpecs = { ...spec.options, ...HELP };
  const prefix = spec.prefix ?? [];
  const swallowed = findSwallowedFlags(
    spec.options,
    [...prefix, ...args],
    spec.env ?? process.env,
    prefix.length + (spec.leadingPositionals ?? 0),
  );
  // The command line is what npm left of it: report that, not what is missing from it.
  if (swallowed) throw new UsageError(swallowed.message);
  const { tokens } = parseArgs({
    args: [...args],
    options: Object.fromEntries(
      Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    const option = options[token.name];
    if (!option) {
      throw new UsageError(`unknown option ${token.rawName}; accepted: ${describeOptions(options)}`, spec.usage);
    }
    if (token.name === 'help') {
      help = true;
      continue;
    }
    if (option.type === 'boolean' && token.value !== undefined) {
      throw new UsageError(`--${token.name} takes no value (got "${token.value}")`, spec.usage);
    }
    // A value that looks like an option is one forgotten (--to --dry-run); --file=-x says it is meant.
    if (
      option.type === 'string' &&
      (token.value === undefined || token.value === '' || (!token.inlineValue && token.value.startsWith('-')))
    ) {
      throw new UsageError(`--${token.name} needs a value: --${token.name} ${option.value ?? '<value>'}`, spec.usage);
    }
    if (values[token.name] !== undefined) throw new UsageError(`--${token.name} is given more than once`, spec.usage);
    values[token.name] = option.type === 'boolean' ? true : (token.value as string);
  }
  if (!help && positionals.length > (spec.positionals ?? 0)) {
    const extra = positionals[spec.positionals ?? 0]!;
    throw new UsageError(
      extra.startsWith('-') ? `unexpected argument "${extra}" (options go before a "--")` : `unexpected argument "${extra}"`,
      spec.usage,
    );
  }
  return { values: values as OptionValues<O>, positionals, help };
}

/** `--to <migration>, --dry-run, -h/--help`: the accepted options, for messages. */
export function describeOptions(options: OptionSpecs, names: readonly string[] = Object.keys(options)): string {
  return names
    .map((name) => {
      const o = options[name]!;
      const flag = `${o.short ? `-${o.short}/` : ''}--${name}`;
      return o.type === 'string' ? `${flag} ${o.value ?? '<value>'}` : flag;
    })
    .join(', ');
}

/**
 * A whole number of at least `min` from a flag's value; a `UsageError` naming the flag otherwise.
 *
 * @example
 * ```ts
 * const step = wholeNumber('--step', values.step, 1, usage);
 * ```
 */
export function wholeNumber(flag: string, text: string, min: number, usage?: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(
      `${flag} must be a whole number${min > 0 ? ` of ${min} or more` : ' (milliseconds, 0 = no limit)'}, got "${text}"`,
      usage,
    );
  }
  return Number(text);
}
