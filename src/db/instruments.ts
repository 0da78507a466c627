/**
 * OpenTelemetry client spans and metrics for queries and the pool, after the database semantic
 * conventions: a CLIENT span per query named by its summary (`SELECT business_ideas`), the
 * `db.client.operation.duration` histogram, and the `db.client.connection.*` pool metrics. Only
 * when the application has `@opentelemetry/api` (see src/telemetry.ts); otherwise every hook is
 * undefined and nothing is recorded.
 */
import type { LogEvent, RootOperationNode } from 'kysely';
import type * as OpenTelemetry from '@opentelemetry/api';
import type pg from 'pg';
import type { PoolSettings } from '../config.js';
import type { ConnectionSettings } from '../connection.js';
import { failed, INSTRUMENTATION_NAME, otel, tracingOff } from '../telemetry.js';

/** Seconds: the semantic conventions' buckets for database operations. */
const DURATION_BUCKETS_S = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** The operation and the table a query works on, read from Kysely's operation tree (or its SQL). */
function summaryOf(node: RootOperationNode, sqlText: string): { operation: string; collection?: string } {
  const table = (n: unknown): string | undefined => {
    const value = n as { kind?: string; node?: unknown; table?: { identifier?: { name?: string } } } | undefined;
    if (value?.kind === 'AliasNode') return table(value.node);
    return value?.kind === 'TableNode' ? value.table?.identifier?.name : undefined;
  };
  switch (node.kind) {
    case 'SelectQueryNode':
      return { operation: 'SELECT', collection: table(node.from?.froms[0]) };
    case 'InsertQueryNode':
      return { operation: 'INSERT', collection: table(node.into) };
    case 'UpdateQueryNode':
      return { operation: 'UPDATE', collection: table(node.table) };
    case 'DeleteQueryNode':
      return { operation: 'DELETE', collection: table(node.from.froms[0]) };
    default:
      return { operation: (/^\s*(\w+)/.exec(sqlText)?.[1] ?? 'QUERY').toUpperCase() };
  }
}

/** Records each query Kysely logs: a CLIENT span (back-dated to its start) and its duration. */
export function queryInstruments(connection: ConnectionSettings): ((event: LogEvent) => void) | undefined {
  const api = otel;
  if (!api) return undefined;
  const tracer = api.trace.getTracer(INSTRUMENTATION_NAME);
  const duration = api.metrics.getMeter(INSTRUMENTATION_NAME).createHistogram('db.client.operation.duration', {
    unit: 's',
    description: 'Duration of database client operations.',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  });
  const common = {
    'db.system.name': 'postgresql',
    'db.namespace': connection.database,
    'server.address': connection.host,
    'server.port': connection.port,
  };
  // A compiled query's node is the same object on every run (repositories/compiled.ts): its
  // summary and attributes are worked out once.
  const described = new WeakMap<object, { summary: string; attributes: Record<string, string | number> }>();
  const describe = (node: RootOperationNode, text: string) => {
    let description = described.get(node);
    if (!description) {
      const { operation, collection } = summaryOf(node, text);
      const summary = collection ? `${operation} ${collection}` : operation;
      const attributes = {
        ...common,
        'db.operation.name': operation,
        'db.query.summary': summary,
        ...(collection ? { 'db.collection.name': collection } : {}),
      };
      description = { summary, attributes };
      described.set(node, description);
    }
    return description;
  };
  return (event) => {
    const { summary, attributes: shared } = describe(event.query.query, event.query.sql);
    const error = event.level === 'error' ? event.error : undefined;
    let attributes = shared;
    if (error !== undefined) {
      const sqlState = (error as { sqlState?: unknown }).sqlState;
      attributes = { ...shared, 'error.type': error instanceof Error ? error.name : 'Error' };
      if (typeof sqlState === 'string') attributes['db.response.status_code'] = sqlState;
    }
    if (tracingOff(api)) {
      duration.record(event.queryDurationMillis / 1000, attributes);
      return;
    }
    const end = Date.now();
    const span = tracer.startSpan(summary, {
      kind: api.SpanKind.CLIENT,
      startTime: end - event.queryDurationMillis,
      attributes: { ...attributes, 'db.query.text': event.query.sql },
    });
    if (error !== undefined) failed(span, error);
    span.end(end);
    duration.record(event.queryDurationMillis / 1000, attributes);
  };
}

/** What the checkout reports about connections: how long each waited and was held, and timeouts. */
export interface PoolInstruments {
  waited(seconds: number): void;
  used(seconds: number): void;
  timedOut(): void;
  /** Stops observing the pool (on close). */
  stop(): void;
}

/** The `db.client.connection.*` metrics of `pool`, named `host:port/database`. */
export function poolInstruments(pool: pg.Pool, settings: PoolSettings, connection: ConnectionSettings): PoolInstruments | undefined {
  const api = otel;
  if (!api) return undefined;
  const meter = api.metrics.getMeter(INSTRUMENTATION_NAME);
  const name = { 'db.client.connection.pool.name': `${connection.host}:${connection.port}/${connection.database}` };
  const count = meter.createObservableUpDownCounter('db.client.connection.count', {
    unit: '{connection}',
    description: 'The number of connections that are currently in the state described by the state attribute.',
  });
  const max = meter.createObservableUpDownCounter('db.client.connection.max', {
    unit: '{connection}',
    description: 'The maximum number of open connections allowed.',
  });
  const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
    unit: '{request}',
    description: 'The number of current pending requests for an open connection.',
  });
  const observe: OpenTelemetry.BatchObservableCallback = (result) => {
    result.observe(count, pool.idleCount, { ...name, 'db.client.connection.state': 'idle' });
    result.observe(count, pool.totalCount - pool.idleCount, { ...name, 'db.client.connection.state': 'used' });
    result.observe(max, settings.max, name);
    result.observe(pending, pool.waitingCount, name);
  };
  meter.addBatchObservableCallback(observe, [count, max, pending]);
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS_S } };
  const waitTime = meter.createHistogram('db.client.connection.wait_time', {
    ...seconds,
    description: 'The time it took to obtain an open connection from the pool.',
  });
  const useTime = meter.createHistogram('db.client.connection.use_time', {
    ...seconds,
    description: 'The time between borrowing a connection and returning it to the pool.',
  });
  const timeouts = meter.createCounter('db.client.connection.timeouts', {
    unit: '{timeout}',
    description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
  });
  return {
    waited: (s) => waitTime.record(s, name),
    used: (s) => useTime.record(s, name),
    timedOut: () => timeouts.add(1, name),
    stop: () => meter.removeBatchObservableCallback(observe, [count, max, pending]),
  };
}
