// Builds the Hono app that serves a set of functions, with everything they share:
// request ids, one JSON log line per request, metrics, body-size limit, bearer auth on
// /api/v1/* (except functions declared open), the error envelope for every failure
// (including unknown routes, wrong methods and oversized bodies). Used by the Node
// adapter (all functions) and by each edge bundle (one function).
//
// Routing and 405 come from one table: functions are grouped by path in their given
// order (static paths before /jobs/:id), each group mounted once for every method; the
// first group whose path matches owns the request and either runs the function for that
// method or answers 405 with exactly its own methods in `Allow`. Paths are matched
// strictly: a trailing slash is a different path (404).
import { Hono } from 'hono';
import { ADMIN, allows } from '../auth/principal.ts';
import { AppError } from '../errors.ts';
import { tooLargeText } from '../net/too-large-hint.ts';
import { authenticate } from './auth.ts';
import type { AppEnv, FunctionDef } from './define.ts';
import type { Deps } from './deps.ts';
import { errorResponse, toAppError } from './errors.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Kubernetes and Prometheus poll these every few seconds: logged at debug, not info. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Deps for a request: fixed (Node adapter) or built per request from the runtime env (edge). */
export type DepsSource = Deps | ((env: unknown) => Deps | Promise<Deps>);

export function createApp(functions: readonly FunctionDef[], deps: DepsSource): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Open functions under /api/v1 (the OpenAPI document) skip the token check.
  const openPaths = new Set(functions.filter((f) => !f.auth).map((f) => f.path));
  const getDeps = (env: unknown) => (typeof deps === 'function' ? deps(env) : deps);

  app.use('*', async (c, next) => {
    const d = await getDeps(c.env);
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set('deps', d);
    c.set('requestId', requestId);
    const started = d.clock.now();
    await next();
    c.res.headers.set('x-request-id', requestId);
    const route = c.req.routePath && c.req.routePath !== '*' ? c.req.routePath : 'unmatched';
    const ms = d.clock.now() - started;
    d.metrics.httpRequest(c.req.method, route, c.res.status, ms / 1000);
    (PROBE_PATHS.has(route) ? d.log.debug : d.log.info).call(
      d.log,
      { request_id: requestId, method: c.req.method, route, status: c.res.status, duration_ms: ms },
      'request',
    );
  });

  // Body limit from Content-Length when present, else by reading at most the limit.
  // GET/HEAD never touch c.req.raw: on the Node adapter that would build a full Request
  // object (headers, AbortSignal) for every request — measured at a large share of a
  // cheap request's cost.
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const limit = c.var.deps.config.MAX_BODY_BYTES;
    const len = c.req.header('content-length');
    if (len !== undefined && Number(len) > limit) throw tooLarge(limit, c.req.method, c.req.path);
    if (len === undefined && c.req.raw.body) {
      const buf = await readCapped(c.req.raw, limit);
      c.req.raw = new Request(c.req.raw, { body: buf, duplex: 'half' } as RequestInit);
    }
    await next();
  });

  // Who is calling (lib/auth/principal.ts): the admin token, a caller token, or nobody
  // (401). Whether that caller may use the route (403) is decided by the route's `access`.
  app.use('/api/v1/*', async (c, next) => {
    if (openPaths.has(c.req.path)) return next();
    c.set('principal', await authenticate(c.var.deps, c.req.header('authorization')));
    await next();
  });

  const groups = new Map<string, FunctionDef[]>();
  for (const f of functions) groups.set(f.path, [...(groups.get(f.path) ?? []), f]);
  for (const [path, fs] of groups) {
    const allow = fs.map((f) => f.method);
    app.all(path, (c) => {
      // Hono runs GET handlers for HEAD (and drops the body); treat it as GET here too.
      const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
      const f = fs.find((x) => x.method === method);
      if (f) {
        if (f.access !== 'open' && f.access !== 'console' && !allows(c.var.principal ?? ADMIN, f.access)) {
          throw new AppError('forbidden', `this token may not ${f.method} ${f.path} (needs ${f.access})`, {
            needs: f.access,
          });
        }
        return f.handler(c);
      }
      throw new AppError('method_not_allowed', `${c.req.method} is not allowed on ${path}`, { allow });
    });
  }

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    return errorResponse(new AppError('not_found', `no route for ${c.req.method} ${path}`));
  });

  app.onError((err, c) => {
    const d = c.var.deps;
    const appErr = d
      ? toAppError(err, d.log, { request_id: c.var.requestId, route: c.req.routePath })
      : err instanceof AppError
        ? err
        : new AppError('internal', 'internal error');
    return errorResponse(appErr, headersFor(appErr));
  });

  return app;
}

/**
 * Headers an error carries: `Allow` with a 405; `Connection: close` with a 413, whose
 * body was not read to its end — the client must not reuse the connection (Node then
 * closes it after the answer; edge runtimes ignore the header).
 */
function headersFor(err: AppError): HeadersInit | undefined {
  if (err.code === 'method_not_allowed') {
    return { allow: (err.details as { allow: string[] }).allow.join(', ') };
  }
  if (err.code === 'payload_too_large') return { connection: 'close' };
  return undefined;
}

function tooLarge(limit: number, method = '', path = ''): AppError {
  // On the routes that can carry audio, the message names input.audio_url (lib/net/too-large-hint.ts).
  const t = tooLargeText(method, path, limit);
  return new AppError('payload_too_large', t.message, t.details);
}

async function readCapped(req: Request, limit: number): Promise<Uint8Array> {
  const reader = req.body!.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit, req.method, new URL(req.url).pathname);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.byteLength;
  }
  return out;
}
