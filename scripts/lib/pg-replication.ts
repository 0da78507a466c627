/**
 * A primary and a hot standby on real streaming replication, for the replica tests (through
 * test/support/replication.ts) and the replica benchmark: a private PostgreSQL 15 cluster
 * (pg-cluster.ts), then a standby made of it with
 * `pg_basebackup -R -X stream` on a free port of its own. PostgreSQL 15's defaults already allow it
 * (`wal_level = replica`, `max_wal_senders = 10`, `hot_standby = on`, and initdb's pg_hba.conf has a
 * `host replication all 127.0.0.1/32` line), so the primary's settings only say so explicitly.
 *
 * ```ts
 * const reason = replicationUnavailable();           // a string when the tools are missing
 * const pair = await startReplicationPair({ name: 'routing' });
 * const target = await pair.migratedDatabase();      // on the primary, replayed on the standby
 * await pair.pauseReplay(); ... await pair.resumeReplay();
 * await pair.destroy();
 * ```
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { toConnectionUrl, type ConnectionSettings } from '../../src/connection.js';
import { clusterUnavailable, startCluster, type Cluster, type ClusterDatabase } from './pg-cluster.js';
import { connectionFor } from './server.js';

/** Why no primary and standby can be started here, or undefined when they can. */
export function replicationUnavailable(): string | undefined {
  return clusterUnavailable();
}

/** A database on the pair: the same on both, by replication. */
export interface PairDatabase extends ClusterDatabase {
  /** The same database on the standby (superuser; password non-enumerable). */
  standbyConnection: ConnectionSettings;
  /** The same as a `postgres://` URL, with the password. */
  standbyUrl: string;
}

/** What `startReplicationPair()` returns. */
export interface ReplicationPair {
  primary: Cluster;
  standby: Cluster;
  /** Creates a database on the primary, migrates it, and waits until the standby has replayed it. */
  migratedDatabase(prefix?: string): Promise<PairDatabase>;
  /** The primary's current WAL position (`pg_current_wal_lsn()`). */
  primaryLsn(): Promise<string>;
  /** Resolves once the standby has replayed `lsn` (default: the primary's position now). */
  waitForReplay(lsn?: string, timeoutMs?: number): Promise<void>;
  /** `pg_wal_replay_pause()` on the standby; resolves once replay is paused. */
  pauseReplay(): Promise<void>;
  /** `pg_wal_replay_resume()` on the standby. */
  resumeReplay(): Promise<void>;
  /** Stops both and deletes their folders. Idempotent. */
  destroy(): Promise<void>;
}

/** Starts a primary and a streaming hot standby of it, both on free loopback ports. */
export async function startReplicationPair(options: { name?: string } = {}): Promise<ReplicationPair> {
  const name = options.name ?? 'replication';
  const primary = await startCluster({
    name: `${name}-primary`,
    settings: { wal_level: 'replica', max_wal_senders: 5, wal_keep_size: "'128MB'", hot_standby: 'on' },
  });
  let standby: Cluster;
  try {
    standby = await startCluster({ name: `${name}-standby`, standbyOf: primary });
  } catch (error) {
    await primary.destroy();
    throw error;
  }

  const primaryLsn = async () => (await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn;
  const waitForReplay = async (lsn?: string, timeoutMs = 30_000) => {
    const target = lsn ?? (await primaryLsn());
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const [row] = await standby.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [target]);
      if (row?.done) return;
      if (performance.now() > deadline) throw new Error(`the standby did not replay ${target} within ${timeoutMs} ms`);
      await sleep(20);
    }
  };

  return {
    primary,
    standby,
    primaryLsn,
    waitForReplay,
    migratedDatabase: async (prefix = 'replicas') => {
      const database = await primary.migratedDatabase(prefix);
      await waitForReplay();
      const standbyConnection = connectionFor(standby.admin, database.name);
      return { ...database, standbyConnection, standbyUrl: toConnectionUrl(standbyConnection) };
    },
    pauseReplay: async () => {
      await standby.query('SELECT pg_wal_replay_pause()');
      for (let i = 0; i < 500; i++) {
        const [row] = await standby.query<{ state: string }>('SELECT pg_get_wal_replay_pause_state() AS state');
        if (row?.state === 'paused') return;
        await sleep(10);
      }
      throw new Error('the standby did not pause its WAL replay within 5 s');
    },
    resumeReplay: async () => {
      await standby.query('SELECT pg_wal_replay_resume()');
    },
    destroy: async () => {
      await Promise.allSettled([standby.destroy(), primary.destroy()]);
    },
  };
}
