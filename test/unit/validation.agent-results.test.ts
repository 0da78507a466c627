/** The agent result input schemas: agent types, scores, payloads and the JSONB query inputs. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  agentType,
  completeAgentRunSchema,
  createAgentRunsSchema,
  findByInsightsSchema,
  findByOutputSchema,
  KNOWN_AGENT_TYPES,
  MAX_AGENT_RUNS,
  score,
} from '../../src/validation/agent-results.js';
import { parseInput } from '../../src/validation/common.js';

const ID = '0b6e2a3c-6f1d-4c2e-9a53-2f8f1d0c7e11';
const OUTPUT = { version: 1, summary: 'ok', findings: [] };

function issues(schema: Parameters<typeof parseInput>[0], input: unknown): string[] {
  try {
    parseInput(schema, input, 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ValidationError');
}

describe('agentType (mirrors agent_results_agent_type_format_check)', () => {
  it('accepts the known agents and any other kebab-case name', () => {
    expect(KNOWN_AGENT_TYPES).toEqual([
      'market-research',
      'competitive-analysis',
      'customer-research',
      'financial-modeling',
      'technical-feasibility',
      'regulatory-review',
      'go-to-market',
      'risk-assessment',
    ]);
    for (const type of [...KNOWN_AGENT_TYPES, 'pricing', 'regulatory-risk-2', 'a', `a${'-b'.repeat(31)}`]) {
      expect(agentType.safeParse(type).success, type).toBe(true);
    }
  });

  it.each([
    '',
    'Market-Research',
    'market_research',
    'market--research',
    '-market',
    'market-',
    '2fast',
    'market research',
    `a${'b'.repeat(64)}`,
    'é',
  ])('rejects %j', (type) => {
    expect(agentType.safeParse(type).success).toBe(false);
  });
});

describe('score (mirrors agent_results_score_range_check and numeric(5, 2))', () => {
  it.each([0, 100, 78.5, 33.33, 0.01])('accepts %s', (value) => expect(score.safeParse(value).success).toBe(true));
  it.each([-0.01, 100.01, 33.333, Number.NaN, Number.POSITIVE_INFINITY, '50'])('rejects %j', (value) =>
    expect(score.safeParse(value).success).toBe(false),
  );
});

describe('createAgentRunsSchema', () => {
  it('accepts types and { agentType, inputData } specs', () => {
    const runs = ['market-research', { agentType: 'pricing', inputData: { model: 'm', parameters: { regions: ['EU'] } } }];
    expect(parseInput(createAgentRunsSchema, { evaluationId: ID, runs }, 'test').runs).toEqual(runs);
  });

  it('reports every bad run by its index, duplicates included', () => {
    expect(
      issues(createAgentRunsSchema, {
        evaluationId: 'x',
        runs: ['market-research', 'Bad Type', { agentType: 'pricing', inputData: [] }, 'market-research'],
      }),
    ).toEqual(['evaluationId: must be a UUID', expect.stringMatching(/^runs\.1: /), expect.stringMatching(/^runs\.2\.inputData: /)]);
    // Duplicates are checked once every run is valid on its own.
    expect(issues(createAgentRunsSchema, { evaluationId: ID, runs: ['pricing', { agentType: 'pricing' }] })).toEqual([
      'runs.1: repeats an agent type listed before it',
    ]);
  });

  it('names the field inside an object run, and the run itself when it is neither a type nor an object', () => {
    const runs = [
      { agentType: 'pricing', inputData: 'text' },
      { agentType: 'Bad Type' },
      { agentType: 'sizing', inputData: { model: 7 } },
      42,
      null,
    ];
    expect(issues(createAgentRunsSchema, { evaluationId: ID, runs })).toEqual([
      expect.stringMatching(/^runs\.0\.inputData: /),
      expect.stringMatching(/^runs\.1\.agentType: /),
      expect.stringMatching(/^runs\.2\.inputData\.model: /),
      'runs.3: must be an agent type or { agentType, inputData }',
      'runs.4: must be an agent type or { agentType, inputData }',
    ]);
  });

  it(`requires 1 to ${MAX_AGENT_RUNS} runs`, () => {
    expect(issues(createAgentRunsSchema, { evaluationId: ID, runs: [] })).toEqual(['runs: must list at least one agent run']);
    const many = Array.from({ length: MAX_AGENT_RUNS + 1 }, (_, i) => `agent-${i}`);
    expect(issues(createAgentRunsSchema, { evaluationId: ID, runs: many })).toEqual([
      `runs: must list at most ${MAX_AGENT_RUNS} agent runs`,
    ]);
  });
});

describe('completeAgentRunSchema', () => {
  it('requires output data; insights and score are optional or null', () => {
    expect(parseInput(completeAgentRunSchema, { id: ID, outputData: OUTPUT }, 'test')).toEqual({ id: ID, outputData: OUTPUT });
    expect(parseInput(completeAgentRunSchema, { id: ID, outputData: OUTPUT, insights: null, score: null }, 'test')).toMatchObject({
      insights: null,
      score: null,
    });
    expect(issues(completeAgentRunSchema, { id: ID, insights: 'x', score: 101 })).toEqual([
      expect.stringMatching(/^outputData: /),
      expect.stringMatching(/^insights: /),
      'score: must be from 0 to 100',
    ]);
  });
});

describe('findByInsightsSchema', () => {
  it('requires a non-empty object to match', () => {
    expect(issues(findByInsightsSchema, { contains: {} })).toEqual(['contains: must name at least one key']);
    expect(issues(findByInsightsSchema, { contains: { items: 'x'.repeat(17 * 1024) } })).toEqual([
      'contains: must be at most 16384 bytes as JSON',
    ]);
    expect(parseInput(findByInsightsSchema, { contains: { items: [{ kind: 'threat' }] } }, 'test')).toMatchObject({ limit: 20 });
  });
});

describe('findByOutputSchema', () => {
  it('accepts a key path and a JSON scalar', () => {
    for (const equals of ['USD', 12.5, -3, true, null, 'quote " backslash \\ emoji 😀']) {
      expect(parseInput(findByOutputSchema, { path: ['details', 'currency'], equals }, 'test').equals).toBe(equals);
    }
  });

  it('rejects what jsonpath cannot carry and reports each path segment', () => {
    expect(issues(findByOutputSchema, { path: [], equals: 1 })).toEqual(['path: must name at least one key']);
    expect(issues(findByOutputSchema, { path: ['ok', '', 'a\u0000', 'lone \uD800'], equals: { a: 1 } })).toEqual([
      'path.1: must not be empty',
      'path.2: must not contain the NUL character (\\u0000)',
      'path.3: must be well-formed Unicode (no lone surrogate)',
      'equals: must be a string, a finite number, a boolean or null',
    ]);
    expect(issues(findByOutputSchema, { path: ['a'], equals: Number.NaN })).toEqual([expect.stringMatching(/^equals: /)]);
    expect(issues(findByOutputSchema, { path: Array.from({ length: 17 }, () => 'k'), equals: 1 })).toEqual([
      'path: must be at most 16 keys deep',
    ]);
  });
});
