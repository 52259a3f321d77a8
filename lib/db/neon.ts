// Neon's serverless driver (PostgreSQL protocol over a WebSocket) for edge/function
// platforms where TCP sockets are unavailable. On Node (tests, a proxy in front of a
// plain PostgreSQL) the caller passes a WebSocket constructor and proxy settings.
import { neonConfig, Pool } from '@neondatabase/serverless';
import type { Db, QueryResult } from './port.ts';
import { inTransaction } from './transaction.ts';

export interface NeonOptions {
  /** WebSocket class for runtimes without a global one (Node 20: the `ws` package). */
  webSocketConstructor?: unknown;
  /** Route WebSockets through a plain ws→TCP proxy, e.g. "127.0.0.1:9123" (tests, self-hosted). */
  wsProxy?: string;
  /** false for a local proxy without TLS. */
  secure?: boolean;
  max?: number;
}

/**
 * The driver rejects with the WebSocket's ErrorEvent (not an Error) when the database
 * cannot be reached. Hono hands only Errors to onError, so such a value escaped the
 * envelope (workerd answered a bare 500). Everything leaving this module is an Error;
 * one without a SQLSTATE becomes 08006 connection_failure, which callers treat as
 * "database unavailable".
 */
export function asDbError(e: unknown): Error {
  if (e instanceof Error) return e;
  const what = (e as { message?: unknown; type?: unknown } | null) ?? {};
  const detail =
    typeof what.message === 'string' && what.message ? what.message : String(what.type ?? 'error');
  return Object.assign(new Error(`database connection failed (WebSocket ${detail})`), { code: '08006' });
}

const rethrow = (e: unknown): never => {
  throw asDbError(e);
};

export function openNeon(url: string, opts: NeonOptions = {}): Db {
  if (opts.webSocketConstructor) neonConfig.webSocketConstructor = opts.webSocketConstructor as never;
  if (opts.wsProxy) {
    const proxy = opts.wsProxy;
    neonConfig.wsProxy = () => proxy;
  }
  if (opts.secure === false) {
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    neonConfig.pipelineTLS = false;
  }
  const pool = new Pool({ connectionString: url, max: opts.max ?? 5 });
  pool.on('error', () => {
    // Idle connection dropped: the pool opens a new one on the next query.
  });
  const run = async <T>(
    c: { query: (t: string, p?: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }> },
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<T>> => {
    const r = await c.query(text, params as unknown[] | undefined).catch(rethrow);
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  };
  return {
    driver: 'neon',
    query: (text, params) => run(pool, text, params),
    async exec(sql) {
      await pool.query(sql).catch(rethrow);
    },
    // Connection failures inside a transaction surface as Errors too (asDbError).
    transaction: (fn) =>
      inTransaction(async () => {
        const client = await pool.connect().catch(rethrow);
        return {
          query: (text, params) => client.query(text, params).catch(rethrow),
          release: (destroy) => client.release(destroy),
          on: (event, listener) => client.on(event, listener),
          removeListener: (event, listener) => client.removeListener(event, listener),
        };
      }, fn),
    async close() {
      await pool.end().catch(() => {});
    },
  };
}
