/**
 * A read replica that goes down mid-load, and comes back (issue 14, item 4): 8 readers call
 * `businessIdeas.getIdea` through `database.owner` in a loop while the hot standby is stopped
 * (`pg_ctl stop -m immediate`, then in a second round `-m fast`). Proves:
 *
 * - no read fails: a read that failed on the standby ran again on the primary;
 * - while it is down the standby serves nothing, and `health()` reports it `down`;
 * - once it is back, a check finds it and reads go to it again.
 */
import { sql } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import { createUsers } from '../support/fault-load.js';
import { replicationUnavailable, startReplicationPair, type PairDatabase, type ReplicationPair } from '../support/replication.js';

const unavailable = replicationUnavailable();
if (unavailable) console.log(`[faults] replicas failover: skipped: ${unavailable}`);

const READERS = 8;
const IDEAS = 50;

describe.skipIf(unavailable !== undefined)('fault: a read replica down mid-load', () => {
  let pair: ReplicationPair;
  let target: PairDatabase;
  let database: Database;
  let ideaIds: string[];

  beforeAll(async () => {
    pair = await startReplicationPair({ name: 'failover' });
    target = await pair.migratedDatabase();
    const [userId] = await createUsers(pair.primary, target.name, 'failover', 1);
    const rows = await pair.primary.query<{ id: string }>(
      `INSERT INTO business_ideas (user_id, title, description)
       SELECT $1, 'failover idea ' || n, 'An idea read by the failover suite while its standby is stopped and started again.'
         FROM generate_series(1, $2::int) AS n RETURNING id`,
      [userId, IDEAS],
      target.name,
    );
    ideaIds = rows.map((row) => row.id);
    await pair.waitForReplay();
    database = createDatabase({
      connectionString: target.url,
      replicas: { urls: [target.standbyUrl], checkIntervalMs: 200 },
      pool: { max: 10, connectionTimeoutMs: 2_000 },
      env: {},
    });
  }, 180_000);

  afterAll(async () => {
    await database?.close();
    await pair?.destroy();
  });

  for (const mode of ['immediate', 'fast'] as const) {
    it(`stop -m ${mode}: no read fails (the primary takes them), the standby is used again once back`, async () => {
      const health = await database.health({ checkMigrations: false });
      expect(health.replicas![0]).toMatchObject({ status: 'ok' });
      const failures: unknown[] = [];
      let reads = 0;
      let running = true;
      const readers = Array.from({ length: READERS }, async (_, reader) => {
        for (let i = reader; running; i++) {
          try {
            await businessIdeas.getIdea(database.owner, ideaIds[i % IDEAS]!);
            reads++;
          } catch (error) {
            failures.push(error);
          }
        }
      });
      try {
        await sleep(500);
        const standbyReadsBefore = database.stats().routing!.replicas[0]!.reads;
        expect(standbyReadsBefore).toBeGreaterThan(0);
        await pair.standby.stop(mode);
        const stoppedAt = reads;
        await sleep(1_000);
        const down = await database.health({ checkMigrations: false });
        expect(down.replicas![0]).toMatchObject({ status: 'down', role: null });
        expect(down).toMatchObject({ status: 'degraded', ready: true });
        const whileDown = database.stats().routing!.replicas[0]!.reads;
        await sleep(500);
        expect(database.stats().routing!.replicas[0]!.reads).toBe(whileDown);
        expect(reads).toBeGreaterThan(stoppedAt);

        await pair.standby.start();
        await pair.waitForReplay();
        const deadline = performance.now() + 15_000;
        while (database.stats().routing!.replicas[0]!.reads === whileDown) {
          if (performance.now() > deadline) throw new Error('the standby was not used again within 15 s of coming back');
          await sleep(50);
        }
      } finally {
        running = false;
        await Promise.all(readers);
      }
      console.log(
        `[faults] replicas: stop -m ${mode}: ${reads} reads, ${failures.length} failed, ${database.stats().routing!.fallbacks} moved to the primary so far`,
      );
      expect(failures.map((error) => (error as Error).message)).toEqual([]);
      const { rows } = await sql<{ port: number }>`select inet_server_port() as port`.execute(database.owner);
      expect(rows[0]!.port).toBe(pair.standby.port);
    }, 120_000);
  }
});
