/**
 * Where the server's CPU goes in one batched evaluation (the `workflow-batched` operation's five
 * statements, as raw pg sends them: contenders/sql.ts), statement by statement, on one backend:
 * its /proc/<pid>/schedstat run time around each statement (so the server must run on this
 * machine). Run it against a migrated, loaded throwaway database, change one thing in its schema
 * (a trigger disabled, an index dropped, a column's compression), run it again, and compare; the
 * figures drift with the machine's load, so alternate the variants rather than trust one pair.
 *
 *   node --import tsx scripts/bench/statement-cost.ts postgres://postgres@127.0.0.1:5432/dl_cost_x [evaluations]
 *
 * It parks the database's queue first (pending runs failed, leases moved a month ahead), as the
 * query benchmark does, so it refuses a database whose name does not start with `dl_`.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { AGENT_TYPES } from '../../seeds/load/phrases.js';
import { AGENT_INSIGHTS, AGENT_OUTPUT, evaluationResults } from './operations.js';
import * as q from './contenders/sql.js';

const WARM_UP = 10;

async function main(url: string, evaluations: number): Promise<void> {
  const database = new URL(url).pathname.slice(1);
  if (!database.startsWith('dl_')) throw new Error(`refusing ${database}: this parks its queue; use a throwaway dl_* database`);
  const client = new pg.Client({ connectionString: url, application_name: 'dl-statement-cost' });
  await client.connect();
  try {
    const { pid } = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;
    const runTimeUs = () => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
    const ideas = (
      await client.query<{ id: string }>(
        `SELECT id FROM business_ideas WHERE deleted_at IS NULL AND status IN ('submitted', 'evaluating', 'completed') LIMIT 2000`,
      )
    ).rows.map((row) => row.id);
    if (ideas.length === 0) throw new Error(`${database} has no evaluable ideas: load the load set first (npm run seed -- --set load)`);
    await client.query(`UPDATE evaluations SET status = 'failed', completed_at = now(), error_message = 'parked' WHERE status = 'pending'`);
    await client.query(`UPDATE evaluations SET lease_expires_at = now() + interval '30 days' WHERE status = 'analyzing'`);

    const totals = new Map<string, number>();
    const timed = async <R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]) => {
      const before = runTimeUs();
      const result = await client.query<R>({ name: `cost_${name}`, text, values });
      totals.set(name, (totals.get(name) ?? 0) + runTimeUs() - before);
      return result.rows;
    };
    const output = JSON.stringify(AGENT_OUTPUT);
    const insights = JSON.stringify(AGENT_INSIGHTS);
    for (let i = 0; i < WARM_UP + evaluations; i++) {
      if (i === WARM_UP) totals.clear(); // the statements are prepared and their plans cached by now
      await client.query({ name: 'cost_enqueue', text: q.ENQUEUE, values: [ideas[i % ideas.length]] });
      const [claimed] = await timed<{ id: string; attempt: number }>('claim', q.CLAIM_NEXT, ['dl-statement-cost', 300]);
      if (!claimed) throw new Error('the claim found nothing: another client is taking this database’s queue');
      const token = [claimed.attempt, 'dl-statement-cost'];
      const runs = await timed<{ id: string }>('start runs', q.START_AGENT_RUNS, [
        claimed.id,
        token[1],
        token[0],
        AGENT_TYPES,
        AGENT_TYPES.map(() => '{}'),
      ]);
      await timed('complete runs', q.COMPLETE_AGENT_RUNS, [
        runs.map((run) => run.id),
        runs.map(() => output),
        runs.map(() => insights),
        runs.map((_, j) => 40 + j),
        runs.map(() => null),
        ...token,
      ]);
      await timed('aggregate', q.SCORE_SUMMARY, [claimed.id]);
      await timed('complete', q.COMPLETE_EVALUATION, [JSON.stringify(evaluationResults(null)), claimed.id, token[1], token[0]]);
    }
    const all = [...totals.values()].reduce((sum, us) => sum + us, 0);
    const per = (us: number) => Math.round(us / evaluations).toLocaleString('en');
    console.log(
      `server CPU per evaluation over ${evaluations}: ${[...totals].map(([name, us]) => `${name} ${per(us)}`).join(', ')}; total ${per(all)} µs`,
    );
  } finally {
    await client.end();
  }
}

const [url, count] = process.argv.slice(2);
if (!url) {
  console.error('usage: node --import tsx scripts/bench/statement-cost.ts <postgres url of a dl_* database> [evaluations, default 200]');
  process.exit(2);
}
main(url, Number(count ?? 200)).catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
