/**
 * `createHealthHandler()`: `database.health()` as a `node:http` request handler, for load
 * balancer and orchestrator probes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthOptions, HealthReport } from './health.js';

/** Options for `createHealthHandler()`: the health check's, per request. */
export type HealthHandlerOptions = HealthOptions;

/**
 * A request handler that answers GET and HEAD with `database.health()` as JSON: 200 when ready
 * (answering, migrations in step), 503 otherwise (down, or pending/changed/missing migrations),
 * `Cache-Control: no-store`. Other methods get 405. It does not route: mount it on your path.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createDatabase, createHealthHandler } from '@ai-validation/data-layer';
 *
 * const database = createDatabase();
 * const health = createHealthHandler(database, { timeoutMs: 1000 });
 * createServer((req, res) => (req.url === '/healthz' ? health(req, res) : app(req, res))).listen(8080);
 * ```
 */
export function createHealthHandler(
  database: { health(options?: HealthOptions): Promise<HealthReport> },
  options: HealthHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Cache-Control': 'no-store' }).end();
      return;
    }
    database.health(options).then(
      (report) => send(req, res, report.ready ? 200 : 503, report),
      // health() does not throw by contract; if it ever did, say "down" without the error text.
      () => send(req, res, 503, { status: 'down', ready: false, error: 'the health check failed' }),
    );
  };
}

function send(req: IncomingMessage, res: ServerResponse, statusCode: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body);
  res.writeHead(statusCode, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : json);
}
