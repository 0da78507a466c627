/**
 * Inputs at their edges, through the real repositories: absent options may be `null`; dates
 * outside PostgreSQL's range are ValidationErrors naming the field (never a 22008 from the server);
 * a JSONB payload keeps its own `__proto__` and `constructor` keys exactly and refuses what jsonb
 * cannot hold (too deep, cyclic) before anything is written.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import * as users from '../../src/repositories/users.js';
import { useTestDatabase } from '../support/database.js';
import { createSubmittedIdea, createTestIdea, createTestUser } from '../support/factories.js';

const t = useTestDatabase();

/** The id of the newest audit row: a write to any of the four tables adds one. */
const lastAudit = async () =>
  (
    await t.db
      .selectFrom('auditLog')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst()
  )?.id ?? 0;

describe('absent options', () => {
  it('may be null wherever they may be left out', async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id, { status: 'submitted' });
    expect((await users.listUsers(t.db, null)).items.length).toBeGreaterThan(0);
    expect((await businessIdeas.listIdeasByUser(t.db, user.id, null)).items).toHaveLength(1);
    const evaluation = await evaluations.createEvaluation(t.db, idea.id, null);
    expect((await evaluations.listEvaluationsByIdea(t.db, idea.id, null)).items).toHaveLength(1);
    expect((await agentResults.listAgentResults(t.db, evaluation.id, null)).items).toEqual([]);
    expect(await evaluations.claimNext(t.db, 'worker-null', null)).toMatchObject({ id: evaluation.id });
    expect(await businessIdeas.setIdeaStatus(t.db, idea.id, 'archived', null)).toMatchObject({ status: 'archived' });
    expect(await t.database.transaction(t.db, async () => 'ran', null)).toBe('ran');
    expect(await t.database.withUser(user.id, async () => 'ran', null)).toBe('ran');
    expect((await t.database.health(null)).status).not.toBe('down');
  });
});

describe('dates', () => {
  it('outside the timestamptz range are ValidationErrors naming the field, before any query', async () => {
    const user = await createTestUser(t.db);
    const before = t.database.stats().queries;
    for (const [field, value] of [
      ['createdFrom', new Date(-8.64e15)],
      ['createdTo', new Date(Number.NaN)],
      ['createdFrom', '2026-02-30T00:00:00Z'],
    ] as const) {
      const error = await businessIdeas.listIdeasByUser(t.db, user.id, { [field]: value }).catch((e: unknown) => e);
      expect(error, field).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toEqual([field]);
    }
    expect(t.database.stats().queries).toBe(before);
    // The earliest instant PostgreSQL holds is accepted and answered.
    expect((await businessIdeas.listIdeasByUser(t.db, user.id, { createdFrom: new Date(Date.UTC(-4713, 10, 24)) })).items).toEqual([]);
  });
});

describe('JSONB payloads', () => {
  it('keep own __proto__ and constructor keys exactly in their open-ended parts, refuse them by name elsewhere, and pollute nothing', async () => {
    const idea = await createSubmittedIdea(t.db);
    const evaluation = await evaluations.createEvaluation(t.db, idea.id);
    const text = '{"parameters": {"__proto__": {"isAdmin": true}, "constructor": "x"}}';
    const [run] = await agentResults.createAgentRuns(t.db, evaluation.id, [
      { agentType: 'market-research', inputData: JSON.parse(text) as object },
    ]);
    const stored = await agentResults.getAgentResult(t.db, run!.id);
    expect(Object.keys(stored.inputData.parameters!)).toEqual(['__proto__', 'constructor']);
    expect(JSON.stringify(stored.inputData)).toBe(text.replace(/ /g, ''));
    expect(({} as { isAdmin?: boolean }).isAdmin).toBeUndefined();
    // At a level the payload's schema declares, the key is not one of its fields: refused by name.
    const refused = await agentResults
      .createAgentRuns(t.db, evaluation.id, [
        { agentType: 'customer-research', inputData: JSON.parse('{"__proto__": {"isAdmin": true}}') as object },
      ])
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).message).toContain('__proto__');
  });

  it('refuse a payload too deep or cyclic by name, and nothing is written', async () => {
    const idea = await createSubmittedIdea(t.db);
    const evaluation = await evaluations.createEvaluation(t.db, idea.id);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 2000; i++) deep = { next: deep };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const before = await lastAudit();
    for (const [inputData, message] of [
      [deep, 'must be at most 64 levels deep'],
      [cyclic, 'must not contain a cycle'],
    ] as const) {
      const error = await agentResults
        .createAgentRuns(t.db, evaluation.id, [{ agentType: 'customer-research', inputData }])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toContain(message);
    }
    expect(await lastAudit()).toBe(before);
  });
});
