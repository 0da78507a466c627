/**
 * Constraint violations name their fields through every role. PostgreSQL leaves the DETAIL line
 * ("Key (evaluation_id, agent_type)=(...)") out under row-level security, so the fields come from
 * the constraint's name (src/schema/constraints.ts), which this file keeps equal to the catalog.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import { createAgentRuns } from '../../src/repositories/agent-results.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import { CONSTRAINT_COLUMNS } from '../../src/schema/constraints.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea } from '../support/factories.js';
import { useRoleConnections } from '../support/roles.js';

const t = useTestDatabase();
const connectAs = useRoleConnections(t);

const camel = (column: string) => column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

describe('CONSTRAINT_COLUMNS', () => {
  it('lists every unique, primary-key and foreign-key constraint of the migrated schema, with its columns in order', async () => {
    const { rows } = await sql<{ name: string; columns: string[] }>`
      select i.indexrelid::regclass::text as name, array_agg(a.attname::text order by k.ord) as columns
        from pg_index i
        join pg_class c on c.oid = i.indrelid
        cross join lateral unnest(i.indkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
       where c.relnamespace = 'public'::regnamespace and i.indisunique
         and c.relname not like 'schema_migrations%'
       group by 1
      union all
      select co.conname::text, array_agg(a.attname::text order by k.ord)
        from pg_constraint co
        cross join lateral unnest(co.conkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = co.conrelid and a.attnum = k.attnum
       where co.contype = 'f' and co.connamespace = 'public'::regnamespace
       group by 1`.execute(t.db);
    const catalog = Object.fromEntries(rows.map((row) => [row.name, row.columns.map(camel)]));
    expect(Object.keys(catalog).length).toBeGreaterThan(10);
    expect(CONSTRAINT_COLUMNS).toEqual(catalog);
  });
});

describe('through the worker role, where row-level security hides the DETAIL line', () => {
  it('a duplicate agent run is a ConflictError naming evaluationId and agentType', async () => {
    const worker = await connectAs('ai_validation_worker', 2, 'worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id);
    await evaluations.claimNext(worker.worker, 'worker-constraints');
    await createAgentRuns(worker.worker, queued.id, ['market-research']);
    const error = await createAgentRuns(worker.worker, queued.id, ['market-research']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({
      fields: ['evaluationId', 'agentType'],
      constraint: 'agent_results_evaluation_id_agent_type_key',
      message: expect.stringContaining('evaluationId, agentType') as unknown,
    });
    // The point of the test: PostgreSQL did not say which key.
    expect((error as ConflictError).cause).toMatchObject({ detail: undefined });
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from agent_results where evaluation_id = ${queued.id}`.execute(
      t.db,
    );
    expect(rows[0]?.n).toBe(1);
  });
});
