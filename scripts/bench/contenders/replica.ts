/**
 * Read replicas in the point read (issue 14, item 7): this project's `getIdea` on `database.owner`
 * with a hot standby configured (`repo-replica`: the reads go to the standby), beside the same
 * calls on the same primary without one (`repo-replica-primary`), in one run.
 *
 * The benchmark's own server cannot be given a standby (it is not ours to reconfigure), so both
 * run on a private PostgreSQL 15 pair on this machine (scripts/lib/pg-replication.ts: initdb, then
 * `pg_basebackup -R` on free ports), started once for the two and loaded with the benchmark
 * database's users and ideas (COPY, triggers off), so the ids the point read draws are there.
 * Compare the two with each other: against the other contenders the server differs (a private
 * cluster with fsync off), not only the routing.
 */
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { ConnectionSettings } from '../../../src/connection.js';
import { createDatabase, replicaPoolsOf } from '../../../src/db/database.js';
import * as businessIdeas from '../../../src/repositories/business-ideas.js';
import { pgConfig } from '../../lib/server.js';
import { replicationUnavailable, startReplicationPair, type PairDatabase, type ReplicationPair } from '../../lib/pg-replication.js';
import type { Contender, ContenderContext } from './types.js';

/** The tables the point read needs, parents first. */
const TABLES = ['users', 'business_ideas'] as const;

interface Pair {
  pair: ReplicationPair;
  target: PairDatabase;
}

// One pair for both contenders: started by the first, destroyed when the last closes.
let shared: { users: number; ready: Promise<Pair> } | undefined;

async function acquire(context: ContenderContext): Promise<Pair> {
  shared ??= { users: 0, ready: setUp(context.connection) };
  shared.users++;
  try {
    return await shared.ready;
  } catch (error) {
    await release();
    throw error;
  }
}

async function release(): Promise<void> {
  if (!shared || --shared.users > 0) return;
  const done = shared.ready;
  shared = undefined;
  await done.then(
    ({ pair }) => pair.destroy(),
    () => undefined,
  );
}

async function setUp(source: ConnectionSettings): Promise<Pair> {
  const pair = await startReplicationPair({ name: 'bench' });
  try {
    const target = await pair.migratedDatabase('dl_bench_replica');
    await copyTables(source, target.connection);
    await pair.primary.query(`VACUUM ANALYZE ${TABLES.join(', ')}`, [], target.name);
    await pair.waitForReplay();
    return { pair, target };
  } catch (error) {
    await pair.destroy();
    throw error;
  }
}

/** The benchmark database's users and ideas, copied into the pair's primary (same migrations, so the same columns). */
async function copyTables(source: ConnectionSettings, target: ConnectionSettings): Promise<void> {
  const from = new pg.Client({ ...pgConfig(source), application_name: 'dl-bench-replica-copy' });
  const to = new pg.Client({ ...pgConfig(target), application_name: 'dl-bench-replica-copy' });
  await Promise.all([from.connect(), to.connect()]);
  try {
    // Superuser on the private primary: no audit rows or key checks for rows that are copies.
    await to.query('SET session_replication_role = replica');
    for (const table of TABLES) {
      await pipeline(from.query(copyTo(`COPY ${table} TO STDOUT`)), to.query(copyFrom(`COPY ${table} FROM STDIN`)));
    }
  } finally {
    await Promise.allSettled([from.end(), to.end()]);
  }
}

/** `getIdea` on `database.owner` over the pair's primary, with its standby as a replica or without. */
export async function replicaRouted(context: ContenderContext, withStandby: boolean): Promise<Contender | { skipped: string }> {
  const unavailable = replicationUnavailable();
  if (unavailable) return { skipped: `no primary and standby can be started here: ${unavailable}` };
  const { target } = await acquire(context);
  const database = createDatabase({
    config: {
      ...context.config,
      connection: target.connection,
      migrationConnection: target.connection,
      replicas: {
        connections: withStandby ? [target.standbyConnection] : [],
        maxLagMs: 5000,
        readYourWritesMs: 2000,
        checkIntervalMs: 1000,
      },
    },
    env: {},
  });
  context.instrument(database.pool);
  for (const pool of replicaPoolsOf(database)) context.instrument(pool);
  try {
    // The first check runs before the first measured read, so the standby is in service from the start.
    const health = await database.health({ checkMigrations: false });
    const standby = health.replicas?.[0];
    if (withStandby && standby?.status !== 'ok') throw new Error(`the standby is ${standby?.status}: ${standby?.error ?? ''}`);
  } catch (error) {
    await database.close();
    await release();
    throw error;
  }
  const owner = database.owner;
  return {
    driver: { getIdea: (id) => businessIdeas.getIdea(owner, id) },
    settings: withStandby
      ? "createDatabase({ config, replicas: [standby] }), database.owner: reads on a pg_basebackup standby (private PG15 pair on this machine; the benchmark's pool settings, per node)"
      : 'createDatabase({ config }) on the same private PG15 primary, no replicas, database.owner: compare with repo-replica',
    close: async () => {
      try {
        await database.close();
      } finally {
        await release();
      }
    },
  };
}
