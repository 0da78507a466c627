/**
 * Private PostgreSQL 15 clusters for the fault suite: scripts/lib/pg-cluster.ts, shared with the
 * benchmark (scripts never import the tests, so the code lives there).
 */
export * from '../../scripts/lib/pg-cluster.js';
