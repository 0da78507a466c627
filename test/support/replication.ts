/**
 * A primary and a streaming hot standby for the replica tests: scripts/lib/pg-replication.ts,
 * shared with the replica benchmark.
 */
export * from '../../scripts/lib/pg-replication.js';
