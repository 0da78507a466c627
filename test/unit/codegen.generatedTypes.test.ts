/**
 * The generated types say what the codegen settings intend: JSONB columns typed with their
 * payloads (nullable ones `| null`), written as strings, defaults optional on insert, numeric and
 * enum columns as the pool returns them. These are compile-time checks: `npm run typecheck`
 * fails if one does not hold; the runtime part checks the compiled SQL of a typical write.
 */
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type Insertable,
  type Selectable,
  type Updateable,
} from 'kysely';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createPlugins } from '../../src/db/kysely.js';
import type { AgentInputData, AgentInsights, AgentOutputData, EvaluationResults } from '../../src/schema/json.js';
import type { AgentResults, BusinessIdeas, DB, Evaluations, Users } from '../../src/schema/generated.js';

/** The keys an object type requires. */
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

describe('generated types', () => {
  it('type JSONB columns with their payloads on select, and take strings on write', () => {
    expectTypeOf<Selectable<Evaluations>['results']>().toEqualTypeOf<EvaluationResults | null>();
    expectTypeOf<Selectable<AgentResults>['inputData']>().toEqualTypeOf<AgentInputData>();
    expectTypeOf<Selectable<AgentResults>['outputData']>().toEqualTypeOf<AgentOutputData | null>();
    expectTypeOf<Selectable<AgentResults>['insights']>().toEqualTypeOf<AgentInsights | null>();
    expectTypeOf<Insertable<AgentResults>['inputData']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Updateable<Evaluations>['results']>().toEqualTypeOf<string | null | undefined>();
  });

  it('make defaulted and nullable columns optional on insert, and the rest required', () => {
    expectTypeOf<RequiredKeys<Insertable<Users>>>().toEqualTypeOf<'email' | 'name' | 'passwordHash'>();
    expectTypeOf<RequiredKeys<Insertable<BusinessIdeas>>>().toEqualTypeOf<'description' | 'title' | 'userId'>();
    expectTypeOf<RequiredKeys<Insertable<Evaluations>>>().toEqualTypeOf<'businessIdeaId'>();
    expectTypeOf<RequiredKeys<Insertable<AgentResults>>>().toEqualTypeOf<'agentType' | 'evaluationId'>();
    expectTypeOf<Insertable<AgentResults>['status']>().toEqualTypeOf<'completed' | 'failed' | 'pending' | 'running' | undefined>();
  });

  it('return numbers for numeric, Dates for timestamptz, and string unions for enums', () => {
    expectTypeOf<Selectable<AgentResults>['score']>().toEqualTypeOf<number | null>();
    expectTypeOf<Selectable<Users>['createdAt']>().toEqualTypeOf<Date>();
    expectTypeOf<Selectable<Users>['deletedAt']>().toEqualTypeOf<Date | null>();
    expectTypeOf<Selectable<Evaluations>['priority']>().toEqualTypeOf<'high' | 'low' | 'normal'>();
    expectTypeOf<Selectable<BusinessIdeas>['status']>().toEqualTypeOf<'archived' | 'completed' | 'draft' | 'evaluating' | 'submitted'>();
    expectTypeOf<keyof DB>().toEqualTypeOf<'agentResults' | 'auditLog' | 'businessIdeas' | 'evaluations' | 'seedHistory' | 'users'>();
  });

  it('compile a JSONB write to snake_case SQL with the payload as one JSON parameter', () => {
    const db = new Kysely<DB>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (k) => new PostgresIntrospector(k),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
      plugins: createPlugins(),
    });
    const output: AgentOutputData = { version: 1, summary: 'Growing niche', findings: [{ topic: 'market-size', statement: '$1.2B' }] };
    const query = db
      .insertInto('agentResults')
      .values({ evaluationId: 'e1', agentType: 'market-research', outputData: JSON.stringify(output) })
      .compile();
    expect(query.sql).toBe('insert into "agent_results" ("evaluation_id", "agent_type", "output_data") values ($1, $2, $3)');
    expect(JSON.parse(query.parameters[2] as string)).toEqual(output);
  });
});
