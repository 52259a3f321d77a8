// The edge/function adapter: wraps ONE function into `{ fetch }` for Cloudflare Workers,
// Vercel, Deno, Bun or any Web-standard runtime. Dependencies are built once per isolate
// from the runtime's env (Workers bindings, else process.env): console JSON logs, no
// Prometheus (no shared process to scrape), and — only for functions that query — a
// database from the driver module the bundle was built with (lib/edge/neon.ts). Functions
// that never query (`db: false`: healthz, the OpenAPI document, probes of providers) are
// built without any driver and need no DATABASE_URL.
//
// Connections: on Cloudflare Workers (and Vercel's Edge runtime) an I/O object belongs to
// the request that created it — a WebSocket opened in one request and used by the next
// hangs that request until the runtime cancels it (checked in workerd) — and Neon's
// driver documentation says to connect, query and close within one handler. There each
// request opens and closes its own connection. On Node, Deno and Bun sockets may outlive
// a request, so one pool per isolate serves them all: a warm request then costs its
// queries, not a WebSocket handshake and a PostgreSQL session start (~20 ms through a
// local proxy, more to a remote Neon). EDGE_DB_REUSE=1|0 overrides the detection.
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

/**
 * Opens the database of a bundle that queries, holding up to `max` connections: 1 for one
 * request's own, DATABASE_POOL_MAX for the pool an isolate shares.
 */
export type EdgeDbOpener = (url: string, env: RawEnv, opts?: { max: number }) => Db;

type RuntimeGlobals = {
  navigator?: { userAgent?: string };
  EdgeRuntime?: unknown;
  Deno?: unknown;
  Bun?: unknown;
  process?: { versions?: { node?: string } };
};

/**
 * Whether a connection opened while serving one request may serve the next: only where
 * the runtime is known to allow it (Node, Deno, Bun), never on Workers or Vercel Edge
 * (which may also look like Node under a compatibility flag, so they are ruled out first).
 */
export function connectionsOutliveRequests(env: RawEnv, g: RuntimeGlobals = globalThis): boolean {
  if (env.EDGE_DB_REUSE === '1') return true;
  if (env.EDGE_DB_REUSE === '0') return false;
  if (g.navigator?.userAgent === 'Cloudflare-Workers' || typeof g.EdgeRuntime === 'string') return false;
  return g.Deno !== undefined || g.Bun !== undefined || typeof g.process?.versions?.node === 'string';
}

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
  let reuse: boolean | undefined;
  let shared: Db | undefined;
  // The merged env of the last `env` object seen: the runtime passes the same one to every
  // request of an isolate, and merging process.env into it cost ~0.2 ms per request on Node.
  let last: { env: Env | undefined; raw: RawEnv } | undefined;
  const app = createApp([fn], (env) => (env as { deps: Deps }).deps);
  return {
    async fetch(req: Request, env?: Env, ctx?: ExecutionContext): Promise<Response> {
      if (!last || last.env !== env) last = { env, raw: envOf(env) };
      const raw = last.raw;
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
      reuse ??= connectionsOutliveRequests(raw);
      if (reuse) {
        shared ??= openDb(url, raw, { max: base.config.DATABASE_POOL_MAX });
        return app.fetch(req, { deps: { ...base, db: shared } }, ctx as never);
      }
      // One connection per request: Workers forbid using a socket from another request.
      const db = openDb(url, raw, { max: 1 });
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
