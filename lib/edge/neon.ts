// The database of edge bundles that query: Neon's serverless driver over a WebSocket —
// one connection per request, or one pool per isolate where the runtime lets sockets
// outlive a request (lib/edge/adapter.ts decides). NEON_WS_PROXY (+ NEON_INSECURE=1)
// reaches a self-hosted PostgreSQL through a WebSocket-to-TCP proxy instead of Neon.
import { openNeon } from '../db/neon.ts';
import type { EdgeDbOpener } from './adapter.ts';

export const openEdgeDb: EdgeDbOpener = (url, env, opts) =>
  openNeon(url, {
    webSocketConstructor: (globalThis as { WebSocket?: unknown }).WebSocket,
    wsProxy: env.NEON_WS_PROXY,
    secure: env.NEON_INSECURE === '1' ? false : undefined,
    max: opts?.max ?? 1,
  });
