// Outbound HTTP for provider calls: one keep-alive undici Pool per origin (GPU calls
// are long and frequent, so reusing sockets matters), one deadline per call combined
// with the caller's AbortSignal, bounded response reading, and every failure mapped
// to a ProviderError by the classifier in errors.ts.
import { type Dispatcher, Pool } from 'undici';
import type { FailureCategory } from '../jobs/categories.ts';
import { closeGuardedAgents, guardedAgent } from '../net/guarded-agent.ts';
import { checkUrl, findRefusal, redirectTarget, type UrlPolicy, type UrlRefused } from '../net/url-guard.ts';
import {
  cancelledError,
  classifyHttpError,
  classifyNetworkError,
  invalidOutput,
  ProviderError,
  safeUrl,
} from './errors.ts';

const pools = new Map<string, Pool>();

/** The keep-alive pool for a URL's origin, created on first use. */
export function dispatcherFor(url: string | URL): Pool {
  const origin = new URL(url).origin;
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, {
      connections: 32,
      // undici's own 4 s idle timeout stays below uvicorn's 5 s (vLLM, FastAPI), so a
      // reused socket is not one the server is closing. Deadlines are ours, not undici's.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: 10_000 },
    });
    pools.set(origin, pool);
  }
  return pool;
}

/** Redirect hops a guarded download follows (each one checked by the URL guard). */
export const MAX_REDIRECTS = 5;

/** Closes every cached pool (worker shutdown, test teardown). */
export async function closeHttpPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.allSettled([...all.map((p) => p.close()), closeGuardedAgents()]);
}

export interface HttpRequestOptions {
  url: string;
  method?: 'GET' | 'POST';
  /** Plain values are sent as JSON, Multipart as multipart/form-data, bytes and strings as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Name used in error messages and ProviderError.provider. */
  provider?: string;
  /** Values (API keys) scrubbed from any error message. */
  secrets?: readonly (string | undefined)[];
  /** Response size cap; default 64 MiB. */
  maxResponseBytes?: number;
  /** Category when the cap is exceeded; default invalid_output (a provider answering too much). */
  tooLargeCategory?: FailureCategory;
  /**
   * For URLs a caller chose (audio_url, webhooks): every hop and every resolved address is
   * checked by lib/net's URL guard, redirects (GET only) are followed hop by hop up to
   * MAX_REDIRECTS, and a refusal is a final `invalid_input` naming the rule. Provider APIs
   * (configured by the operator) do not redirect and go without it.
   */
  guard?: UrlPolicy;
  /** Name of the URL in refusal messages (default "URL"). */
  urlLabel?: string;
  /** Maps a non-2xx answer; default classifyHttpError. */
  onHttpError?: (status: number, headers: Record<string, string>, text: string) => ProviderError;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  bytes: Uint8Array;
  text: string;
  durationMs: number;
}

const DEFAULT_MAX_RESPONSE = 64 * 1_048_576;
const ERROR_BODY_CAP = 64 * 1024;

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export interface MultipartPart {
  name: string;
  value: string | Uint8Array;
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data request body. */
export class Multipart {
  constructor(readonly parts: MultipartPart[]) {}
}

const quoteField = (s: string) => s.replace(/[\r\n"]/g, (c) => encodeURIComponent(c));

/**
 * Encodes multipart/form-data into one buffer. Built by hand rather than with FormData:
 * undici 7 only recognises its own FormData class (not Node 20's global one), and one
 * buffer gives an exact content-length.
 */
export function encodeMultipart(m: Multipart): { body: Uint8Array; contentType: string } {
  const boundary = `----ai-service-${crypto.randomUUID()}`;
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const p of m.parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quoteField(p.name)}"`;
    if (p.filename !== undefined) head += `; filename="${quoteField(p.filename)}"`;
    head += '\r\n';
    if (p.filename !== undefined || p.contentType) {
      head += `Content-Type: ${p.contentType ?? 'application/octet-stream'}\r\n`;
    }
    const value = typeof p.value === 'string' ? enc.encode(p.value) : p.value;
    chunks.push(enc.encode(`${head}\r\n`), value, enc.encode('\r\n'));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

function encodeBody(body: unknown, headers: Record<string, string>): Dispatcher.DispatchOptions['body'] {
  if (body === undefined) return undefined;
  if (body instanceof Multipart) {
    const m = encodeMultipart(body);
    headers['content-type'] = m.contentType;
    return m.body;
  }
  if (body instanceof Uint8Array || typeof body === 'string') return body;
  headers['content-type'] ??= 'application/json';
  return JSON.stringify(body);
}

/**
 * One HTTP call with a deadline. Resolves only for 2xx; everything else throws a
 * ProviderError (`cancelled` when the caller's signal fired, `timeout` when ours did).
 */
export async function request(opts: HttpRequestOptions): Promise<HttpResponse> {
  const provider = opts.provider ?? 'http';
  const secrets = opts.secrets;
  if (opts.signal?.aborted) throw cancelledError(provider, opts.signal.reason);

  let target: URL;
  try {
    target = new URL(opts.url);
  } catch {
    throw new ProviderError({ category: 'internal', provider, message: `${provider}: invalid URL` });
  }
  const headers: Record<string, string> = { accept: 'application/json', ...lowerKeys(opts.headers) };
  // Credentials in a configured URL become Basic auth instead of travelling in the request line.
  if ((target.username || target.password) && !headers['authorization']) {
    const user = decodeURIComponent(target.username);
    const pass = decodeURIComponent(target.password);
    headers['authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  const body = encodeBody(opts.body, headers);

  const controller = new AbortController();
  let timedOut = false;
  let callerAborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('deadline'));
  }, opts.timeoutMs);
  const onCallerAbort = () => {
    callerAborted = true;
    controller.abort(opts.signal?.reason ?? new Error('aborted'));
  };
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const started = performance.now();
  const ctx = () => ({
    provider,
    url: opts.url,
    timedOut,
    callerAborted,
    timeoutMs: opts.timeoutMs,
    secrets,
  });
  try {
    let res: Dispatcher.ResponseData;
    if (opts.guard) {
      res = await guardedHops(target, opts.guard, headers, controller.signal, provider);
    } else {
      res = await dispatcherFor(target).request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
        headers,
        body,
        signal: controller.signal,
      });
    }
    const resHeaders = flattenHeaders(res.headers);
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const cap = ok ? (opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE) : ERROR_BODY_CAP;
    const declared = Number(resHeaders['content-length']);
    if (ok && Number.isFinite(declared) && declared > cap) {
      res.body.destroy();
      throw tooLarge(provider, opts, cap);
    }
    const bytes = await readCapped(res.body, cap, ok);
    if (bytes === undefined) throw tooLarge(provider, opts, cap);
    const text = new TextDecoder().decode(bytes);
    if (!ok) {
      throw opts.onHttpError
        ? opts.onHttpError(res.statusCode, resHeaders, text)
        : classifyHttpError({
            provider,
            status: res.statusCode,
            headers: resHeaders,
            body: text,
            url: opts.url,
            secrets,
          });
    }
    return {
      status: res.statusCode,
      headers: resHeaders,
      bytes,
      text,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    const refused = findRefusal(err);
    if (refused) throw refusedError(provider, opts.urlLabel ?? 'URL', refused);
    throw classifyNetworkError(err, ctx());
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * GET through the guard: check the URL, connect through the guarded agent (which checks
 * the resolved address), and follow redirects one hop at a time, checking each target.
 */
async function guardedHops(
  first: URL,
  policy: UrlPolicy,
  headers: Record<string, string>,
  signal: AbortSignal,
  provider: string,
): Promise<Dispatcher.ResponseData> {
  let current = checkUrl(first, policy);
  for (let hop = 0; ; hop++) {
    const res = await guardedAgent(policy).request({
      origin: current.origin,
      path: `${current.pathname}${current.search}`,
      method: 'GET',
      headers,
      signal,
    });
    const location = res.headers['location'];
    const next = redirectTarget(
      current,
      res.statusCode,
      Array.isArray(location) ? location[0] : location,
      policy,
    );
    if (!next) return res;
    await res.body.dump().catch(() => undefined);
    if (hop >= MAX_REDIRECTS) {
      throw new ProviderError({
        category: 'invalid_input',
        provider,
        message: `more than ${MAX_REDIRECTS} redirects (${safeUrl(first.href)})`,
      });
    }
    // Credentials meant for the first host never follow a redirect to another origin.
    if (next.origin !== current.origin) delete headers['authorization'];
    current = next;
  }
}

function refusedError(provider: string, label: string, r: UrlRefused): ProviderError {
  return new ProviderError({
    category: 'invalid_input',
    provider,
    message: `${label} refused by rule ${r.rule}: ${r.message}`,
  });
}

function tooLarge(provider: string, opts: HttpRequestOptions, cap: number): ProviderError {
  return new ProviderError({
    category: opts.tooLargeCategory ?? 'invalid_output',
    provider,
    message: `${provider}: response larger than ${cap} bytes (${safeUrl(opts.url)})`,
  });
}

/**
 * Reads a body up to `cap` bytes. Over the cap: undefined for a success body (the caller
 * reports it), a truncated prefix for an error body (only its message matters).
 */
async function readCapped(body: Dispatcher.ResponseData['body'], cap: number, strict: boolean) {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > cap) {
      body.destroy();
      if (strict) return undefined;
      parts.push(chunk.subarray(0, chunk.byteLength - (size - cap)));
      size = cap;
      break;
    }
    parts.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function lowerKeys(h: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h) for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

export interface JsonResponse extends HttpResponse {
  json: unknown;
}

/** POSTs JSON (or Multipart) and parses the answer as JSON whatever its content type; non-JSON is invalid_output. */
export async function postJson(opts: Omit<HttpRequestOptions, 'method'>): Promise<JsonResponse> {
  const res = await request({ ...opts, method: 'POST' });
  return { ...res, json: parseJsonBody(res, opts.provider ?? 'http') };
}

/** GETs and parses JSON; non-JSON is invalid_output. */
export async function getJson(opts: Omit<HttpRequestOptions, 'method' | 'body'>): Promise<JsonResponse> {
  const res = await request({ ...opts, method: 'GET' });
  return { ...res, json: parseJsonBody(res, opts.provider ?? 'http') };
}

function parseJsonBody(res: HttpResponse, provider: string): unknown {
  try {
    return JSON.parse(res.text);
  } catch {
    const preview = res.text.trim().slice(0, 80);
    throw invalidOutput(
      provider,
      `answer is not JSON${preview ? ` (starts with "${preview}")` : ' (empty body)'}`,
      res.status,
    );
  }
}
