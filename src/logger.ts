/**
 * The logging contract: a subset of pino's interface, so a pino (or bunyan, or console-like)
 * logger can be passed as is.
 */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** Drops everything. */
export const silentLogger: Logger = { error: noop, warn: noop, info: noop, debug: noop };

/** Writes warnings and errors to stderr as one line each; drops info and debug. The default. */
export const stderrLogger: Logger = {
  error: (obj, msg) => console.error(format('error', obj, msg)),
  warn: (obj, msg) => console.error(format('warn', obj, msg)),
  info: noop,
  debug: noop,
};

function format(level: string, obj: object, msg?: string): string {
  const { err, ...rest } = obj as { err?: unknown };
  const detail = err instanceof Error ? ` (${err.message})` : '';
  const fields = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `[data-layer] ${level}: ${msg ?? ''}${detail}${fields}`;
}
