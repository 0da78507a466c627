/**
 * Read replicas on real streaming replication (issue 14, items 3 to 5): a private PostgreSQL 15
 * primary and a hot standby made of it with `pg_basebackup -R` (test/support/replication.ts).
 *
 * - Routing: which node served each query (`inet_server_port()`): reads outside a transaction on
 *   every path go to the standby; writes, transactions and `database.primary` to the primary; a
 *   read-only transaction (`withUser(..., { readOnly: true })`) to the standby.
 * - Read-your-writes: 1,000 reads right after their write, none stale, with the standby live and
 *   with its replay paused (the standby is then skipped as lagging, and used again once resumed).
 * - Health: the standby's role and replay lag; a replica URL that is a primary serves no reads; a
 *   primary URL that leads to a standby is `down`, naming it.
 * - A write on a read-only node is a `ReadOnlyNodeError` naming it; `target_session_attrs=read-write`
 *   on a standby refuses the connection.
 */
import { sql, type QueryExecutorProvider } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConnection } from '../../src/connection.js';
import { createDatabase, type CreateDatabaseOptions, type Database } from '../../src/db/database.js';
import { ConnectionError, NotFoundError, ReadOnlyNodeError } from '../../src/errors.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as users from '../../src/repositories/users.js';
import { createUsers } from '../support/fault-load.js';
import { replicationUnavailable, startReplicationPair, type PairDatabase, type ReplicationPair } from '../support/replication.js';

const unavailable = replicationUnavailable();
if (unavailable) console.log(`[faults] replicas routing: skipped: ${unavailable}`);

const DESCRIPTION = 'An idea written by the replica suite: a scheduling service for independent clinics, read back at once.';

/** The port of the server that ran the query. */
async function servedBy(executor: QueryExecutorProvider): Promise<number> {
  const { rows } = await sql<{ port: number }>`select inet_server_port() as port`.execute(executor);
  return rows[0]!.port;
}

describe.skipIf(unavailable !== undefined)('read replicas on streaming replication', () => {
  let pair: ReplicationPair;
  let target: PairDatabase;
  let userId: string;
  const open: Database[] = [];
  const connect = (options: CreateDatabaseOptions): Database => {
    const database = createDatabase({ env: {}, ...options });
    open.push(database);
    return database;
  };

  beforeAll(async () => {
    pair = await startReplicationPair({ name: 'routing' });
    target = await pair.migratedDatabase();
    userId = (await createUsers(pair.primary, target.name, 'replicas', 1))[0]!;
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(open.map((database) => database.close()));
    await pair?.destroy();
  });

  it('routes reads outside a transaction to the standby, and writes, transactions and database.primary to the primary', async () => {
    const database = connect({ connectionString: target.url, replicas: [target.standbyUrl] });
    const health = await database.health({ checkMigrations: false });
    expect(health.replicas).toEqual([
      expect.objectContaining({ node: describeConnection(target.standbyConnection), status: 'ok', role: 'standby', lagBytes: 0 }),
    ]);
    const { primary, standby } = { primary: pair.primary.port, standby: pair.standby.port };

    for (const executor of [database.owner, database.worker, database.anonymous, database.db]) {
      expect(await servedBy(executor)).toBe(standby);
    }
    expect(await database.transaction(database.owner, (trx) => servedBy(trx))).toBe(primary);
    expect(await database.withUser(userId, (trx) => servedBy(trx))).toBe(primary);
    expect(await database.withUser(userId, (trx) => servedBy(trx), { readOnly: true })).toBe(standby);
    expect(await database.transaction(database.owner, (trx) => servedBy(trx), { readOnly: true })).toBe(standby);
    for (const executor of [database.primary.owner, database.primary.worker, database.primary.anonymous, database.primary.db]) {
      expect(await servedBy(executor)).toBe(primary);
    }
    // Repository calls: the write lands on the primary; the read right after it too (read-your-writes:
    // the last check saw the standby before the write), and from the standby once a check has seen it replay the write.
    const reads = () => database.stats().routing!.replicas[0]!.reads;
    const idea = await businessIdeas.createIdea(database.owner, userId, { title: 'routed write', description: DESCRIPTION });
    expect(await pair.primary.query('SELECT 1 FROM business_ideas WHERE id = $1', [idea.id], target.name)).toHaveLength(1);
    const before = reads();
    await businessIdeas.getIdea(database.owner, idea.id);
    expect(reads()).toBe(before);
    await pair.waitForReplay();
    await database.health({ checkMigrations: false });
    await businessIdeas.getIdea(database.owner, idea.id);
    expect(reads()).toBe(before + 1);
  });

  it('moves a read the standby refuses as a write (a writing function) to the primary', async () => {
    await pair.primary.query(
      `CREATE TABLE dl_touches (at timestamptz NOT NULL DEFAULT now());
       CREATE FUNCTION dl_touch() RETURNS int LANGUAGE sql VOLATILE AS 'INSERT INTO dl_touches DEFAULT VALUES RETURNING 1'`,
      [],
      target.name,
    );
    await pair.waitForReplay();
    const database = connect({ connectionString: target.url, replicas: [target.standbyUrl] });
    await database.health({ checkMigrations: false });
    const { rows } = await sql<{ touched: number }>`select dl_touch() as touched`.execute(database.owner);
    expect(rows).toEqual([{ touched: 1 }]);
    expect(database.stats().routing!.fallbacks).toBe(1);
    expect(await pair.primary.query('SELECT 1 FROM dl_touches', [], target.name)).toHaveLength(1);
  });

  it('a write in a read-only transaction is a ReadOnlyNodeError naming the standby', async () => {
    const database = connect({ connectionString: target.url, replicas: [target.standbyUrl] });
    await database.health({ checkMigrations: false });
    const error = await database
      .withUser(userId, (trx) => businessIdeas.createIdea(trx, userId, { title: 'not written', description: DESCRIPTION }), {
        readOnly: true,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadOnlyNodeError);
    expect((error as ReadOnlyNodeError).node).toBe(describeConnection(target.standbyConnection));
    expect((error as ReadOnlyNodeError).message).toMatch(/is read-only/);
  });

  it('read-your-writes: 1,000 reads right after their write, 0 stale, with the standby live', async () => {
    const database = connect({ connectionString: target.url, replicas: [target.standbyUrl] });
    await database.health({ checkMigrations: false });
    const stale = await afterWriteReads(database, 1_000, 'live');
    const { replicaReads, primaryReads } = database.stats().routing!;
    // Without the window, the same loop reads from a standby that has not replayed the write yet.
    const control = connect({ connectionString: target.url, replicas: { urls: [target.standbyUrl], readYourWritesMs: 0 } });
    await control.health({ checkMigrations: false });
    const controlStale = await afterWriteReads(control, 200, 'control');
    console.log(
      `[faults] replicas: read-your-writes: ${stale} stale of 1000 (${replicaReads} reads on the standby, ${primaryReads} on the primary); ` +
        `without it: ${controlStale} stale of 200`,
    );
    expect(stale).toBe(0);
  }, 120_000);

  it('lag injected (replay paused): the standby is skipped, read-your-writes holds (0 stale of 1,000), and it is used again once resumed', async () => {
    const database = connect({
      connectionString: target.url,
      replicas: { urls: [target.standbyUrl], checkIntervalMs: 100, maxLagMs: 1_000 },
    });
    await database.health({ checkMigrations: false });
    expect(await servedBy(database.owner)).toBe(pair.standby.port);
    await pair.pauseReplay();
    try {
      await businessIdeas.createIdea(database.owner, userId, { title: 'before the lag shows', description: DESCRIPTION });
      const health = await database.health({ checkMigrations: false });
      expect(health.status).toBe('degraded');
      expect(health.replicas![0]).toMatchObject({ status: 'lagging', role: 'standby', replayPaused: true });
      expect(health.replicas![0]!.lagBytes).toBeGreaterThan(0);
      const standbyReads = database.stats().routing!.replicas[0]!.reads;
      const stale = await afterWriteReads(database, 1_000, 'paused');
      expect(stale).toBe(0);
      // Reads long after any write too: a lagging standby serves none.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await servedBy(database.owner)).toBe(pair.primary.port);
      expect(database.stats().routing!.replicas[0]!.reads).toBe(standbyReads);
    } finally {
      await pair.resumeReplay();
    }
    await pair.waitForReplay();
    await waitFor(async () => (await database.health({ checkMigrations: false })).replicas![0]!.status === 'ok', 10_000);
    await waitFor(async () => (await servedBy(database.owner)) === pair.standby.port, 10_000);
  }, 120_000);

  it('health: a replica URL that leads to a primary is not-a-standby and serves no reads', async () => {
    const database = connect({ connectionString: target.url, replicas: [target.url] });
    const health = await database.health({ checkMigrations: false });
    expect(health).toMatchObject({ status: 'degraded', ready: true });
    expect(health.replicas![0]).toMatchObject({ status: 'not-a-standby', role: 'primary' });
    expect(health.replicas![0]!.error).toMatch(/is not a hot standby/);
    await users.getUser(database.owner, userId);
    expect(database.stats().routing).toMatchObject({ replicaReads: 0, replicas: [expect.objectContaining({ reads: 0 })] });
    expect(database.stats().routing!.primaryReads).toBeGreaterThan(0);
  });

  it('a primary URL that leads to a standby: health is down naming it, writes are ReadOnlyNodeError, target_session_attrs=read-write refuses it', async () => {
    const node = describeConnection(target.standbyConnection);
    const database = connect({ connectionString: target.standbyUrl });
    const health = await database.health({ checkMigrations: false });
    expect(health).toMatchObject({ status: 'down', ready: false });
    expect(health.error).toContain(node);
    expect(health.error).toMatch(/hot standby/);
    const error = await businessIdeas
      .createIdea(database.owner, userId, { title: 'refused', description: DESCRIPTION })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadOnlyNodeError);
    expect(error).toMatchObject({ code: 'READ_ONLY_NODE', node });

    for (const attrs of ['read-write', 'primary']) {
      const strict = connect({ connectionString: `${target.standbyUrl}?target_session_attrs=${attrs}` });
      const refused = await users.getUser(strict.owner, userId).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ConnectionError);
      expect((refused as Error).message).toContain(`target_session_attrs=${attrs}`);
      expect((refused as Error).message).toContain(node);
      const onPrimary = connect({ connectionString: `${target.url}?target_session_attrs=${attrs}` });
      await expect(users.getUser(onPrimary.owner, userId)).resolves.toMatchObject({ id: userId });
    }
  });

  /** `count` times: write an idea through `database.owner`, read it back at once; the reads that missed it. */
  async function afterWriteReads(database: Database, count: number, tag: string): Promise<number> {
    let stale = 0;
    for (let i = 0; i < count; i++) {
      const idea = await businessIdeas.createIdea(database.owner, userId, { title: `${tag} ${i}`, description: DESCRIPTION });
      try {
        await businessIdeas.getIdea(database.owner, idea.id);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        stale++;
      }
    }
    return stale;
  }
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
