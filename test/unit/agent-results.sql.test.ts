/** The SQL every agent results repository function sends, committed as test/unit/__sql__/agent_results.sql. */
import { expect, it } from 'vitest';
import * as agentResults from '../../src/repositories/agent-results.js';
import { encodeCursor, encodeKeyCursor } from '../../src/validation/cursor.js';
import { captureSql, sqlDocument } from '../support/sql-capture.js';

const ID = '0b6e2a3c-6f1d-4c2e-9a53-2f8f1d0c7e11';
const EVALUATION = '5d7b8f0e-2c4a-4e6b-8a1d-3f9c0b2e4d6a';
const CURSOR = encodeCursor({ createdAt: '2026-11-25T09:00:00.123456Z', id: ID });

it('compiles every agent results query as committed in __sql__/agent_results.sql', async () => {
  const { sqlOf } = captureSql();
  const entries = {
    'createAgentRuns (one multi-row insert)': await sqlOf((db) =>
      agentResults.createAgentRuns(db, EVALUATION, [
        'market-research',
        { agentType: 'competitive-analysis', inputData: { model: 'secret-model', promptVersion: '3' } },
        { agentType: 'customer-research' },
      ]),
    ),
    'createAgentRuns (started)': await sqlOf((db) =>
      agentResults.createAgentRuns(db, EVALUATION, ['market-research', 'customer-research'], { start: true }),
    ),
    'createAgentRuns (token: the fence, created or taken over in place, then the attempt-state lookup)': await sqlOf((db) =>
      agentResults.createAgentRuns(db, EVALUATION, ['market-research', 'customer-research'], {
        start: true,
        workerId: 'secret-worker',
        attempt: 3,
      }),
    ),
    'createAgentRuns (invalid input)': await sqlOf((db) =>
      agentResults.createAgentRuns(db, EVALUATION, ['Market Research', 'market-research', 'market-research']),
    ),
    getAgentResult: await sqlOf((db) => agentResults.getAgentResult(db, ID)),
    listAgentResults: await sqlOf((db) => agentResults.listAgentResults(db, EVALUATION)),
    'listAgentResults (cursor)': await sqlOf((db) =>
      agentResults.listAgentResults(db, EVALUATION, { limit: 10, cursor: encodeKeyCursor('market-research') }),
    ),
    'startAgentRun (then, when nothing matched, the status lookup)': await sqlOf((db) => agentResults.startAgentRun(db, ID)),
    'startAgentRun (token: fenced in the statement; then the attempt-state lookup)': await sqlOf((db) =>
      agentResults.startAgentRun(db, ID, { workerId: 'secret-worker', attempt: 3 }),
    ),
    'completeAgentRun (token)': await sqlOf((db) =>
      agentResults.completeAgentRun(db, ID, {
        outputData: { version: 1, summary: 'secret', findings: [] },
        workerId: 'secret-worker',
        attempt: 3,
      }),
    ),
    'completeAgentRuns (token)': await sqlOf((db) =>
      agentResults.completeAgentRuns(db, [{ id: ID, outputData: { version: 1, summary: 'secret', findings: [] } }], {
        workerId: 'secret-worker',
        attempt: 3,
      }),
    ),
    'failAgentRun (token)': await sqlOf((db) =>
      agentResults.failAgentRun(db, ID, { errorMessage: 'secret rate limit', workerId: 'secret-worker', attempt: 3 }),
    ),
    completeAgentRun: await sqlOf((db) =>
      agentResults.completeAgentRun(db, ID, {
        outputData: { version: 1, summary: 'secret summary', findings: [] },
        insights: { version: 1, items: [] },
        score: 78.5,
      }),
    ),
    'completeAgentRun (idempotency key; then the run the key completed, then the status lookup)': await sqlOf((db) =>
      agentResults.completeAgentRun(db, ID, {
        outputData: { version: 1, summary: 'secret summary', findings: [] },
        score: 78.5,
        idempotencyKey: 'request-1',
      }),
    ),
    'completeAgentRun (invalid score)': await sqlOf((db) =>
      agentResults.completeAgentRun(db, ID, { outputData: { version: 1, summary: '', findings: [] }, score: 100.001 }),
    ),
    "completeAgentRuns (then, when it wrote nothing, the runs' states, then the status lookup)": await sqlOf((db) =>
      agentResults.completeAgentRuns(db, [
        { id: ID, outputData: { version: 1, summary: 'secret summary', findings: [] }, insights: { version: 1, items: [] }, score: 78.5 },
        { id: EVALUATION, outputData: { version: 1, summary: 'secret other', findings: [] }, idempotencyKey: 'secret-key' },
      ]),
    ),
    'completeAgentRuns (invalid input)': await sqlOf((db) =>
      agentResults.completeAgentRuns(db, [{ id: ID, outputData: { version: 1, summary: '', findings: [] }, score: 100.001 }]),
    ),
    failAgentRun: await sqlOf((db) => agentResults.failAgentRun(db, ID, { errorMessage: 'secret rate limit' })),
    findAgentResultsByInsights: await sqlOf((db) =>
      agentResults.findAgentResultsByInsights(db, { contains: { items: [{ kind: 'threat', title: 'secret' }] } }),
    ),
    'findAgentResultsByInsights (every filter, cursor)': await sqlOf((db) =>
      agentResults.findAgentResultsByInsights(db, {
        contains: { version: 1 },
        evaluationId: EVALUATION,
        agentType: 'market-research',
        limit: 5,
        cursor: CURSOR,
      }),
    ),
    findAgentResultsByOutput: await sqlOf((db) =>
      agentResults.findAgentResultsByOutput(db, { path: ['findings', 'topic'], equals: 'secret-topic' }),
    ),
    'findAgentResultsByOutput (every filter, cursor)': await sqlOf((db) =>
      agentResults.findAgentResultsByOutput(db, {
        path: ['details', 'marketSize', 'currency'],
        equals: 'USD',
        evaluationId: EVALUATION,
        agentType: 'market-research',
        limit: 5,
        cursor: CURSOR,
      }),
    ),
    scoreSummary: await sqlOf((db) => agentResults.scoreSummary(db, EVALUATION)),
  };
  // Caller values (payloads, the jsonpath) only ever travel as parameters.
  for (const text of Object.values(entries)) expect(text).not.toMatch(/secret|threat|topic|currency|USD/i);
  expect(entries['createAgentRuns (one multi-row insert)'].split(';\n')).toHaveLength(1);
  expect(entries['createAgentRuns (one multi-row insert)']).toMatch(
    /values \(\$1, \$2, \$3\), \(\$4, \$5, \$6\), \(\$7, \$8, \$9\) returning/,
  );
  expect(entries['createAgentRuns (started)']).toMatch(/values \(\$1, \$2, \$3, \$4, now\(\)\), \(\$5, \$6, \$7, \$8, now\(\)\) returning/);
  expect(entries['completeAgentRuns (invalid input)']).toBe('');
  expect(entries.findAgentResultsByInsights).toContain('"agent_results"."insights" @> $1::jsonb');
  expect(entries.findAgentResultsByOutput).toContain('"agent_results"."output_data" @? $1::jsonpath');
  await expect(sqlDocument(entries)).toMatchFileSnapshot('./__sql__/agent_results.sql');
});
