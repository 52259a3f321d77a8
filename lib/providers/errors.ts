// ProviderError and the one classifier that turns provider outcomes (HTTP status,
// headers and body; network errors; deadlines; the caller's abort) into a
// FailureCategory the worker reports. Messages are short and secret-free because they
// are stored on jobs and shown to callers.
// No undici import here: the edge-bundled probe uses this module too.
import { type FailureCategory, isRetryable } from '../jobs/categories.ts';
import type { TranscriptionAttempt } from './types.ts';

export const MAX_MESSAGE_CHARS = 500;

export interface ProviderErrorInit {
  category: FailureCategory;
  provider: string;
  message: string;
  status?: number;
  retryAfterMs?: number;
  /** The server's `x-should-retry` hint, when it sent one. */
  shouldRetry?: boolean;
  /** Extra values to scrub from the message (API keys the call used). */
  secrets?: readonly (string | undefined)[];
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly category: FailureCategory;
  readonly provider: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly shouldRetry?: boolean;
  /** Set by transcribe() when every provider failed, so the worker can store the comparison. */
  attempts?: TranscriptionAttempt[];

  constructor(init: ProviderErrorInit) {
    super(sanitizeMessage(init.message, init.secrets));
    this.category = init.category;
    this.provider = init.provider;
    if (init.status !== undefined) this.status = init.status;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.shouldRetry !== undefined) this.shouldRetry = init.shouldRetry;
  }

  get retryable(): boolean {
    return isRetryable(this.category);
  }

  /** The body a worker sends to POST /jobs/{id}/fail (plus hints it may use for backoff). */
  toFailure(): { category: FailureCategory; message: string; status?: number; retry_after_ms?: number } {
    return {
      category: this.category,
      message: this.message,
      ...(this.status !== undefined && { status: this.status }),
      ...(this.retryAfterMs !== undefined && { retry_after_ms: this.retryAfterMs }),
    };
  }
}

export const isProviderError = (e: unknown): e is ProviderError => e instanceof ProviderError;

// ---------------------------------------------------------------------------------
// Secret scrubbing

const SECRET_PATTERNS: [RegExp, string][] = [
  // userinfo in any URL: scheme://user:pass@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/\bsk-[A-Za-z0-9_-]{6,}/g, '[redacted]'],
  [/([?&](?:api[_-]?key|key|token|access_token|sig|signature|x-amz-signature)=)[^&\s#]+/gi, '$1[redacted]'],
];

/** Removes credentials and the given secret values from text and caps it at MAX_MESSAGE_CHARS. */
export function sanitizeMessage(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/\s+/g, ' ').trim();
  for (const s of secrets) {
    // Very short "secrets" would shred ordinary words.
    if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  }
  for (const [re, sub] of SECRET_PATTERNS) out = out.replace(re, sub);
  return out.length > MAX_MESSAGE_CHARS ? `${out.slice(0, MAX_MESSAGE_CHARS - 1)}…` : out;
}

/** A URL safe to mention: origin and path only (no userinfo, query or fragment). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '[invalid url]';
  }
}

/** Origin only, credentials stripped; for status pages. */
export function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------
// HTTP status classification

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const v = bag[name] ?? bag[Object.keys(bag).find((k) => k.toLowerCase() === name) ?? ''];
  return Array.isArray(v) ? v[0] : v;
}

const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * Delay hint from `retry-after-ms` (milliseconds) or `Retry-After` (seconds or an
 * HTTP date), capped at a day; undefined when absent or unreadable.
 */
export function parseRetryAfter(headers: HeaderBag | undefined, now = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms))
    return Math.min(Math.round(Number(ms)), MAX_RETRY_AFTER_MS);
  const ra = header(headers, 'retry-after')?.trim();
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra)) return Math.min(Math.round(Number(ra) * 1000), MAX_RETRY_AFTER_MS);
  const at = Date.parse(ra);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

interface ErrorBody {
  message?: string;
  code?: string;
  type?: string;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

/**
 * Reads the provider's error text from the shapes in use: vLLM/OpenAI `{"error":{message,type,code}}`,
 * older vLLM `{"object":"error","message",...}`, vLLM auth `{"error":"Unauthorized"}`,
 * FastAPI `{"detail": "..." | [{msg}]}`, or plain text.
 */
export function readErrorBody(text: string): ErrorBody {
  const trimmed = text.trim();
  if (!trimmed) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    // HTML error pages from proxies: keep the title-ish text only.
    return { message: trimmed.replace(/<[^>]*>/g, ' ').trim() };
  }
  if (!parsed || typeof parsed !== 'object') return { message: trimmed };
  const o = parsed as Record<string, unknown>;
  const err = o['error'];
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    return { message: str(e['message']), code: str(e['code']), type: str(e['type']) };
  }
  if (typeof err === 'string') return { message: err, code: str(o['code']), type: str(o['type']) };
  if (typeof o['message'] === 'string')
    return { message: o['message'], code: str(o['code']), type: str(o['type']) };
  const detail = o['detail'];
  if (typeof detail === 'string') return { message: detail };
  if (Array.isArray(detail)) {
    const msgs = detail.map((d) =>
      d && typeof d === 'object' ? str((d as Record<string, unknown>)['msg']) : str(d),
    );
    return { message: msgs.filter(Boolean).join('; ') };
  }
  return { message: trimmed };
}

const CONTEXT_LENGTH =
  /maximum context length|context length exceeded|context_length_exceeded|too many tokens/i;
// Billing-style exhaustion; a plain "rate limit" must not match.
const QUOTA =
  /insufficient_quota|exceeded your current quota|quota (?:has been )?exceeded|billing|credit balance|out of credits|payment required/i;

export interface HttpOutcome {
  provider: string;
  status: number;
  headers?: HeaderBag;
  body?: string;
  /** Where the call went, mentioned without credentials. */
  url?: string;
  secrets?: readonly (string | undefined)[];
  now?: number;
}

/** Category for a non-2xx answer. */
export function categoryForStatus(status: number, body: ErrorBody, hasRetryAfter: boolean): FailureCategory {
  const text = `${body.message ?? ''} ${body.code ?? ''} ${body.type ?? ''}`;
  if (status >= 400 && status < 500 && CONTEXT_LENGTH.test(text)) return 'context_length_exceeded';
  if (status === 402) return 'quota_exceeded';
  if (status === 429) return QUOTA.test(text) && !hasRetryAfter ? 'quota_exceeded' : 'rate_limited';
  if ((status === 401 || status === 403) && QUOTA.test(text)) return 'quota_exceeded';
  if (status === 401 || status === 403 || status === 407) return 'auth_error';
  if (status === 404) return 'model_not_found';
  if (status === 408) return 'timeout';
  if (status === 502 || status === 503 || status === 504) return 'provider_unavailable';
  if (status >= 500) return 'provider_error';
  // 400, 413, 415, 422 and the rest of 4xx: the request as sent will never be accepted.
  return 'invalid_input';
}

/** Turns a non-2xx HTTP answer into a ProviderError. */
export function classifyHttpError(o: HttpOutcome): ProviderError {
  const body = readErrorBody(o.body ?? '');
  const retryAfterMs = parseRetryAfter(o.headers, o.now);
  const category = categoryForStatus(o.status, body, retryAfterMs !== undefined);
  const shouldRetryHeader = header(o.headers, 'x-should-retry');
  const detail = body.message?.trim() || (o.body?.trim() ? '' : 'empty body');
  const where = o.url ? ` (${safeUrl(o.url)})` : '';
  return new ProviderError({
    category,
    provider: o.provider,
    status: o.status,
    message: `${o.provider} answered HTTP ${o.status}${where}${detail ? `: ${detail}` : ''}`,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    ...(shouldRetryHeader !== undefined && {
      shouldRetry: shouldRetryHeader.trim().toLowerCase() === 'true',
    }),
    ...(o.secrets && { secrets: o.secrets }),
  });
}

/** A 2xx whose body is not what the API promises. */
export function invalidOutput(provider: string, what: string, status = 200): ProviderError {
  return new ProviderError({ category: 'invalid_output', provider, status, message: `${provider}: ${what}` });
}

// ---------------------------------------------------------------------------------
// Network errors, deadlines and aborts

const UNAVAILABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'connect timed out',
  EHOSTUNREACH: 'host unreachable',
  EHOSTDOWN: 'host down',
  ENETUNREACH: 'network unreachable',
  ENETDOWN: 'network down',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  UND_ERR_SOCKET: 'connection dropped by the provider',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_CLOSED: 'client closed',
  UND_ERR_DESTROYED: 'client destroyed',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'response cut short',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'request cut short',
  ERR_STREAM_PREMATURE_CLOSE: 'response cut short',
};
const BUG_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'UND_ERR_NOT_SUPPORTED',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ABORT_ERR_TIMEOUT']);

/** Error codes along the cause chain (and inside AggregateErrors from happy-eyeballs connects). */
function errorCodes(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== 'object' || depth > 5) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown; name?: unknown };
  const out: string[] = [];
  if (typeof e.code === 'string') out.push(e.code);
  if (e.name === 'TimeoutError') out.push('ABORT_ERR_TIMEOUT');
  if (e.cause) out.push(...errorCodes(e.cause, depth + 1));
  if (Array.isArray(e.errors)) for (const inner of e.errors) out.push(...errorCodes(inner, depth + 1));
  return out;
}

export interface NetworkContext {
  provider: string;
  url?: string;
  /** Our own deadline fired. */
  timedOut?: boolean;
  timeoutMs?: number;
  /** The caller's AbortSignal fired (lease lost, cancel, shutdown). */
  callerAborted?: boolean;
  secrets?: readonly (string | undefined)[];
}

export function cancelledError(provider: string, reason?: unknown): ProviderError {
  const why =
    reason instanceof Error && reason.message
      ? `: ${reason.message}`
      : typeof reason === 'string'
        ? `: ${reason}`
        : '';
  return new ProviderError({
    category: 'cancelled',
    provider,
    message: `${provider}: call aborted by the caller${why}`,
  });
}

export function timeoutError(provider: string, timeoutMs?: number, url?: string): ProviderError {
  const after = timeoutMs !== undefined ? ` after ${timeoutMs} ms` : '';
  const where = url ? ` (${safeUrl(url)})` : '';
  return new ProviderError({
    category: 'timeout',
    provider,
    message: `${provider}: no answer${after}${where}`,
  });
}

/** Classifies a thrown network-level error (no HTTP status). */
export function classifyNetworkError(err: unknown, ctx: NetworkContext): ProviderError {
  if (err instanceof ProviderError) return err;
  // The caller's abort wins over everything: the worker must not record a failure it caused.
  if (ctx.callerAborted) return cancelledError(ctx.provider);
  if (ctx.timedOut) return timeoutError(ctx.provider, ctx.timeoutMs, ctx.url);
  const codes = errorCodes(err);
  const where = ctx.url ? ` (${safeUrl(ctx.url)})` : '';
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return timeoutError(ctx.provider, ctx.timeoutMs, ctx.url);
  const known = codes.find((c) => c in UNAVAILABLE_CODES);
  if (known) {
    return new ProviderError({
      category: 'provider_unavailable',
      provider: ctx.provider,
      message: `${ctx.provider}: ${UNAVAILABLE_CODES[known]}${where}`,
      ...(ctx.secrets && { secrets: ctx.secrets }),
    });
  }
  if (codes.includes('UND_ERR_ABORTED') || (err instanceof Error && err.name === 'AbortError')) {
    return cancelledError(ctx.provider);
  }
  const msg = err instanceof Error ? err.message : String(err);
  // Errors with a code come from the socket, TLS or undici's transport; anything else
  // (a TypeError, a bad argument) is a bug on our side and must not look like an outage.
  const transport = codes.length > 0 && !codes.some((c) => BUG_CODES.has(c));
  return new ProviderError({
    category: transport ? 'provider_unavailable' : 'internal',
    provider: ctx.provider,
    message: `${ctx.provider}: request failed${where}: ${msg}`,
    ...(ctx.secrets && { secrets: ctx.secrets }),
  });
}

/** Wraps anything thrown inside provider code; unknown errors are our bugs (`internal`). */
export function toProviderError(
  err: unknown,
  provider: string,
  secrets?: readonly (string | undefined)[],
): ProviderError {
  if (err instanceof ProviderError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new ProviderError({
    category: 'internal',
    provider,
    message: `${provider}: ${msg}`,
    ...(secrets && { secrets }),
  });
}
