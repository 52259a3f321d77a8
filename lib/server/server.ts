// The Node adapter: mounts every function on one Hono app with @hono/node-server, adds
// GET /metrics, answers requests Node refuses before Hono sees them (heads over 16 KiB,
// malformed HTTP) in the error envelope, and shuts down gracefully (stop accepting,
// finish in-flight requests, wake long-polls, close the pool).
import type { Duplex } from 'node:stream';
import { type ServerType, serve } from '@hono/node-server';
import { ALL_FUNCTIONS } from '../../functions/index.ts';
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/port.ts';
import { createApp } from '../http/app.ts';
import { defineFunction } from '../http/define.ts';
import type { Logger } from '../telemetry/port.ts';
import { createPromMetrics, type PromMetrics } from '../telemetry/prom.ts';
import { nodeDeps } from './deps.ts';

export interface ApiServer {
  port: number;
  metrics: PromMetrics;
  fetch: (req: Request) => Response | Promise<Response>;
  close(): Promise<void>;
}

export function buildApi(config: Config, db: Db, log: Logger) {
  const metrics = createPromMetrics({ db, process: 'api' });
  const deps = nodeDeps(config, db, log, metrics);
  // Open like the probes: Prometheus scrapes without the service token. Mounted through
  // the same route table as every function, so POST /metrics is a 405 like any other.
  const metricsRoute = defineFunction({
    name: 'metrics',
    method: 'GET',
    path: '/metrics',
    auth: false,
    summary: 'Prometheus metrics',
    responses: {},
    async handler() {
      const { contentType, body } = await metrics.render();
      return new Response(body, { headers: { 'content-type': contentType } });
    },
  });
  const app = createApp([...ALL_FUNCTIONS, metricsRoute], deps);
  return { app, deps, metrics };
}

/**
 * Node's HTTP parser refuses some requests before any handler runs (a request line and
 * headers over its 16 KiB limit, malformed HTTP, a head that never finishes); by default
 * it writes a bare status line. This writes the error envelope instead and closes the
 * connection, which is all HTTP allows once the parser has lost its place.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable || (socket as { bytesWritten?: number }).bytesWritten) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          'headers_too_large',
          'request line and headers exceed 16 KiB; send large id sets to POST /api/v1/jobs/search',
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', 'the request was not received in time']
        : [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message, details: null } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startApi(
  config: Config,
  db: Db,
  log: Logger,
  opts: { port?: number; host?: string } = {},
): Promise<ApiServer> {
  const { app, deps, metrics } = buildApi(config, db, log);
  const server: ServerType = await new Promise((resolve) => {
    const s = serve(
      { fetch: app.fetch, hostname: opts.host ?? config.HTTP_HOST, port: opts.port ?? config.HTTP_PORT },
      () => resolve(s),
    );
    s.on('clientError', answerClientError);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? config.HTTP_PORT);
  log.info({ host: opts.host ?? config.HTTP_HOST, port, driver: db.driver }, 'api listening');
  return {
    port,
    metrics,
    fetch: app.fetch,
    async close() {
      // Wake long-polls first so they answer now instead of holding shutdown open.
      deps.stop();
      await deps.events?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
