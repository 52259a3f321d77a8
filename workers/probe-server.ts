// The worker's open HTTP endpoints for Kubernetes and operators (no token: they carry no
// job data and no secrets):
//   GET /healthz        the process is alive (liveness)
//   GET /readyz         PostgreSQL answers `SELECT 1` within a short timeout (readiness)
//   GET /worker/status  identity, handlers, jobs in flight, counters, circuits (JSON)
//   GET /metrics        Prometheus text from the worker's registry
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Queryable } from '../lib/db/port.ts';
import { sanitizeMessage } from '../lib/providers/errors.ts';
import { describeError } from './retry.ts';

export interface ProbeDeps {
  db: Queryable;
  status(): unknown;
  metrics?: { render(): Promise<{ contentType: string; body: string }> };
  /** How long /readyz waits for `SELECT 1` (default 1 s: probes must not hang). */
  readyTimeoutMs?: number;
}

export function probeApp(deps: ProbeDeps): Hono {
  const app = new Hono();
  const timeout = deps.readyTimeoutMs ?? 1_000;

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        deps.db.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
        }),
      ]);
      return c.json({ status: 'ready', db: 'ok', ms: Math.round(performance.now() - t0) });
    } catch (err) {
      return c.json(
        {
          status: 'unavailable',
          db: 'unreachable',
          error: sanitizeMessage(`database: ${describeError(err)}`),
        },
        503,
      );
    } finally {
      clearTimeout(timer);
    }
  });

  app.get('/worker/status', (c) => c.json(deps.status() as object));

  app.get('/metrics', async (c) => {
    if (!deps.metrics) return c.text('metrics are not enabled\n', 404);
    const { contentType, body } = await deps.metrics.render();
    return c.body(body, 200, { 'content-type': contentType });
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'not found' } }, 404));
  return app;
}

export interface ProbeServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function startProbeServer(deps: ProbeDeps & { host: string; port: number }): Promise<ProbeServer> {
  const app = probeApp(deps);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: deps.host, port: deps.port }, (info: AddressInfo) => {
      server.off('error', reject);
      const host = info.address.includes(':') ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            // Probe connections are keep-alive; do not let them hold shutdown open.
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
    server.once('error', reject);
  });
}
