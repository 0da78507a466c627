/**
 * OpenTelemetry, through `@opentelemetry/api` when the application has it installed (an optional
 * peer dependency): it is looked up once, and without it every hook here is a no-op that costs
 * nothing (`traced` returns the function itself). With it, spans and metrics go to whatever SDK
 * the application registered, following the OpenTelemetry database semantic conventions.
 *
 * This module holds the API lookup, the repository-call spans and the calling identity the spans
 * carry; the client spans and metrics of queries and the pool are in db/instruments.ts.
 */
import { createRequire } from 'node:module';
import type * as OpenTelemetry from '@opentelemetry/api';

/** The instrumentation scope of every span and instrument. */
export const INSTRUMENTATION_NAME = '@ai-validation/data-layer';

function load(): typeof OpenTelemetry | undefined {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as typeof OpenTelemetry;
  } catch {
    return undefined;
  }
}

/** The OpenTelemetry API, or undefined when the application does not have it installed. */
export const otel = load();

/**
 * Whether spans would go nowhere: the API is installed but no SDK registered a tracer provider
 * (its global proxy has no delegate), so a span would be neither recorded nor propagated. Checked
 * per call, as an SDK may be registered at any time; building a span's attributes and context
 * for nothing cost about a tenth of a point read's client CPU.
 */
export function tracingOff(api: typeof OpenTelemetry): boolean {
  const provider = api.trace.getTracerProvider();
  return provider instanceof api.ProxyTracerProvider && provider.getDelegateTracer(INSTRUMENTATION_NAME) === undefined;
}

/** Who a handle or transaction acts for: its calling path, and the user of a `withUser` transaction. */
export interface CallingIdentity {
  path: 'user' | 'worker' | 'owner' | 'anonymous';
  userId?: string;
}

const identities = new WeakMap<object, CallingIdentity>();

/** Records who `handle` (an executor or transaction) acts for, for the spans of calls made on it. */
export function identify(handle: object, identity: CallingIdentity | undefined): void {
  if (otel && identity) identities.set(handle, identity);
}

/** Who `handle` acts for, when it was identified. */
export function identityOf(handle: object): CallingIdentity | undefined {
  return identities.get(handle);
}

type Attributes = Record<string, string | number | boolean>;

/**
 * `fn` (a repository function, taking its executor first) wrapped in an INTERNAL span named
 * `name`, carrying the calling path, the user (`enduser.id`) where the executor acts for one, and
 * `attributes(...args)`. A failure is recorded on the span and rethrown unchanged.
 *
 * @example
 * ```ts
 * export const getIdea = traced('businessIdeas.getIdea', async (db: Executor, id: string) => { ... });
 * ```
 */
export function traced<A extends [object, ...unknown[]], R>(
  name: string,
  fn: (...args: A) => Promise<R>,
  attributes?: (...args: NoInfer<A>) => Attributes,
): (...args: A) => Promise<R> {
  const api = otel;
  if (!api) return fn;
  const tracer = api.trace.getTracer(INSTRUMENTATION_NAME);
  return (...args: A) => {
    if (tracingOff(api)) return fn(...args);
    const identity = identities.get(args[0]);
    const span: Attributes = { 'code.function.name': name };
    if (identity) span['ai_validation.calling_path'] = identity.path;
    if (identity?.userId) span['enduser.id'] = identity.userId;
    return tracer.startActiveSpan(
      name,
      { kind: api.SpanKind.INTERNAL, attributes: { ...span, ...attributes?.(...args) } },
      async (active) => {
        try {
          return await fn(...args);
        } catch (error) {
          failed(active, error);
          throw error;
        } finally {
          active.end();
        }
      },
    );
  };
}

/** Marks `span` as failed by `error`: its class (`error.type`), the exception event, status ERROR. */
export function failed(span: OpenTelemetry.Span, error: unknown): void {
  const type = error instanceof Error ? error.name : typeof error;
  span.setAttribute('error.type', type);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: otel!.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
