/**
 * The query benchmark's data: the load set, loaded once, plus what the operations need so that
 * every call does real work and the data the reads see stays the same for every contender:
 *
 * - the ids the reads draw from (live ideas and their owners, the load set's users);
 * - 100 users of the benchmark's own, that the idea inserts write to (so that the users the list
 *   page reads do not grow pages during the run);
 * - one user with 20,020 ideas, for keyset page 1 against page 1,000;
 * - the queue: the load set's pending runs and expired leases are parked (failed, and leases moved
 *   a month ahead: their agent runs exist already, and the workflow creates them), and before each
 *   window the benchmark queues fresh pending evaluations of submitted ideas;
 * - running agent runs, made before each window of the agent-run completion (under analyzing
 *   evaluations whose leases expire in a month, so the queue never hands them out).
 */
import type pg from 'pg';
import { loadLoadSet } from '../../seeds/load/load.js';
import type { Progress } from '../../seeds/types.js';
import { AGENT_TYPES } from '../../seeds/load/phrases.js';
import { encodeCursor } from '../../src/validation/cursor.js';
import type { PageCursor } from './contenders/types.js';

/** Rows the keyset user gets: page 1,000 of 20 and one row more. */
export const KEYSET_PAGE = 1000;
export const PAGE_SIZE = 20;
const KEYSET_ROWS = KEYSET_PAGE * PAGE_SIZE + PAGE_SIZE;
const INSERT_USERS = 100;

export interface Fixtures {
  /** Live ideas of the load set and their owners, side by side. */
  ideaIds: string[];
  ideaOwners: string[];
  /** Live users of the load set (for list pages). */
  userIds: string[];
  /** The benchmark's own users, for idea inserts. */
  insertUserIds: string[];
  /** Live ideas an evaluation may be queued for. */
  evaluableIdeaIds: string[];
  /** The user with a long list, and the cursor that gives page KEYSET_PAGE. */
  keyset: { userId: string; rows: number; cursor: PageCursor };
  /** What the load gave, per table. */
  loaded: Record<string, number>;
  loadMs: number;
}

/** Loads the load set at `scale` on `client` and adds the benchmark's fixtures. */
export async function prepareFixtures(client: pg.ClientBase, scale: number, progress: Progress): Promise<Fixtures> {
  const loaded = await loadLoadSet(client, { scale, progress });
  // Park what the load set left in the queue (see the module comment).
  await client.query(
    `UPDATE evaluations SET status = 'failed', completed_at = now(), error_message = 'parked by the query benchmark' WHERE status = 'pending'`,
  );
  await client.query(`UPDATE evaluations SET lease_expires_at = now() + interval '30 days' WHERE status = 'analyzing'`);

  const users = await client.query<{ id: string }>(
    `INSERT INTO users (email, password_hash, name)
     SELECT 'bench-insert-' || g || '@example.com', 'not-a-real-hash', 'Bench insert ' || g FROM generate_series(1, $1) AS g
     RETURNING id`,
    [INSERT_USERS],
  );
  const keysetUser = await client.query<{ id: string }>(
    `INSERT INTO users (email, password_hash, name) VALUES ('bench-keyset@example.com', 'not-a-real-hash', 'Bench keyset') RETURNING id`,
  );
  const keysetUserId = keysetUser.rows[0]!.id;
  // Without the audit trail's insert triggers, as the load set is loaded (seeds/load/load.ts):
  // they would write 20,020 audit rows, which cost more than the ideas and are never read here.
  await client.query('BEGIN');
  try {
    const { rows: triggers } = await client.query<{ name: string; enabled: string }>(
      `SELECT tgname AS name, tgenabled AS enabled FROM pg_trigger
        WHERE tgrelid = 'business_ideas'::regclass AND NOT tgisinternal AND tgenabled <> 'D' AND (tgtype & 4) <> 0 AND tgname LIKE '%audit%'`,
    );
    for (const t of triggers) await client.query(`ALTER TABLE business_ideas DISABLE TRIGGER "${t.name.replaceAll('"', '""')}"`);
    await client.query(
      `INSERT INTO business_ideas (user_id, title, description, status, created_at, updated_at)
       SELECT $1, 'Keyset idea ' || g, 'A benchmark idea with a description long enough for the check constraint. ' || g, 'draft',
              now() - g * interval '1 minute', now() - g * interval '1 minute'
         FROM generate_series(1, $2) AS g`,
      [keysetUserId, KEYSET_ROWS],
    );
    for (const t of triggers) {
      const how = t.enabled === 'A' ? 'ENABLE ALWAYS TRIGGER' : t.enabled === 'R' ? 'ENABLE REPLICA TRIGGER' : 'ENABLE TRIGGER';
      await client.query(`ALTER TABLE business_ideas ${how} "${t.name.replaceAll('"', '""')}"`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  // The tables the benchmark reads and writes (a database-wide VACUUM also walks the catalogs).
  const { rows: vacuumed } = await client.query<{ name: string }>(
    `SELECT t AS name FROM unnest(ARRAY['users', 'business_ideas', 'evaluations', 'agent_results', 'audit_log']) AS t WHERE to_regclass(t) IS NOT NULL`,
  );
  await client.query(`VACUUM ANALYZE ${vacuumed.map((t) => t.name).join(', ')}`);

  const ideas = await client.query<{ id: string; userId: string }>(
    `SELECT i.id, i.user_id AS "userId" FROM business_ideas i JOIN users u ON u.id = i.user_id
      WHERE i.deleted_at IS NULL AND u.deleted_at IS NULL AND i.user_id <> $1 AND u.email NOT LIKE 'bench-%'`,
    [keysetUserId],
  );
  const liveUsers = await client.query<{ id: string }>(`SELECT id FROM users WHERE deleted_at IS NULL AND email NOT LIKE 'bench-%'`);
  const evaluable = await client.query<{ id: string }>(
    `SELECT id FROM business_ideas WHERE deleted_at IS NULL AND status IN ('submitted', 'evaluating', 'completed') AND user_id <> $1`,
    [keysetUserId],
  );
  // The last row of page KEYSET_PAGE - 1: the cursor after it starts page KEYSET_PAGE.
  const before = await client.query<{ createdAt: string; id: string }>(
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAt", id
       FROM business_ideas WHERE user_id = $1 AND deleted_at IS NULL
      ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
    [keysetUserId, (KEYSET_PAGE - 1) * PAGE_SIZE - 1],
  );
  const last = before.rows[0]!;
  if (ideas.rows.length === 0 || evaluable.rows.length === 0) throw new Error('the load set has no live ideas to read or evaluate');
  return {
    ideaIds: ideas.rows.map((r) => r.id),
    ideaOwners: ideas.rows.map((r) => r.userId),
    userIds: liveUsers.rows.map((r) => r.id),
    insertUserIds: users.rows.map((r) => r.id),
    evaluableIdeaIds: evaluable.rows.map((r) => r.id),
    keyset: { userId: keysetUserId, rows: KEYSET_ROWS, cursor: { createdAt: last.createdAt, id: last.id, encoded: encodeCursor(last) } },
    loaded: loaded.rows,
    loadMs: loaded.durationMs,
  };
}

/** Queues `count` pending evaluations of random evaluable ideas (fresh ones, without agent runs). */
export async function queueEvaluations(pool: pg.Pool, fixtures: Fixtures, count: number): Promise<void> {
  for (let done = 0; done < count; done += 5000) {
    const ids = pick(fixtures.evaluableIdeaIds, Math.min(5000, count - done));
    await pool.query(`INSERT INTO evaluations (business_idea_id) SELECT unnest($1::uuid[])`, [ids]);
  }
}

/** Makes `count` running agent runs (8 per new analyzing evaluation) and returns their ids. */
export async function runningAgentRuns(pool: pg.Pool, fixtures: Fixtures, count: number): Promise<string[]> {
  const ids: string[] = [];
  const perEvaluation = AGENT_TYPES.length;
  for (let done = 0; done < count; done += 5000) {
    const evaluations = Math.ceil(Math.min(5000, count - done) / perEvaluation);
    const { rows } = await pool.query<{ id: string }>(
      `WITH e AS (
         INSERT INTO evaluations (business_idea_id, status, started_at, claimed_by, lease_expires_at)
         SELECT idea, 'analyzing', now(), 'bench-fixture', now() + interval '30 days' FROM unnest($1::uuid[]) AS idea
         RETURNING id)
       INSERT INTO agent_results (evaluation_id, agent_type, status, started_at)
       SELECT e.id, agent_type, 'running', now() FROM e CROSS JOIN unnest($2::text[]) AS agent_type
       RETURNING id`,
      [pick(fixtures.evaluableIdeaIds, evaluations), [...AGENT_TYPES]],
    );
    for (const row of rows) ids.push(row.id);
  }
  // Completed in random order, as workers finish them.
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids;
}

/** `count` random elements of `from` (with repetition). */
function pick(from: readonly string[], count: number): string[] {
  return Array.from({ length: count }, () => from[Math.floor(Math.random() * from.length)]!);
}
