/** The evaluation input schemas: what they accept, and that every failing field is reported by path. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { MAX_JSON_BYTES, parseInput } from '../../src/validation/common.js';
import {
  claimNextSchema,
  completeEvaluationSchema,
  createEvaluationSchema,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_MAX_ATTEMPTS,
  failEvaluationSchema,
  listEvaluationsByStatusSchema,
  releaseLeaseSchema,
  renewLeaseSchema,
  retryEvaluationSchema,
  workerId,
} from '../../src/validation/evaluations.js';

const ID = '0b6e2a3c-6f1d-4c2e-9a53-2f8f1d0c7e11';

/** The issues `parseInput` reports, as `path: message` lines. */
function issues(schema: Parameters<typeof parseInput>[0], input: unknown): string[] {
  try {
    parseInput(schema, input, 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ValidationError');
}

describe('createEvaluationSchema', () => {
  it('defaults the priority to normal', () => {
    expect(parseInput(createEvaluationSchema, { businessIdeaId: ID }, 'test')).toEqual({ businessIdeaId: ID, priority: 'normal' });
  });

  it('reports a bad id, an unknown priority and an unknown key together', () => {
    const found = issues(createEvaluationSchema, { businessIdeaId: 'nope', priority: 'urgent', note: 'x' });
    expect(found).toEqual([
      'businessIdeaId: must be a UUID',
      'priority: must be one of low, normal, high',
      expect.stringMatching(/^\(root\): .*note/),
    ]);
  });
});

describe('workerId (mirrors evaluations_claimed_by_format_check)', () => {
  it.each([
    ['w', true],
    ['worker-1@host', true],
    [' x ', true],
    ['x'.repeat(200), true],
    ['', false],
    ['   ', false],
    ['x'.repeat(201), false],
    ['a\u0000b', false],
  ])('%j -> %s', (value, ok) => {
    expect(workerId.safeParse(value).success).toBe(ok);
  });
});

describe('claimNextSchema and renewLeaseSchema', () => {
  it('default the lease to five minutes', () => {
    expect(parseInput(claimNextSchema, { workerId: 'w' }, 'test')).toEqual({ workerId: 'w', leaseSeconds: DEFAULT_LEASE_SECONDS });
    expect(DEFAULT_LEASE_SECONDS).toBe(300);
  });

  it.each([0, -5, 1.5, 86_401, Number.NaN, '30'])('reject a lease of %j seconds', (leaseSeconds) => {
    expect(issues(claimNextSchema, { workerId: 'w', leaseSeconds })).toEqual([expect.stringMatching(/^leaseSeconds: /)]);
  });

  it('accept 1 and 86400 seconds', () => {
    expect(parseInput(renewLeaseSchema, { id: ID, workerId: 'w', attempt: 1, leaseSeconds: 1 }, 'test').leaseSeconds).toBe(1);
    expect(parseInput(renewLeaseSchema, { id: ID, workerId: 'w', attempt: 1, leaseSeconds: 86_400 }, 'test').leaseSeconds).toBe(86_400);
  });
});

describe('the fencing token', () => {
  it('is required whole by renewLease and releaseLease, and both fields or neither elsewhere', () => {
    expect(issues(renewLeaseSchema, { id: ID, workerId: 'w' })).toEqual([expect.stringMatching(/^attempt: /)]);
    expect(issues(releaseLeaseSchema, { id: ID, attempt: 2 })).toEqual([expect.stringMatching(/^workerId: /)]);
    expect(issues(failEvaluationSchema, { id: ID, errorMessage: 'x', workerId: 'w' })).toEqual([
      'attempt: is required with workerId (the attempt the claim returned)',
    ]);
    expect(issues(failEvaluationSchema, { id: ID, errorMessage: 'x', attempt: 0 })).toEqual(['workerId: is required with attempt']);
    expect(parseInput(failEvaluationSchema, { id: ID, errorMessage: 'x' }, 'test')).toEqual({ id: ID, errorMessage: 'x' });
  });

  it.each([-1, 1.5, 2_147_483_648, '1', Number.NaN])('refuses an attempt of %j', (attempt) => {
    expect(issues(releaseLeaseSchema, { id: ID, workerId: 'w', attempt })).toEqual([expect.stringMatching(/^attempt: /)]);
  });
});

describe('the retry budget', () => {
  it('is 1 to 100 attempts, by priority when not given', () => {
    expect(DEFAULT_MAX_ATTEMPTS).toEqual({ low: 3, normal: 5, high: 8 });
    expect(issues(createEvaluationSchema, { businessIdeaId: ID, maxAttempts: 0 })).toEqual([expect.stringMatching(/^maxAttempts: /)]);
    expect(issues(createEvaluationSchema, { businessIdeaId: ID, maxAttempts: 101 })).toEqual([expect.stringMatching(/^maxAttempts: /)]);
    expect(issues(retryEvaluationSchema, { id: ID, maxAttempts: 2.5 })).toEqual([expect.stringMatching(/^maxAttempts: /)]);
    expect(parseInput(retryEvaluationSchema, { id: ID, maxAttempts: 100 }, 'test')).toEqual({ id: ID, maxAttempts: 100 });
  });
});

describe('completeEvaluationSchema', () => {
  it('requires results as a JSON object within the size cap', () => {
    expect(issues(completeEvaluationSchema, { id: ID })).toEqual([expect.stringMatching(/^results: /)]);
    expect(issues(completeEvaluationSchema, { id: ID, results: [1, 2] })).toEqual([expect.stringMatching(/^results: /)]);
    expect(issues(completeEvaluationSchema, { id: ID, results: { summary: 'x'.repeat(MAX_JSON_BYTES) } })).toEqual([
      `results: must be at most ${MAX_JSON_BYTES} bytes as JSON`,
    ]);
    expect(issues(completeEvaluationSchema, { id: ID, results: { summary: 'a\u0000b' } })).toEqual([
      'results: must not contain the NUL character (\\u0000)',
    ]);
    expect(issues(completeEvaluationSchema, { id: ID, results: { at: new Date() } })).toEqual([expect.stringMatching(/^results\.at: /)]);
  });

  it('keeps the payload as given', () => {
    const results = {
      version: 1,
      overallScore: 72.5,
      recommendation: 'go',
      confidence: 0.75,
      summary: 'Kept as given, snake_key and all.',
      agentScores: [{ agentType: 'market-research', score: null, weight: 1, status: 'failed' }],
      strengths: ['one'],
      risks: [{ title: 'two', severity: 'low' }],
      nextSteps: [],
      generatedAt: '2026-11-25T09:00:00+01:00',
    };
    expect(parseInput(completeEvaluationSchema, { id: ID, results }, 'test').results).toEqual(results);
  });
});

describe('failEvaluationSchema', () => {
  it('requires a non-blank message of at most 10000 characters', () => {
    expect(issues(failEvaluationSchema, { id: ID, errorMessage: '  ' })).toEqual([
      expect.stringMatching(/^errorMessage: must be at least 1 character/),
    ]);
    expect(issues(failEvaluationSchema, { id: ID, errorMessage: 'x'.repeat(10_001) })).toEqual([
      'errorMessage: must be at most 10000 characters',
    ]);
    expect(parseInput(failEvaluationSchema, { id: ID, errorMessage: 'it\'s; --"broken" $$' }, 'test').errorMessage).toBe(
      'it\'s; --"broken" $$',
    );
  });
});

describe('listEvaluationsByStatusSchema', () => {
  it('reports an unknown status, a bad limit and a tampered cursor together', () => {
    expect(issues(listEvaluationsByStatusSchema, { status: 'done', limit: 0, cursor: 'abc' })).toEqual([
      'status: must be one of pending, analyzing, completed, failed, dead',
      expect.stringMatching(/^limit: /),
      'cursor: is not a valid cursor',
    ]);
  });
});

describe('the payload schemas', () => {
  const results = {
    version: 1,
    overallScore: 72.5,
    recommendation: 'go',
    confidence: 0.75,
    summary: 'A niche.',
    agentScores: [{ agentType: 'market-research', score: 70, weight: 1, status: 'completed' }],
    strengths: [],
    risks: [],
    nextSteps: [],
    generatedAt: '2026-11-25T09:00:00.000Z',
  };

  it('check scores, fractions, enums, instants and unknown keys, each at its path', () => {
    expect(() => parseInput(completeEvaluationSchema, { id: ID, results }, 'test')).not.toThrow();
    expect(
      issues(completeEvaluationSchema, {
        id: ID,
        results: {
          ...results,
          overallScore: 150,
          confidence: -0.1,
          recommendation: 'maybe',
          generatedAt: 'yesterday',
          agentScores: [{ agentType: 'Market Research', score: 101, weight: 1, status: 'done' }],
          extra: true,
        },
      }),
    ).toEqual([
      'results.overallScore: must be from 0 to 100',
      'results.recommendation: must be strong-go, go, pivot or no-go',
      'results.confidence: must be from 0 to 1',
      'results.agentScores.0.agentType: must be lowercase kebab-case (e.g. market-research), at most 64 characters',
      'results.agentScores.0.score: must be from 0 to 100',
      'results.agentScores.0.status: must be completed or failed',
      'results.generatedAt: must be an ISO 8601 date-time with a time zone',
      'results: Unrecognized key: "extra"',
    ]);
  });

  it('are exported for services to check an agent output before saving it', async () => {
    const { agentOutputDataSchema, evaluationResultsSchema } = await import('../../src/index.js');
    expect(evaluationResultsSchema.safeParse(results).success).toBe(true);
    const output = agentOutputDataSchema.safeParse({
      version: 1,
      summary: 'x',
      findings: [{ topic: 'market-size', statement: 'Big', confidence: 2 }],
    });
    expect(output.success ? [] : output.error.issues.map((i) => i.path.join('.'))).toEqual(['findings.0.confidence']);
  });
});
