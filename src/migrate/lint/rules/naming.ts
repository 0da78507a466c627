/** Rules about the names a migration gives objects. */
import { list, names, walk } from '../ast.js';
import type { LintRule } from '../types.js';

/** Fields that name an object being created or renamed. */
const NAME_FIELDS = ['relname', 'idxname', 'conname', 'colname', 'newname', 'trigname', 'policy_name', 'indexname', 'schemaname'];
/** Fields that hold a qualified name list of an object being created. */
const NAME_LIST_FIELDS = ['funcname', 'domainname', 'defnames', 'typeName'];
const MAX_IDENTIFIER_BYTES = 63;

export const namingRules: LintRule[] = [
  {
    id: 'identifier-too-long',
    family: 'naming',
    summary: 'PostgreSQL silently truncates identifiers to 63 bytes, so two long names can collide and code cannot find the object.',
    severity: 'error',
    grading: 'none',
    check: ({ node }) => {
      const found = new Set<string>();
      const consider = (name: unknown): void => {
        if (typeof name === 'string' && Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) found.add(name);
      };
      const visitFields = (fields: Record<string, unknown>): void => {
        for (const field of NAME_FIELDS) consider(fields[field]);
        for (const field of NAME_LIST_FIELDS) if (Array.isArray(fields[field])) names(list(fields, field)).forEach(consider);
      };
      visitFields(node);
      walk(node, (kind, child) => {
        if (kind !== 'String') visitFields(child);
      });
      return [...found].map((name) => ({
        message: `"${name.slice(0, 40)}..." is ${Buffer.byteLength(name, 'utf8')} bytes; PostgreSQL keeps only the first ${MAX_IDENTIFIER_BYTES}`,
        hint: 'Shorten the name to 63 bytes or fewer.',
      }));
    },
  },
];
