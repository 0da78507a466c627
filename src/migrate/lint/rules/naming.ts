/** Rules about the names a migration gives objects. */
import { identifiersAsWritten } from '../parse.js';
import type { LintRule } from '../types.js';

const MAX_IDENTIFIER_BYTES = 63;

export const namingRules: LintRule[] = [
  {
    id: 'identifier-too-long',
    family: 'naming',
    summary: 'PostgreSQL silently truncates identifiers to 63 bytes, so two long names can collide and code cannot find the object.',
    severity: 'error',
    grading: 'none',
    // From the tokens: the parser has already truncated the names in its tree.
    check: ({ sql }) =>
      [...new Set(identifiersAsWritten(sql))]
        .filter((name) => Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES)
        .map((name) => ({
          message: `"${name.slice(0, 40)}..." is ${Buffer.byteLength(name, 'utf8')} bytes; PostgreSQL keeps only the first ${MAX_IDENTIFIER_BYTES}`,
          hint: 'Shorten the name to 63 bytes or fewer.',
        })),
  },
];
