// The edge/function adapter: wraps ONE function into `{ fetch }` for Cloudflare Workers,
// Vercel, Deno, Bun or any Web-standard runtime. Dependencies are built once per isolate
// from the runtime's env (Workers bindings, else process.env): console JSON logs, no
// Prometheus (no shared process to scrape), and — only for functions that query — a
// database from the driver module the bundle was built with (lib/edge/neon.ts). Functions
// that never query (`db: false`: healthz, the OpenAPI document, probes of providers) are
// built without any driver and need no DATABASE_URL.
import { loadConfig } from '../config/load.ts';
import type { Db } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { createApp } from '../http/app.ts';
import type { FunctionDef } from '../http/define.ts';
import { type Deps, systemClock } from '../http/deps.ts';
import { probeProviders } from '../providers/probe.ts';
import { consoleLogger, noopMetrics } from '../telemetry/port.ts';

type Env = Record<string, unknown>;
export type RawEnv = Record<string, string | undefined>;

/** Opens the per-request database of a bundle that queries. */
export type EdgeDbOpener = (url: string, env: RawEnv) => Db;

function envOf(env: Env | undefined): RawEnv {
  const fromProcess =
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  const out: RawEnv = { ...fromProcess };
  for (const [k, v] of Object.entries(env ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Built once per isolate: parsing config and creating loggers is not per-request work. */
function baseDeps(rawEnv: RawEnv): Omit<Deps, 'db'> {
  const config = loadConfig(rawEnv);
  const level = config.LOG_LEVEL === 'fatal' || config.LOG_LEVEL === 'trace' ? 'info' : config.LOG_LEVEL;
  return {
    config,
    clock: systemClock,
    log: consoleLogger({ service: 'ai-service' }, level),
    metrics: noopMetrics,
    fetch: (...args) => fetch(...args),
    probeProviders: () => probeProviders(config),
  };
}

/** The db of a bundle built without a driver: a function that queries was mis-declared. */
const noDb: Db = {
  driver: 'neon',
  query: () => Promise.reject(new AppError('not_configured', 'this bundle has no database driver')),
  exec: () => Promise.reject(new AppError('not_configured', 'this bundle has no database driver')),
  transaction: () => Promise.reject(new AppError('not_configured', 'this bundle has no database driver')),
  close: async () => {},
};

type ExecutionContext = { waitUntil?(p: Promise<unknown>): void };

export function edgeHandler(fn: FunctionDef, openDb?: EdgeDbOpener) {
  let base: ReturnType<typeof baseDeps> | undefined;
  const app = createApp([fn], (env) => (env as { deps: Deps }).deps);
  return {
    async fetch(req: Request, env?: Env, ctx?: ExecutionContext): Promise<Response> {
      const raw = envOf(env);
      base ??= baseDeps(raw);
      if (!openDb) return app.fetch(req, { deps: { ...base, db: noDb } }, ctx as never);
      const url = base.config.DATABASE_URL;
      if (!url) {
        return Response.json(
          {
            error: {
              code: 'not_configured',
              message: 'DATABASE_URL is not set for this function',
              details: null,
            },
          },
          { status: 503 },
        );
      }
      // One connection per request: Workers forbid sharing a socket between requests.
      const db = openDb(url, raw);
      try {
        return await app.fetch(req, { deps: { ...base, db } }, ctx as never);
      } finally {
        const closing = db.close().catch(() => {});
        if (ctx?.waitUntil) ctx.waitUntil(closing);
        else await closing;
      }
    },
  };
}
