/**
 * The injection corpus: hostile and unusual strings (quotes, comments, `;`, dollar quotes,
 * backslashes, LIKE wildcards, RTL marks, emoji, combining marks, zero-width characters, very
 * long text) through every string input of every repository function. What is stored comes back
 * byte for byte (checked in SQL too, and in the audit log's JSON); what PostgreSQL cannot hold
 * (NUL, lone surrogates) is a ValidationError before any query; malformed ids, cursors, statuses
 * and agent types are ValidationErrors. Afterwards every table exists with the expected rows.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { AgentInputData, AgentInsights, AgentOutputData, EvaluationResults, JsonObject } from '../../src/schema/json.js';
import { ValidationError } from '../../src/errors.js';
import * as agentResults from '../../src/repositories/agent-results.js';
import { listAuditEntries } from '../../src/repositories/audit-log.js';
import * as ideas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import { encodeCursor } from '../../src/validation/cursor.js';
import * as users from '../../src/repositories/users.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();
const db = () => t.db;

const CORPUS: readonly (readonly [label: string, value: string])[] = [
  ['single quotes', "O'Brien's idea isn't ''quoted'' '"],
  ['double quotes', 'say "hello" ""twice"" "'],
  ['classic injection', "'; DROP TABLE users; --"],
  ['closing paren injection', "Robert'); DROP TABLE business_ideas CASCADE;--"],
  ['tautology', "' OR '1'='1' OR ''='"],
  ['line comment', 'value -- the rest is a comment\n-- and this'],
  ['block comments', 'a /* comment */ b */ c /* unterminated'],
  ['semicolons', ';;; SELECT pg_sleep(10); ; ROLLBACK; COMMIT;'],
  ['dollar quotes', '$$ SELECT 1 $$ $ $$$'],
  ['tagged dollar quotes', '$tag$ DROP TABLE evaluations $tag$ $a$b$ $_$'],
  ['backslashes', "C:\\path\\to\\file \\' \\\\ \\n E'\\x41' \\"],
  ['escape text, not the character', '\\u0000 \\x00 \\0 %00 &#0;'],
  ['LIKE wildcards', '100% of the _best_ %_% ideas \\% \\_'],
  ['control whitespace', 'tab\there\nnewline\r\ncrlf\vvertical\fform'],
  ['right-to-left', '\u202Eevil\u202C and \u05E2\u05D1\u05E8\u05D9\u05EA \u0645\u0631\u062D\u0628\u0627 \u200F'],
  ['emoji', '\u{1F680} launch \u{1F469}\u200D\u{1F4BB} \u{1F44D}\u{1F3FD} \u{1F1EA}\u{1F1FA} \u{1F9D1}\u200D\u{1F91D}\u200D\u{1F9D1}'],
  ['combining marks', 'Cafe\u0301 n\u0303 Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032D lgo\u0319\u0314'],
  ['zero-width', 'zero\u200Bwidth\u200C\u200D\uFEFFjoin\u2060er\u00AD'],
  ['psql meta-commands', "\\! rm -rf / \\copy users to '/tmp/x' \\gexec"],
  ['format strings', '%s %d %1$s {0} ${x} `whoami` $(id) %n'],
  ['json-looking', '{"$gt": ""} [1, 2] null \\"}'],
  ['unicode quotes', '\u2018smart\u2019 \u201Cquotes\u201D \uFF07fullwidth\uFF07 \u02BC \u2032'],
  ['non-BMP scripts', '\u{10348}\u{1D11E}\u{20BB7}\u{1F600}'],
  ['leading and trailing spaces', '   padded on both sides   '],
];

/** PostgreSQL's char_length: code points. */
const charLength = (s: string): number => [...s].length;

/** At least `min` code points once surrounding spaces are removed, at most `max` in all. */
function fit(value: string, min: number, max: number): string {
  let text = value;
  while (charLength(text.replace(/^ +| +$/g, '')) < min) text += ' and some more words to reach the minimum length';
  return [...text].slice(0, max).join('');
}

/** A JSON payload whose keys and values are the corpus string. */
function payload(value: string): Record<string, unknown> {
  return {
    [value]: value,
    nested: { [`key ${value}`]: [value, { value }, 42, null, true] },
    "'; DROP TABLE agent_results; --": value,
    '': 'empty key',
  };
}

/** A payload whose content does not fit its type (only for values refused before any query). */
const asJson = <T>(value: unknown): T => value as T;

/**
 * The corpus in every payload, in the fields each payload's schema has for free text and in its
 * open-ended JSON object (`parameters`, `details`, `metrics`), where it is also keys.
 */
const inputOf = (value: string): AgentInputData => ({ parameters: payload(value) as JsonObject });
const outputOf = (value: string): AgentOutputData => ({
  version: 1,
  summary: value,
  findings: [{ topic: value, statement: value }],
  details: payload(value) as JsonObject,
});
const insightsOf = (value: string): AgentInsights => ({
  version: 1,
  items: [{ kind: 'threat', title: value, detail: value }],
  metrics: { [value]: value },
});
const resultsOf = (value: string): EvaluationResults => ({
  version: 1,
  overallScore: 50,
  recommendation: 'pivot',
  confidence: 0.5,
  summary: value,
  agentScores: [],
  strengths: [value],
  risks: [{ title: value, severity: 'low', mitigation: value }],
  nextSteps: [value],
  generatedAt: '2026-11-25T09:00:00.000Z',
});

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/** The stored bytes, computed in SQL, equal the bytes sent. */
async function expectStoredBytes(
  table: 'users' | 'business_ideas' | 'evaluations' | 'agent_results',
  column: string,
  id: string,
  expected: string,
) {
  const { rows } = await sql<{ chars: number; bytes: number; digest: string }>`
    select char_length(${sql.ref(column)}) as chars, octet_length(${sql.ref(column)}) as bytes, md5(${sql.ref(column)}) as digest
    from ${sql.table(table)} where id = ${id}`.execute(db());
  expect(rows[0]).toEqual({ chars: charLength(expected), bytes: Buffer.byteLength(expected, 'utf8'), digest: md5(expected) });
}

/** Expects `run` to reject with a ValidationError naming `path` (or a path inside it), having sent no query. */
async function expectRejectedBeforeQuery(run: () => Promise<unknown>, path: string) {
  const before = t.database.stats().queries;
  const error = await run().then(
    () => expect.unreachable(`expected a ValidationError for ${path}`),
    (e: unknown) => e,
  );
  expect(error, path).toBeInstanceOf(ValidationError);
  const paths = (error as ValidationError).issues.map((i) => i.path);
  expect(
    paths.some((p) => p === path || p.startsWith(`${path}.`)),
    `${path} in ${paths.join(', ')}`,
  ).toBe(true);
  expect(t.database.stats().queries, `${path}: no query`).toBe(before);
}

/** Rows each table must hold at the end (every row this file creates is counted here). */
const expected = { users: 0, business_ideas: 0, evaluations: 0, agent_results: 0 };

/** One live user, idea (submitted) for the rejection tests. */
async function fixture() {
  const user = await users.createUser(db(), {
    email: `fixture-${Date.now()}-${Math.random()}@example.com`,
    name: 'Fixture',
    passwordHash: 'scrypt$fixture$0123456789abcdef',
  });
  const idea = await ideas.createIdea(db(), user.id, { title: 'Fixture idea', description: fit('Fixture description', 50, 200) });
  await ideas.submitIdea(db(), idea.id);
  const evaluation = await evaluations.createEvaluation(db(), idea.id);
  const [run] = await agentResults.createAgentRuns(db(), evaluation.id, ['market-research']);
  expected.users++;
  expected.business_ideas++;
  expected.evaluations++;
  expected.agent_results++;
  return { user, idea, evaluation, run: run! };
}

describe('the injection corpus', () => {
  it.each(CORPUS)('users: %s is stored and returned verbatim', async (_label, value) => {
    const n = expected.users;
    const local = [...value.replace(/[\s@]/g, '')].slice(0, 40).join('');
    const email = ` ${local}.${n}@Example.COM `;
    const normalised = email.trim().toLowerCase();
    const name = fit(value, 1, 100);
    const ascii = value.replace(/[^\x21-\x7e]/g, '');
    const passwordHash = `$corpus$${ascii}$0123456789abcdef`.slice(0, 512);

    const user = await users.createUser(db(), { email, name, passwordHash });
    expected.users++;
    expect(user).toMatchObject({ email: normalised, name });
    await expectStoredBytes('users', 'name', user.id, name);
    await expectStoredBytes('users', 'email', user.id, normalised);
    await expectStoredBytes('users', 'password_hash', user.id, passwordHash);
    expect(await users.getUser(db(), user.id)).toMatchObject({ name, email: normalised });
    expect((await users.getUserByEmail(db(), email)).id).toBe(user.id);
    expect(await users.getUserCredentials(db(), email)).toEqual({ id: user.id, email: normalised, passwordHash });

    const renamed = fit(`${value} (renamed)`, 1, 100);
    expect((await users.updateUser(db(), user.id, { name: renamed })).name).toBe(renamed);
    const newEmail = `Changed.${local}.${n}@Example.org`;
    expect((await users.updateUser(db(), user.id, { email: newEmail })).email).toBe(newEmail.toLowerCase());
    expect((await users.getUserByEmail(db(), newEmail)).id).toBe(user.id);
    const page = await users.listUsers(db(), { limit: 100 });
    expect(page.items.find((u) => u.id === user.id)?.name).toBe(renamed);

    // The audit trigger's to_jsonb keeps the text verbatim too (an update records only the columns it changed).
    const history = (await listAuditEntries(db(), { tableName: 'users', rowId: user.id })).items;
    expect(history.map((e) => [e.oldRow?.name, e.newRow?.name, e.newRow?.email])).toEqual([
      [undefined, name, normalised],
      [name, renamed, undefined],
      [undefined, undefined, newEmail.toLowerCase()],
    ]);
  });

  it.each(CORPUS)('business ideas: %s as title, description and search text', async (_label, value) => {
    const user = await users.createUser(db(), {
      email: `ideas-${expected.users}@example.com`,
      name: 'Idea Owner',
      passwordHash: 'scrypt$ideas$0123456789abcdef',
    });
    expected.users++;
    const title = fit(value, 3, 200);
    const description = fit(value, 50, 5000);
    const idea = await ideas.createIdea(db(), user.id, { title, description });
    expected.business_ideas++;
    expect(idea).toMatchObject({ title, description });
    await expectStoredBytes('business_ideas', 'title', idea.id, title);
    await expectStoredBytes('business_ideas', 'description', idea.id, description);
    expect(await ideas.getIdea(db(), idea.id)).toMatchObject({ title, description });

    const newTitle = fit(`${value} v2`, 3, 200);
    const newDescription = fit(`Second draft: ${value}`, 50, 5000);
    expect(await ideas.updateIdeaContent(db(), idea.id, { title: newTitle, description: newDescription })).toMatchObject({
      title: newTitle,
      description: newDescription,
    });

    // Any search text is words, never SQL, tsquery syntax or a LIKE pattern.
    const search = [...value.trim()].slice(0, 200).join('');
    const found = await ideas.listIdeasByUser(db(), user.id, { search });
    expect(found.items.every((i) => i.id === idea.id)).toBe(true);
    for (const wildcard of ['%', '_', '%_%', '*', ':*', '!', '|']) {
      expect((await ideas.listIdeasByUser(db(), user.id, { search: wildcard })).items, wildcard).toEqual([]);
    }
    expect((await ideas.listIdeasByUser(db(), user.id)).items.map((i) => i.title)).toEqual([newTitle]);
    const history = (await listAuditEntries(db(), { tableName: 'business_ideas', rowId: idea.id })).items;
    expect(history.map((e) => e.newRow?.title)).toEqual([title, newTitle]);
  });

  it.each(CORPUS)('evaluations and agent results: %s as worker id, error message and JSON keys and values', async (_label, value) => {
    const user = await users.createUser(db(), {
      email: `runs-${expected.users}@example.com`,
      name: 'Run Owner',
      passwordHash: 'scrypt$runs$0123456789abcdef',
    });
    const idea = await ideas.createIdea(db(), user.id, { title: 'Evaluated idea', description: fit('An idea to evaluate', 50, 100) });
    await ideas.submitIdea(db(), idea.id);
    const evaluation = await evaluations.createEvaluation(db(), idea.id, { priority: 'high' });
    expected.users++;
    expected.business_ideas++;
    expected.evaluations++;

    const workerId = fit(value, 1, 200);
    const claimed = await evaluations.claimNext(db(), workerId, { leaseSeconds: 60 });
    expect(claimed).toMatchObject({ id: evaluation.id, claimedBy: workerId });
    await expectStoredBytes('evaluations', 'claimed_by', evaluation.id, workerId);
    expect((await evaluations.renewLease(db(), evaluation.id, { workerId, attempt: claimed!.attempt, leaseSeconds: 120 })).claimedBy).toBe(
      workerId,
    );

    const [input, output, insights] = [inputOf(value), outputOf(value), insightsOf(value)];
    const runs = await agentResults.createAgentRuns(db(), evaluation.id, [
      { agentType: 'market-research', inputData: input },
      'customer-research',
    ]);
    expected.agent_results += 2;
    const [research, customers] = runs as [agentResults.AgentResult, agentResults.AgentResult];
    expect(research.inputData).toEqual(input);
    await agentResults.startAgentRun(db(), research.id);
    const completed = await agentResults.completeAgentRun(db(), research.id, {
      outputData: output,
      insights,
      score: 55.5,
    });
    expect(completed).toMatchObject({ outputData: output, insights, score: 55.5 });
    expect((await agentResults.getAgentResult(db(), research.id)).outputData).toEqual(output);

    const errorMessage = fit(`agent crashed: ${value}`, 1, 10_000);
    await agentResults.startAgentRun(db(), customers.id);
    expect((await agentResults.failAgentRun(db(), customers.id, { errorMessage })).errorMessage).toBe(errorMessage);
    await expectStoredBytes('agent_results', 'error_message', customers.id, errorMessage);

    // JSONB containment and jsonpath lookups with the corpus as keys and values find exactly this run.
    const key = [...value].slice(0, 200).join('');
    const byInsights = await agentResults.findAgentResultsByInsights(db(), { contains: { metrics: { [value]: value } } });
    expect(byInsights.items.map((r) => r.id)).toEqual([research.id]);
    const byOutput = await agentResults.findAgentResultsByOutput(db(), {
      path: ['details', key],
      equals: [...value].slice(0, 1000).join(''),
    });
    expect(byOutput.items.map((r) => r.id)).toEqual([research.id]);
    const nested = await agentResults.findAgentResultsByOutput(db(), {
      path: ['details', 'nested', `key ${value}`, 'value'],
      equals: value,
    });
    expect(nested.items.map((r) => r.id)).toEqual([research.id]);

    // Half the runs complete with the corpus in their results, half fail with it as the message.
    if (CORPUS.findIndex(([, v]) => v === value) % 2 === 0) {
      const results = resultsOf(value);
      const done = await evaluations.completeEvaluation(db(), evaluation.id, { workerId, attempt: claimed!.attempt, results });
      expect(done.results).toEqual(results);
    } else {
      const failed = await evaluations.failEvaluation(db(), evaluation.id, { workerId, attempt: claimed!.attempt, errorMessage });
      expect(failed.errorMessage).toBe(errorMessage);
      await expectStoredBytes('evaluations', 'error_message', evaluation.id, errorMessage);
    }
    expect((await evaluations.getEvaluation(db(), evaluation.id)).agentResults.map((r) => r.id).sort()).toEqual(
      [research.id, customers.id].sort(),
    );
  });

  it('very long text at the maximum (astral characters count once) is kept whole; one more is refused', async () => {
    const user = await users.createUser(db(), {
      email: 'long@example.com',
      name: '\u{1F680}'.repeat(100),
      passwordHash: `$long$${'x'.repeat(500)}`,
    });
    expected.users++;
    expect(user.name).toBe('\u{1F680}'.repeat(100));
    await expectStoredBytes('users', 'name', user.id, '\u{1F680}'.repeat(100));
    const title = 'e\u0301'.repeat(100); // 200 code points
    const description = '\u{1F469}\u200D\u{1F4BB} '.repeat(1250); // 5000 code points (4 each)
    const idea = await ideas.createIdea(db(), user.id, { title, description });
    expected.business_ideas++;
    expect(idea).toMatchObject({ title, description });
    await expectStoredBytes('business_ideas', 'description', idea.id, description);

    await expectRejectedBeforeQuery(
      () => users.createUser(db(), { email: 'long2@example.com', name: '\u{1F680}'.repeat(101), passwordHash: 'scrypt$0123456789abcdef' }),
      'name',
    );
    await expectRejectedBeforeQuery(() => ideas.createIdea(db(), user.id, { title: `${title}x`, description }), 'title');
    await expectRejectedBeforeQuery(() => ideas.createIdea(db(), user.id, { title, description: `${description}x` }), 'description');
    await expectRejectedBeforeQuery(() => ideas.listIdeasByUser(db(), user.id, { search: '\u{1F680}'.repeat(201) }), 'search');
    await expectRejectedBeforeQuery(() => evaluations.claimNext(db(), 'w'.repeat(201)), 'workerId');
    await expectRejectedBeforeQuery(
      () => users.createUser(db(), { email: 'long3@example.com', name: 'Long Hash', passwordHash: `$${'x'.repeat(512)}` }),
      'passwordHash',
    );
  });

  it('NUL (\\u0000) in any string input is a ValidationError before any query, never a truncation', async () => {
    const { user, idea, evaluation, run } = await fixture();
    const nul = 'before\u0000after';
    const cases: [string, () => Promise<unknown>][] = [
      ['name', () => users.createUser(db(), { email: 'nul@example.com', name: nul, passwordHash: 'scrypt$0123456789abcdef' })],
      ['email', () => users.createUser(db(), { email: `nul\u0000@example.com`, name: 'Nul', passwordHash: 'scrypt$0123456789abcdef' })],
      ['passwordHash', () => users.createUser(db(), { email: 'nul@example.com', name: 'Nul', passwordHash: `scrypt$${nul}0123456789` })],
      ['name', () => users.updateUser(db(), user.id, { name: nul })],
      ['email', () => users.updateUser(db(), user.id, { email: `a\u0000b@example.com` })],
      ['email', () => users.getUserByEmail(db(), `a\u0000b@example.com`)],
      ['email', () => users.getUserCredentials(db(), `a\u0000b@example.com`)],
      ['id', () => users.getUser(db(), `${user.id}\u0000`)],
      ['title', () => ideas.createIdea(db(), user.id, { title: nul, description: fit('ok', 50, 60) })],
      ['description', () => ideas.createIdea(db(), user.id, { title: 'Fine title', description: fit(nul, 50, 60) })],
      ['title', () => ideas.updateIdeaContent(db(), idea.id, { title: nul })],
      ['description', () => ideas.updateIdeaContent(db(), idea.id, { description: fit(nul, 50, 60) })],
      ['search', () => ideas.listIdeasByUser(db(), user.id, { search: nul })],
      ['workerId', () => evaluations.claimNext(db(), nul)],
      ['workerId', () => evaluations.renewLease(db(), evaluation.id, { workerId: nul, attempt: 1 })],
      ['workerId', () => evaluations.releaseLease(db(), evaluation.id, { workerId: nul, attempt: 1 })],
      ['errorMessage', () => evaluations.failEvaluation(db(), evaluation.id, { errorMessage: nul })],
      ['results', () => evaluations.completeEvaluation(db(), evaluation.id, { results: asJson<EvaluationResults>({ note: nul }) })],
      ['results', () => evaluations.completeEvaluation(db(), evaluation.id, { results: asJson<EvaluationResults>({ [nul]: 1 }) })],
      ['errorMessage', () => agentResults.failAgentRun(db(), run.id, { errorMessage: nul })],
      ['outputData', () => agentResults.completeAgentRun(db(), run.id, { outputData: asJson<AgentOutputData>({ summary: nul }) })],
      [
        'insights',
        () =>
          agentResults.completeAgentRun(db(), run.id, {
            outputData: asJson<AgentOutputData>({}),
            insights: asJson<AgentInsights>({ [nul]: 'x' }),
          }),
      ],
      [
        'runs.0.inputData',
        () =>
          agentResults.createAgentRuns(db(), evaluation.id, [
            { agentType: 'nul-agent', inputData: asJson<AgentInputData>({ prompt: nul }) },
          ]),
      ],
      ['contains', () => agentResults.findAgentResultsByInsights(db(), { contains: { key: nul } })],
      ['path.0', () => agentResults.findAgentResultsByOutput(db(), { path: [nul], equals: 1 })],
      ['equals', () => agentResults.findAgentResultsByOutput(db(), { path: ['summary'], equals: nul })],
    ];
    for (const [path, run] of cases) await expectRejectedBeforeQuery(run, path);
    // Nothing was changed by any of them.
    expect(await users.getUser(db(), user.id)).toMatchObject({ name: user.name });
    expect(await ideas.getIdea(db(), idea.id)).toMatchObject({ title: idea.title, description: idea.description });
  });

  it('a lone surrogate (not Unicode, cannot be stored as sent) is a ValidationError, never silently replaced', async () => {
    const { user, idea, evaluation, run } = await fixture();
    for (const lone of ['lone \uD800 high', 'lone \uDC00 low', 'reversed \uDC00\uD800 pair']) {
      const cases: [string, () => Promise<unknown>][] = [
        ['name', () => users.createUser(db(), { email: 'lone@example.com', name: lone, passwordHash: 'scrypt$0123456789abcdef' })],
        [
          'email',
          () =>
            users.createUser(db(), {
              email: `x${lone.replace(/ /g, '')}@example.com`,
              name: 'Lone',
              passwordHash: 'scrypt$0123456789abcdef',
            }),
        ],
        ['name', () => users.updateUser(db(), user.id, { name: lone })],
        ['title', () => ideas.updateIdeaContent(db(), idea.id, { title: lone })],
        ['description', () => ideas.createIdea(db(), user.id, { title: 'Fine title', description: fit(lone, 50, 60) })],
        ['errorMessage', () => evaluations.failEvaluation(db(), evaluation.id, { errorMessage: lone })],
        ['workerId', () => evaluations.claimNext(db(), lone)],
        ['results', () => evaluations.completeEvaluation(db(), evaluation.id, { results: asJson<EvaluationResults>({ note: lone }) })],
        ['outputData', () => agentResults.completeAgentRun(db(), run.id, { outputData: asJson<AgentOutputData>({ [lone]: 1 }) })],
        ['errorMessage', () => agentResults.failAgentRun(db(), run.id, { errorMessage: lone })],
      ];
      for (const [path, call] of cases) await expectRejectedBeforeQuery(call, path);
    }
  });

  it('ids, cursors, statuses, priorities and agent types that are not what they claim are ValidationErrors', async () => {
    const { user, idea, evaluation, run } = await fixture();
    const hostile = ["'; DROP TABLE users; --", `${user.id}' OR '1'='1`, '%', '', ' ', '$$ $$', '\\x00', `${user.id};`];
    // Every function that takes an id, with the path its error names.
    const byId: [string, (bad: string) => Promise<unknown>][] = [
      ['id', (bad) => users.getUser(db(), bad)],
      ['id', (bad) => users.updateUser(db(), bad, { name: 'Fine Name' })],
      ['id', (bad) => users.softDeleteUser(db(), bad)],
      ['id', (bad) => users.restoreUser(db(), bad)],
      ['id', (bad) => users.hardDeleteUser(db(), bad)],
      ['id', (bad) => ideas.getIdea(db(), bad)],
      ['id', (bad) => ideas.updateIdeaContent(db(), bad, { title: 'Fine title' })],
      ['id', (bad) => ideas.submitIdea(db(), bad)],
      ['id', (bad) => ideas.startIdeaEvaluation(db(), bad)],
      ['id', (bad) => ideas.completeIdea(db(), bad)],
      ['id', (bad) => ideas.archiveIdea(db(), bad)],
      ['id', (bad) => ideas.softDeleteIdea(db(), bad)],
      ['userId', (bad) => ideas.ideaStatsForUser(db(), bad)],
      ['businessIdeaId', (bad) => evaluations.createEvaluation(db(), bad)],
      ['businessIdeaId', (bad) => evaluations.listEvaluationsByIdea(db(), bad)],
      ['id', (bad) => evaluations.getEvaluation(db(), bad)],
      ['id', (bad) => evaluations.renewLease(db(), bad, { workerId: 'worker-1', attempt: 1 })],
      ['id', (bad) => evaluations.releaseLease(db(), bad, { workerId: 'worker-1', attempt: 1 })],
      ['id', (bad) => evaluations.completeEvaluation(db(), bad, { results: asJson<EvaluationResults>({}) })],
      ['id', (bad) => evaluations.failEvaluation(db(), bad, { errorMessage: 'failed' })],
      ['id', (bad) => evaluations.retryEvaluation(db(), bad)],
      ['evaluationId', (bad) => agentResults.createAgentRuns(db(), bad, ['market-research'])],
      ['evaluationId', (bad) => agentResults.listAgentResults(db(), bad)],
      ['evaluationId', (bad) => agentResults.scoreSummary(db(), bad)],
      ['evaluationId', (bad) => agentResults.findAgentResultsByOutput(db(), { path: ['a'], equals: 1, evaluationId: bad })],
      ['id', (bad) => agentResults.getAgentResult(db(), bad)],
      ['id', (bad) => agentResults.startAgentRun(db(), bad)],
      ['id', (bad) => agentResults.completeAgentRun(db(), bad, { outputData: asJson<AgentOutputData>({}) })],
      ['id', (bad) => agentResults.failAgentRun(db(), bad, { errorMessage: 'failed' })],
      ['rowId', (bad) => listAuditEntries(db(), { tableName: 'users', rowId: bad })],
      ['tableName', (bad) => listAuditEntries(db(), { tableName: bad as 'users', rowId: user.id })],
    ];
    for (const bad of hostile) {
      for (const [path, call] of byId) await expectRejectedBeforeQuery(() => call(bad), path);
      await expectRejectedBeforeQuery(() => ideas.createIdea(db(), bad, { title: 'Fine title', description: fit('x', 50, 60) }), 'userId');
      await expectRejectedBeforeQuery(() => ideas.listIdeasByUser(db(), bad), 'userId');
      await expectRejectedBeforeQuery(() => ideas.listIdeasByUser(db(), user.id, { cursor: bad }), 'cursor');
      await expectRejectedBeforeQuery(() => ideas.listIdeasByUser(db(), user.id, { createdFrom: bad }), 'createdFrom');
      await expectRejectedBeforeQuery(() => ideas.listIdeasByUser(db(), user.id, { createdTo: bad }), 'createdTo');
      await expectRejectedBeforeQuery(() => evaluations.listEvaluationsByStatus(db(), 'pending', { cursor: bad }), 'cursor');
      await expectRejectedBeforeQuery(() => agentResults.findAgentResultsByInsights(db(), { contains: { a: 1 }, cursor: bad }), 'cursor');
      await expectRejectedBeforeQuery(() => ideas.listIdeasByUser(db(), user.id, { status: bad as 'draft' }), 'status');
      await expectRejectedBeforeQuery(() => users.listUsers(db(), { cursor: bad }), 'cursor');
      await expectRejectedBeforeQuery(() => ideas.setIdeaStatus(db(), idea.id, bad as 'draft'), 'to');
      await expectRejectedBeforeQuery(() => evaluations.createEvaluation(db(), idea.id, { priority: bad as 'high' }), 'priority');
      await expectRejectedBeforeQuery(() => evaluations.listEvaluationsByStatus(db(), bad as 'pending'), 'status');
      await expectRejectedBeforeQuery(() => evaluations.listEvaluationsByIdea(db(), idea.id, { cursor: bad }), 'cursor');
      await expectRejectedBeforeQuery(() => agentResults.createAgentRuns(db(), evaluation.id, [bad]), 'runs.0');
      await expectRejectedBeforeQuery(
        () => agentResults.findAgentResultsByInsights(db(), { contains: { a: 1 }, agentType: bad }),
        'agentType',
      );
    }
    // A well-formed cursor carrying SQL in its fields is still not a cursor.
    const forged = encodeCursor({ createdAt: "2026-01-01T00:00:00.000000Z'; DROP TABLE users; --", id: run.id });
    await expectRejectedBeforeQuery(() => users.listUsers(db(), { cursor: forged }), 'cursor');
    for (const agentType of ['Market-Research', 'market_research', "x'; --", 'market research', '-x', 'x-', 'a'.repeat(65), '\u{1F680}']) {
      await expectRejectedBeforeQuery(() => agentResults.createAgentRuns(db(), evaluation.id, [agentType]), 'runs.0');
    }
  });

  it('LIKE wildcards are literal in email lookups', async () => {
    const user = await users.createUser(db(), { email: 'abc.like@example.com', name: 'Like', passwordHash: 'scrypt$0123456789abcdef' });
    expected.users++;
    for (const pattern of ['a_c.like@example.com', 'a%.like@example.com', '%@example.com', '_bc.like@example.com']) {
      await expect(users.getUserByEmail(db(), pattern), pattern).rejects.toMatchObject({ name: 'NotFoundError' });
    }
    expect((await users.getUserByEmail(db(), 'ABC.like@example.com')).id).toBe(user.id);
  });

  it('afterwards every table exists and holds exactly the rows this file created', async () => {
    const { rows } = await sql<{ name: string; exists: boolean }>`
      select t.name, to_regclass('public.' || t.name) is not null as exists
      from unnest(array['users', 'business_ideas', 'evaluations', 'agent_results', 'audit_log', 'schema_migrations']) as t(name)`.execute(
      db(),
    );
    expect(rows.every((r) => r.exists)).toBe(true);
    const counts = await sql<{ users: number; businessIdeas: number; evaluations: number; agentResults: number }>`
      select (select count(*) from users) as users, (select count(*) from business_ideas) as business_ideas,
             (select count(*) from evaluations) as evaluations, (select count(*) from agent_results) as agent_results`.execute(db());
    expect(counts.rows[0]).toEqual({
      users: expected.users,
      businessIdeas: expected.business_ideas,
      evaluations: expected.evaluations,
      agentResults: expected.agent_results,
    });
    expect(expected.users).toBeGreaterThan(3 * CORPUS.length);
    // Every change was audited: one insert entry per row that exists.
    const audited = await sql<{
      n: number;
    }>`select count(distinct (table_name, row_id)) as n from audit_log where operation = 'insert'`.execute(db());
    expect(audited.rows[0]?.n).toBe(expected.users + expected.business_ideas + expected.evaluations + expected.agent_results);
  });
});
