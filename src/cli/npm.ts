/**
 * Flags npm took for itself. `npm run migrate up --dry-run` (no `--`) runs the script as
 * `migrate up`: npm reads every flag before a `--` as its own configuration and hands it to the
 * script as an `npm_config_<name>` environment variable instead of an argument. Measured with
 * npm 11.19 (`npm run <script> up <flag>`):
 *
 * - `--dry-run`, `--json`, `--force` (npm's own booleans): `npm_config_dry_run=true`, ...; the
 *   script gets `up`.
 * - `--to X`: npm expands it to its own `--token-description` (an abbreviation, with a warning):
 *   `npm_config_token_description=X`; neither reaches the script.
 * - `--step 2`, `--dir x`, `--lock-timeout 5` (unknown to npm): `npm_config_step=true`, and `2` is
 *   passed on as a separate argument (`up 2`); `--step=2` gives `npm_config_step=2`.
 * - `--no-checks`: `npm_config_checks=` (empty: false).
 * - `--help`, `-h`, `--version`: npm answers them itself; the script never runs.
 * - `npm exec ai-data-layer migrate up --dry-run` swallows the same way; `npx ai-data-layer ...`
 *   passes everything on.
 *
 * So when it runs under npm (`npm_lifecycle_event` is set), a command looks for those variables
 * for each flag it accepts, and refuses (exit 2) before doing anything, showing the command line
 * that passes the flags on. npm also exports the settings of `.npmrc` files and `NPM_CONFIG_*`
 * variables the same way; those are configuration, not flags typed for this run, and are ignored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../config.js';

/** The binary this package installs. */
export const BIN_NAME = 'ai-data-layer';

const PREFIX = 'npm_config_';

/** What `findSwallowedFlags()` found. */
export interface SwallowedFlags {
  /** The flags npm took, as the command spells them (`--dry-run`). */
  flags: string[];
  /** The command line that passes them on (`npm run migrate -- up --dry-run`). */
  suggestion: string;
  /** The whole explanation, for a usage error. */
  message: string;
}

interface Taken {
  name: string;
  type: 'boolean' | 'string';
  key: string;
  value: string;
}

/**
 * The flags of `options` that npm took for itself in this run, and the command line that passes
 * them on; `undefined` when not run by npm or nothing was taken. `argv` is what the command
 * received. Values npm passed on as separate arguments (`--step 2` gives `2`) are taken from the
 * end of `argv`, in the order of `options`.
 *
 * @example
 * ```ts
 * const swallowed = findSwallowedFlags({ 'dry-run': { type: 'boolean' } }, ['up'], process.env);
 * if (swallowed) throw new UsageError(swallowed.message);
 * ```
 */
export function findSwallowedFlags(
  options: Readonly<Record<string, { type: 'boolean' | 'string' }>>,
  argv: readonly string[],
  env: Env,
  leadingPositionals = 0,
): SwallowedFlags | undefined {
  const event = env.npm_lifecycle_event;
  if (!event) return undefined;
  const configured = configuredKeys(env);
  const given = new Set<string>();
  for (const arg of argv) {
    if (arg === '--') break;
    if (arg.startsWith('--')) given.add(arg.slice(2).split('=', 1)[0]!);
  }
  const keys = Object.keys(env).filter(
    (key) => key.startsWith(PREFIX) && env[key] !== undefined && !configured.has(key.slice(PREFIX.length)),
  );

  const taken: Taken[] = [];
  for (const [name, { type }] of Object.entries(options)) {
    if (name === 'help' || given.has(name)) continue;
    const negated = type === 'boolean' && name.startsWith('no-');
    const wanted = PREFIX + (negated ? name.slice(3) : name).replace(/-/g, '_');
    // Exactly the flag, or one of npm's own settings it is an abbreviation of (--to: --token-description).
    const key = keys.find((k) => k === wanted) ?? keys.find((k) => k.startsWith(wanted));
    if (key === undefined) continue;
    const value = env[key]!;
    if (type === 'boolean' && (negated ? value !== '' && value !== 'false' : value !== 'true')) continue;
    taken.push({ name, type, key, value });
  }
  if (taken.length === 0) return undefined;

  const suggestion = suggest(event, env, argv, taken, leadingPositionals);
  const flags = taken.map((t) => `--${t.name}`);
  const variables = taken.map((t) => `${t.key}=${t.value}`).join(', ');
  const message =
    `npm took ${list(flags)} for itself (it set ${variables}), so the command did not receive ${taken.length === 1 ? 'it' : 'them'}; nothing was run.\n` +
    `npm passes on what comes after "--":\n  ${suggestion}`;
  return { flags, suggestion, message };
}

function suggest(event: string, env: Env, argv: readonly string[], taken: readonly Taken[], leadingPositionals: number): string {
  // npm runs the script's text with the user's arguments appended: drop what the text itself gave.
  const script = (env.npm_lifecycle_script ?? '').trim().split(/\s+/);
  let rest = [...argv];
  let leading = leadingPositionals;
  for (let k = Math.min(script.length, rest.length); k > 0; k--) {
    if (script.slice(-k).every((token, i) => token === rest[i])) {
      rest = rest.slice(k);
      leading = Math.max(0, leading - k);
      break;
    }
  }
  // The command's own leading positionals (`up`) are never a value.
  const positions = rest.map((arg, i) => (arg.startsWith('-') ? -1 : i)).filter((i) => i >= 0);
  const candidates = positions.slice(leading);
  const values = new Map<string, string>();
  const moved = new Set<number>();
  for (const t of [...taken].reverse()) {
    if (t.type !== 'string') continue;
    if (t.value !== 'true') values.set(t.name, t.value);
    else {
      const at = candidates.pop();
      if (at !== undefined) {
        values.set(t.name, rest[at]!);
        moved.add(at);
      }
    }
  }
  rest = rest.filter((_, i) => !moved.has(i));
  const flags = taken.flatMap((t) => (t.type === 'boolean' ? [`--${t.name}`] : [`--${t.name}`, values.get(t.name) ?? '<value>']));
  const args = [...rest, ...flags].map(quote).join(' ');
  const command = env.npm_command;
  if (command === 'exec') return `npx ${BIN_NAME} ${args}`;
  const prefix = command && ['start', 'test', 'stop', 'restart'].includes(command) ? `npm ${command}` : `npm run ${event}`;
  return `${prefix} -- ${args}`;
}

/**
 * The settings npm was configured with rather than given on its command line: the keys of the
 * user, global and project `.npmrc` files and of `NPM_CONFIG_*` variables (npm exports those as
 * `npm_config_*` too). Lowercase, with `_` for `-`.
 */
function configuredKeys(env: Env): Set<string> {
  const keys = new Set<string>();
  const files = [
    env.npm_config_userconfig,
    env.npm_config_globalconfig,
    env.npm_config_local_prefix && join(env.npm_config_local_prefix, '.npmrc'),
  ];
  for (const file of files) {
    if (!file) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split(/\r?\n/)) {
      const key = /^\s*([^#;=\s][^=]*?)\s*=/.exec(line)?.[1];
      if (key) keys.add(normalise(key));
    }
  }
  for (const key of Object.keys(env)) {
    if (key.toLowerCase().startsWith(PREFIX) && !key.startsWith(PREFIX)) keys.add(normalise(key.slice(PREFIX.length)));
  }
  return keys;
}

function normalise(key: string): string {
  return key.trim().toLowerCase().replace(/-/g, '_');
}

function list(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)!}`;
}

function quote(arg: string): string {
  return arg === '<value>' || /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
