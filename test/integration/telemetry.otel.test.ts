/**
 * OpenTelemetry (src/telemetry.ts, src/db/instruments.ts), with the SDK's in-memory exporters: a
 * span per repository call, named after the function and carrying the calling path, the user or
 * the worker; around it CLIENT spans named and attributed after the database semantic conventions;
 * the db.client.operation.duration histogram and the db.client.connection.* pool metrics. Without
 * @opentelemetry/api installed, nothing is wrapped at all.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { context, metrics, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import * as users from '../../src/repositories/users.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { fakePasswordHash, ideaDescription, uniqueEmail } from '../support/factories.js';

const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
let testDb: TestDatabase;
let database: Database;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  testDb = await createTestDatabase();
  database = createDatabase({ connectionString: testDb.url, env: {}, pool: { max: 2 } });
});

afterAll(async () => {
  await database?.close();
  await testDb?.drop();
  await reader.shutdown();
});

const finished = (name: string) => spans.getFinishedSpans().filter((span) => span.name === name);

describe('spans', () => {
  it('wrap each repository call around the CLIENT spans of its queries, with the user who made it', async () => {
    spans.reset();
    const user = await users.createUser(database.anonymous, {
      email: uniqueEmail(),
      name: 'Traced User',
      passwordHash: fakePasswordHash(),
    });
    const idea = await database.withUser(user.id, (trx) =>
      businessIdeas.createIdea(trx, user.id, { title: 'Traced idea', description: ideaDescription() }),
    );

    const [signup] = finished('users.createUser');
    expect(signup?.kind).toBe(SpanKind.INTERNAL);
    expect(signup?.attributes).toMatchObject({ 'code.function.name': 'users.createUser', 'ai_validation.calling_path': 'anonymous' });

    const [create] = finished('businessIdeas.createIdea');
    expect(create?.attributes).toMatchObject({ 'ai_validation.calling_path': 'user', 'enduser.id': user.id });
    const [insert] = finished('INSERT business_ideas');
    expect(insert?.kind).toBe(SpanKind.CLIENT);
    expect(insert?.parentSpanContext?.spanId).toBe(create?.spanContext().spanId);
    expect(insert?.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.namespace': testDb.name,
      'db.operation.name': 'INSERT',
      'db.collection.name': 'business_ideas',
      'db.query.summary': 'INSERT business_ideas',
      'server.port': testDb.connection.port,
    });
    expect(insert?.attributes['db.query.text']).toContain('insert into "business_ideas"');
    expect(JSON.stringify(insert?.attributes)).not.toContain('Traced idea'); // parameters are never recorded
    expect(idea.title).toBe('Traced idea');
  });

  it('carry the worker of a queue call, and mark a failed call with its error class', async () => {
    spans.reset();
    await evaluations.claimNext(database.worker, 'worker-otel-1');
    expect(finished('evaluations.claimNext')[0]?.attributes).toMatchObject({
      'ai_validation.calling_path': 'worker',
      'ai_validation.worker.id': 'worker-otel-1',
    });
    await expect(businessIdeas.getIdea(database.owner, '00000000-0000-4000-8000-000000000000')).rejects.toThrow();
    const [missing] = finished('businessIdeas.getIdea');
    expect(missing?.status.code).toBe(SpanStatusCode.ERROR);
    expect(missing?.attributes['error.type']).toBe('NotFoundError');
  });

  it('record a failed query on its CLIENT span with the SQLSTATE', async () => {
    spans.reset();
    const user = await users.createUser(database.owner, { email: uniqueEmail(), name: 'Twice', passwordHash: fakePasswordHash() });
    await expect(
      users.createUser(database.owner, { email: user.email, name: 'Twice', passwordHash: fakePasswordHash() }),
    ).rejects.toThrow();
    const inserts = finished('INSERT users');
    expect(inserts.at(-1)?.status.code).toBe(SpanStatusCode.ERROR);
    expect(inserts.at(-1)?.attributes).toMatchObject({ 'error.type': 'ConflictError' });
  });
});

describe('metrics', () => {
  it('record db.client.operation.duration per collection and observe the pool', async () => {
    await businessIdeas.listIdeasByUser(database.owner, '00000000-0000-4000-8000-000000000000');
    await reader.forceFlush();
    const exported = metricExporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
    const named = (name: string) =>
      exported
        .filter((metric) => metric.descriptor.name === name)
        .flatMap((metric) => metric.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]);
    const durations = named('db.client.operation.duration');
    expect(durations.some((point) => point.attributes['db.collection.name'] === 'business_ideas')).toBe(true);
    expect(exported.find((metric) => metric.descriptor.name === 'db.client.operation.duration')?.descriptor.unit).toBe('s');
    const states = named('db.client.connection.count').map((point) => point.attributes['db.client.connection.state']);
    expect(states.sort()).toEqual(['idle', 'used']);
    expect(named('db.client.connection.max')[0]?.value).toBe(2);
    expect(named('db.client.connection.wait_time').length).toBeGreaterThan(0);
    expect(named('db.client.connection.use_time').length).toBeGreaterThan(0);
  });
});

describe('without @opentelemetry/api', () => {
  it('wraps nothing: traced() returns the function itself', async () => {
    const root = resolve(import.meta.dirname, '../..');
    const dir = mkdtempSync(join(tmpdir(), 'dl-otel-'));
    const hook = join(dir, 'no-otel.cjs');
    // As if the package were not installed: resolving it fails the way a missing module does.
    writeFileSync(
      hook,
      [
        "const Module = require('node:module');",
        'const resolveFilename = Module._resolveFilename;',
        'Module._resolveFilename = function (request, ...rest) {',
        "  if (request === '@opentelemetry/api') throw Object.assign(new Error('not installed'), { code: 'MODULE_NOT_FOUND' });",
        '  return resolveFilename.call(this, request, ...rest);',
        '};',
      ].join('\n'),
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--require',
        hook,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "const t = await import('./src/telemetry.ts'); const fn = async () => 1; console.log(JSON.stringify({ api: t.otel === undefined ? 'absent' : 'present', same: t.traced('x', fn) === fn }));",
      ],
      { cwd: root },
    ).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(JSON.parse(stdout)).toEqual({ api: 'absent', same: true });
  });
});
