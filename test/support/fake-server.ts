// Shared core of the loopback provider fakes (fake-openai.ts, fake-whisperx.ts): a real
// node:http server on 127.0.0.1:0 that records every request and answers each one by a
// programmable behaviour. Use the fakes, not this module, in tests; see fake-openai.ts
// for the full API description.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedFile {
  filename: string;
  contentType: string;
  bytes: Buffer;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Raw body bytes. */
  body: Buffer;
  /** Parsed body when it was JSON. */
  json?: unknown;
  /** multipart/form-data text fields. */
  fields?: Record<string, string>;
  /** multipart/form-data files by field name. */
  files?: Record<string, RecordedFile>;
  receivedAt: number;
  /** The client's port: equal ports on two requests mean a reused keep-alive connection. */
  remotePort: number | undefined;
}

/** Behaviours every fake understands. `delayMs` delays the answer (a slow provider). */
export type CommonBehaviour =
  /** Any status with a JSON (object) or raw (string, bytes) body, or none. */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  /** An error in the server's own shape (see each fake for the default shape). */
  | {
      kind: 'error';
      status: number;
      message?: string;
      shape?: 'nested' | 'top-level' | 'detail' | 'text';
      headers?: Record<string, string>;
      delayMs?: number;
    }
  /** 429 as a gateway in front of vLLM sends it. */
  | {
      kind: 'rate_limited';
      retryAfter?: string | number;
      retryAfterMs?: number;
      message?: string;
      delayMs?: number;
    }
  /** vLLM's 400 for a prompt over the model window. */
  | { kind: 'context_length'; shape?: 'nested' | 'top-level'; delayMs?: number }
  /** 200 with a body that is not the promised JSON. */
  | { kind: 'garbage'; body?: string; contentType?: string; delayMs?: number }
  /** A status (default 500) with an empty body: a dead vLLM engine. */
  | { kind: 'empty'; status?: number; delayMs?: number }
  /** Never answers (the client's deadline must fire); released by close(). */
  | { kind: 'hang' }
  /** Destroys the socket without answering: connection reset. */
  | { kind: 'drop'; delayMs?: number }
  /** Sends 200 headers and part of the body, then destroys the socket. */
  | { kind: 'drop_mid_body'; delayMs?: number }
  /** Sends 200 headers and part of the body, then nothing more (a stalled stream). */
  | { kind: 'stall_mid_body'; delayMs?: number };

export type BehaviourOf<A> = A | CommonBehaviour;
/** A behaviour, or a function choosing one from the request. */
export type BehaviourSpec<A> = BehaviourOf<A> | ((req: RecordedRequest) => BehaviourOf<A>);

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface FakeServer<A> {
  /** http://127.0.0.1:<port>, no trailing slash. */
  url: string;
  /** Every request in arrival order (including probes). */
  requests: RecordedRequest[];
  /** Requests to one path. */
  requestsTo(path: string): RecordedRequest[];
  /** The last request (to `path` when given). */
  last(path?: string): RecordedRequest | undefined;
  /** Resolves with the first request (already received or future) matching `pred`. */
  waitForRequest(pred?: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Behaviour for every later request to `path` (default: the main endpoint) until changed. */
  setBehaviour(b: BehaviourSpec<A>, path?: string): void;
  /** One-shot behaviours for the main endpoint, used in order before the standing one. */
  queue(...b: BehaviourSpec<A>[]): void;
  /** One-shot behaviours for another path. */
  queueFor(path: string, ...b: BehaviourSpec<A>[]): void;
  /** Forgets requests, queues and standing behaviours. */
  reset(): void;
  /** Stops the server, dropping hung connections. */
  close(): Promise<void>;
}

export interface FakeServerOptions<A extends { kind: 'answer' }> {
  mainPath: string;
  /** Answers the main path (behaviour kind 'answer'). */
  answer: (req: RecordedRequest, b: A) => Reply;
  /** Normal answers for other paths (method-agnostic; return undefined for 404). */
  routes: (req: RecordedRequest) => Reply | undefined;
  /** Default error body shape for `error` behaviours. */
  errorShape: 'nested' | 'top-level' | 'detail' | 'text';
  /** Checked before any behaviour (vLLM --api-key); returns a reply to refuse. */
  authorize?: (req: RecordedRequest) => Reply | undefined;
}

const CONTEXT_MESSAGE =
  "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens " +
  '(39000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.';

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

function errorReply(
  status: number,
  message: string,
  shape: FakeServerOptions<{ kind: 'answer' }>['errorShape'],
) {
  const type = status === 404 ? 'NotFoundError' : status >= 500 ? 'InternalServerError' : 'BadRequestError';
  switch (shape) {
    case 'nested':
      return json(status, { error: { message, type, param: null, code: status } });
    case 'top-level':
      return json(status, { object: 'error', message, type, param: null, code: status });
    case 'detail':
      return json(status, { detail: message });
    default:
      return { status, headers: { 'content-type': 'text/plain' }, body: message };
  }
}

/** Minimal multipart/form-data parser: enough for the clients under test. */
export function parseMultipart(body: Buffer, contentType: string) {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const fields: Record<string, string> = {};
  const files: Record<string, RecordedFile> = {};
  if (!boundary) return { fields, files };
  const delim = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    if (next === -1) break;
    const part = body.subarray(start + 2, next - 2); // skip CRLF after delimiter and before next
    const headEnd = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, headEnd).toString('utf8');
    const data = part.subarray(headEnd + 4);
    const name = /name="([^"]*)"/i.exec(head)?.[1] ?? '';
    const filename = /filename="([^"]*)"/i.exec(head)?.[1];
    if (filename !== undefined) {
      const ct = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1] ?? 'application/octet-stream';
      files[name] = { filename, contentType: ct.trim(), bytes: Buffer.from(data) };
    } else {
      fields[name] = data.toString('utf8');
    }
    pos = next;
  }
  return { fields, files };
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  const body = Buffer.concat(parts);
  const u = new URL(req.url ?? '/', 'http://fake');
  const rec: RecordedRequest = {
    method: req.method ?? 'GET',
    path: u.pathname,
    query: Object.fromEntries(u.searchParams),
    headers: req.headers,
    body,
    receivedAt: Date.now(),
    remotePort: req.socket.remotePort,
  };
  const ct = String(req.headers['content-type'] ?? '');
  if (ct.includes('multipart/form-data')) {
    Object.assign(rec, parseMultipart(body, ct));
  } else if (body.length > 0) {
    try {
      rec.json = JSON.parse(body.toString('utf8'));
    } catch {
      // not JSON: the raw body stays available
    }
  }
  return rec;
}

export async function startFakeServer<A extends { kind: 'answer' }>(
  opts: FakeServerOptions<A>,
): Promise<FakeServer<A>> {
  const requests: RecordedRequest[] = [];
  const standing = new Map<string, BehaviourSpec<A>>();
  const queues = new Map<string, BehaviourSpec<A>[]>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters: { pred: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }[] = [];

  const pick = (req: RecordedRequest): BehaviourOf<A> => {
    const spec = queues.get(req.path)?.shift() ?? standing.get(req.path) ?? ({ kind: 'answer' } as A);
    return typeof spec === 'function' ? spec(req) : spec;
  };

  const send = (res: ServerResponse, r: Reply) => {
    if (res.destroyed) return;
    res.writeHead(r.status, r.headers);
    res.end(r.body);
  };

  const later = (ms: number | undefined, fn: () => void) => {
    if (!ms) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const act = (req: RecordedRequest, res: ServerResponse, b: BehaviourOf<A>) => {
    const delay = 'delayMs' in b ? (b.delayMs as number | undefined) : undefined;
    const c = b as CommonBehaviour | A;
    switch (c.kind) {
      case 'hang':
        return; // the socket stays open until the client gives up or close()
      case 'drop':
        return later(delay, () => res.socket?.destroy());
      case 'drop_mid_body':
        return later(delay, () => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
          res.write('{"id":"chatcmpl-cut","object":"chat.completion","choices":[{"index":0,');
          setImmediate(() => res.socket?.destroy());
        });
      case 'stall_mid_body':
        return later(delay, () => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
          res.write('{"id":"chatcmpl-stalled","object":"chat.completion","choices":[{"index":0,');
        });
      case 'status': {
        const raw = typeof c.body === 'string' || Buffer.isBuffer(c.body) || c.body instanceof Uint8Array;
        const body =
          c.body === undefined
            ? ''
            : raw
              ? Buffer.from(c.body as Uint8Array | string)
              : JSON.stringify(c.body);
        const ct: Record<string, string> =
          c.body !== undefined && !raw ? { 'content-type': 'application/json' } : {};
        return later(delay, () => send(res, { status: c.status, headers: { ...ct, ...c.headers }, body }));
      }
      case 'error':
        return later(delay, () => {
          const r = errorReply(c.status, c.message ?? `fake error ${c.status}`, c.shape ?? opts.errorShape);
          send(res, { ...r, headers: { ...r.headers, ...c.headers } });
        });
      case 'rate_limited': {
        const headers: Record<string, string> = {};
        if (c.retryAfter !== undefined) headers['retry-after'] = String(c.retryAfter);
        if (c.retryAfterMs !== undefined) headers['retry-after-ms'] = String(c.retryAfterMs);
        const message = c.message ?? 'Rate limit exceeded. Please retry later.';
        return later(delay, () =>
          send(
            res,
            json(429, { error: { message, type: 'rate_limit_error', param: null, code: 429 } }, headers),
          ),
        );
      }
      case 'context_length':
        return later(delay, () => send(res, errorReply(400, CONTEXT_MESSAGE, c.shape ?? 'nested')));
      case 'garbage':
        return later(delay, () =>
          send(res, {
            status: 200,
            headers: { 'content-type': c.contentType ?? 'application/json' },
            body: c.body ?? '<html><body>upstream says hi</body></html>',
          }),
        );
      case 'empty':
        return later(delay, () => send(res, { status: c.status ?? 500 }));
      case 'answer':
        return later(delay, () => {
          const reply = req.path === opts.mainPath ? opts.answer(req, c as A) : opts.routes(req);
          send(res, reply ?? json(404, { detail: 'Not Found' }));
        });
    }
  };

  const server = createServer((req, res) => {
    record(req).then(
      (rec) => {
        requests.push(rec);
        for (const w of [...waiters]) {
          if (w.pred(rec)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(rec);
          }
        }
        const refused = opts.authorize?.(rec);
        if (refused) return send(res, refused);
        try {
          act(rec, res, pick(rec));
        } catch (e) {
          send(res, { status: 500, body: `fake failed: ${(e as Error).message}` });
        }
      },
      () => res.destroy(),
    );
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    last: (path) => [...requests].reverse().find((r) => path === undefined || r.path === path),
    waitForRequest(pred = () => true, timeoutMs = 5000) {
      const seen = requests.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (r: RecordedRequest) => {
            clearTimeout(t);
            resolve(r);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`fake: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    setBehaviour: (b, path = opts.mainPath) => void standing.set(path, b),
    queue: (...b) => void queues.set(opts.mainPath, [...(queues.get(opts.mainPath) ?? []), ...b]),
    queueFor: (path, ...b) => void queues.set(path, [...(queues.get(path) ?? []), ...b]),
    reset() {
      requests.length = 0;
      standing.clear();
      queues.clear();
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
