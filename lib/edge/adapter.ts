// The edge/function adapter: wraps ONE function into `{ fetch }` for Cloudflare Workers,
// Vercel, Deno, Bun or any Web-standard runtime. Dependencies are built once per isolate
// from the runtime's env (Workers bindings, else process.env): the Neon serverless
// driver for the database, console JSON logs, no Prometheus (no shared process to
// scrape). Set NEON_WS_PROXY (+ NEON_INSECURE=1) to reach a self-hosted PostgreSQL
// through a WebSocket-to-TCP proxy instead of Neon.
import { loadConfig } from '../config/load.ts';
import { openNeon } from '../db/neon.ts';
import { createApp } from '../http/app.ts';
import type { FunctionDef } from '../http/define.ts';
import { type Deps, systemClock } from '../http/deps.ts';
import { probeProviders } from '../providers/probe.ts';
import { consoleLogger, noopMetrics } from '../telemetry/port.ts';

type Env = Record<string, unknown>;

function envOf(env: Env | undefined): Record<string, string | undefined> {
  const fromProcess =
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  const out: Record<string, string | undefined> = { ...fromProcess };
  for (const [k, v] of Object.entries(env ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Built once per isolate: parsing config and creating loggers is not per-request work. */
function baseDeps(rawEnv: Record<string, string | undefined>): Omit<Deps, 'db'> & { databaseUrl: string } {
  const config = loadConfig(rawEnv);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required on edge platforms');
  const level = config.LOG_LEVEL === 'fatal' || config.LOG_LEVEL === 'trace' ? 'info' : config.LOG_LEVEL;
  return {
    databaseUrl: config.DATABASE_URL,
    config,
    clock: systemClock,
    log: consoleLogger({ service: 'ai-service' }, level),
    metrics: noopMetrics,
    fetch: (...args) => fetch(...args),
    probeProviders: () => probeProviders(config),
  };
}

type ExecutionContext = { waitUntil?(p: Promise<unknown>): void };

export function edgeHandler(fn: FunctionDef) {
  let base: ReturnType<typeof baseDeps> | undefined;
  const app = createApp([fn], (env) => (env as { deps: Deps }).deps);
  return {
    async fetch(req: Request, env?: Env, ctx?: ExecutionContext): Promise<Response> {
      const raw = envOf(env);
      base ??= baseDeps(raw);
      // One connection per request: Workers forbid sharing a socket between requests.
      const db = openNeon(base.databaseUrl, {
        webSocketConstructor: (globalThis as { WebSocket?: unknown }).WebSocket,
        wsProxy: raw.NEON_WS_PROXY,
        secure: raw.NEON_INSECURE === '1' ? false : undefined,
        max: 1,
      });
      const { databaseUrl: _, ...rest } = base;
      try {
        return await app.fetch(req, { deps: { ...rest, db } }, ctx as never);
      } finally {
        const closing = db.close().catch(() => {});
        if (ctx?.waitUntil) ctx.waitUntil(closing);
        else await closing;
      }
    },
  };
}
