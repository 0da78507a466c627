/** Rules about maintenance and locking statements that block a live table. */
import { alterCommands, as, list, obj, relationName, str } from '../ast.js';
import type { LintRule } from '../types.js';
import { optionNames } from './indexes.js';

const ACCESS_EXCLUSIVE = 8;

export const maintenanceRules: LintRule[] = [
  {
    id: 'ban-vacuum-full',
    family: 'maintenance',
    summary: 'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock (and cannot run in a transaction).',
    severity: 'error',
    grading: 'size',
    check: ({ kind, node }) =>
      kind === 'VacuumStmt' && optionNames(node, 'options').includes('full')
        ? (list(node, 'rels').length > 0 ? list(node, 'rels') : [undefined]).map((r) => ({
            message: `VACUUM FULL ${relationName(obj(as(r, 'VacuumRelation'), 'relation')) ?? '(every table)'} rewrites it while reads and writes wait`,
            hint: 'Use plain VACUUM, or pg_repack / pg_squeeze outside the migrations.',
            relation: relationName(obj(as(r, 'VacuumRelation'), 'relation')),
          }))
        : [],
  },
  {
    id: 'ban-cluster',
    family: 'maintenance',
    summary: 'CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock.',
    severity: 'error',
    grading: 'size',
    check: ({ kind, node }) =>
      kind === 'ClusterStmt'
        ? [
            {
              message: `CLUSTER ${relationName(obj(node, 'relation')) ?? '(every clustered table)'} rewrites it while reads and writes wait`,
              hint: 'Use pg_repack outside the migrations.',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
  {
    id: 'ban-set-logged',
    family: 'maintenance',
    summary: 'SET LOGGED / SET UNLOGGED rewrites the table under an ACCESS EXCLUSIVE lock.',
    severity: 'error',
    grading: 'size',
    check: ({ kind, node }) =>
      kind === 'AlterTableStmt' && alterCommands(node).some((c) => ['AT_SetLogged', 'AT_SetUnLogged'].includes(str(c, 'subtype') ?? ''))
        ? [
            {
              message: `changing the persistence of ${relationName(obj(node, 'relation'))} rewrites it (and its WAL) while it is locked`,
              hint: 'Create the table with the persistence it needs, or copy into a new table in batches.',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
  {
    id: 'ban-set-tablespace',
    family: 'maintenance',
    summary: 'SET TABLESPACE copies the table under an ACCESS EXCLUSIVE lock.',
    severity: 'error',
    grading: 'size',
    check: ({ kind, node }) =>
      kind === 'AlterTableStmt' && alterCommands(node).some((c) => str(c, 'subtype') === 'AT_SetTableSpace')
        ? [
            {
              message: `moving ${relationName(obj(node, 'relation'))} to another tablespace copies it while it is locked`,
              hint: 'Use pg_repack --tablespace outside the migrations.',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
  {
    id: 'ban-explicit-lock',
    family: 'maintenance',
    summary: 'LOCK TABLE in a migration holds the lock until the file commits; ACCESS EXCLUSIVE also blocks reads.',
    severity: 'warning',
    grading: 'size',
    check: ({ kind, node }) =>
      kind === 'LockStmt'
        ? list(node, 'relations').map((r) => ({
            message: `LOCK TABLE ${relationName(as(r, 'RangeVar'))}${node.mode === ACCESS_EXCLUSIVE ? ' (ACCESS EXCLUSIVE: reads wait too)' : ''} held until the migration commits`,
            hint: "Rely on the locks the statements take (bounded by the runner's lock_timeout), or accept it with a reason.",
            relation: relationName(as(r, 'RangeVar')),
          }))
        : [],
  },
  {
    id: 'refresh-materialized-view-concurrently',
    family: 'maintenance',
    summary: 'REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view until it finishes.',
    severity: 'warning',
    grading: 'size',
    check: ({ kind, node }) =>
      kind === 'RefreshMatViewStmt' && node.concurrent !== true
        ? [
            {
              message: `REFRESH MATERIALIZED VIEW ${relationName(obj(node, 'relation'))} blocks its readers until it is done`,
              hint: 'Give the view a unique index and REFRESH MATERIALIZED VIEW CONCURRENTLY (transaction:false).',
              relation: relationName(obj(node, 'relation')),
            },
          ]
        : [],
  },
];
