// The Node adapter: mounts every function on one Hono app with @hono/node-server, adds
// GET /metrics, and shuts down gracefully (stop accepting, finish in-flight requests,
// wake long-polls, close the pool).
import { type ServerType, serve } from '@hono/node-server';
import { ALL_FUNCTIONS } from '../../functions/index.ts';
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/port.ts';
import { createApp } from '../http/app.ts';
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
  const app = createApp(ALL_FUNCTIONS, deps);
  // Open like the probes: Prometheus scrapes without the service token.
  app.get('/metrics', async () => {
    const { contentType, body } = await metrics.render();
    return new Response(body, { headers: { 'content-type': contentType } });
  });
  return { app, deps, metrics };
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
