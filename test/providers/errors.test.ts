// The classifier: every provider outcome lands in the category the worker acts on.
import { describe, expect, it } from 'vitest';
import {
  classifyHttpError,
  classifyNetworkError,
  MAX_MESSAGE_CHARS,
  ProviderError,
  parseRetryAfter,
  readErrorBody,
  safeOrigin,
  safeUrl,
  sanitizeMessage,
} from '../../lib/providers/errors.ts';

const nested = (message: string, code: number | string = 400) =>
  JSON.stringify({ error: { message, type: 'X', param: null, code } });
const topLevel = (message: string, code = 400) =>
  JSON.stringify({ object: 'error', message, type: 'X', param: null, code });
const http = (status: number, body = '', headers: Record<string, string> = {}) =>
  classifyHttpError({ provider: 'llm', status, body, headers });

describe('classifyHttpError', () => {
  it.each([
    [502, 'provider_unavailable'],
    [503, 'provider_unavailable'],
    [504, 'provider_unavailable'],
    [500, 'provider_error'],
    [501, 'provider_error'],
    [507, 'provider_error'],
    [429, 'rate_limited'],
    [400, 'invalid_input'],
    [422, 'invalid_input'],
    [413, 'invalid_input'],
    [401, 'auth_error'],
    [403, 'auth_error'],
    [404, 'model_not_found'],
    [402, 'quota_exceeded'],
    [408, 'timeout'],
  ] as const)('HTTP %i → %s', (status, category) => {
    const e = http(status, nested('boom', status));
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.category).toBe(category);
    expect(e.status).toBe(status);
    expect(e.provider).toBe('llm');
  });

  it('recognises the context window message in both vLLM error shapes', () => {
    const msg = "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens.";
    expect(http(400, nested(msg)).category).toBe('context_length_exceeded');
    expect(http(400, topLevel(msg)).category).toBe('context_length_exceeded');
    expect(http(400, nested(msg)).message).toContain('maximum context length is 32768');
    expect(http(400, topLevel('messages: field required')).category).toBe('invalid_input');
    expect(http(400, topLevel('messages: field required')).message).toContain('messages: field required');
  });

  it('tells quota exhaustion from rate limiting', () => {
    const quota = nested(
      'You exceeded your current quota, please check your plan and billing details.',
      'insufficient_quota',
    );
    expect(http(429, quota).category).toBe('quota_exceeded');
    expect(http(403, nested('Monthly quota exceeded')).category).toBe('quota_exceeded');
    expect(http(429, nested('Rate limit reached for requests')).category).toBe('rate_limited');
    // A server that says when to come back is rate limiting, whatever it calls it.
    expect(
      http(429, nested('Quota exceeded for requests per minute'), { 'retry-after': '20' }).category,
    ).toBe('rate_limited');
  });

  it('classifies 500 with an empty body as provider_error and says so', () => {
    const e = http(500, '');
    expect(e.category).toBe('provider_error');
    expect(e.message).toBe('llm answered HTTP 500: empty body');
  });

  it('keeps Retry-After and x-should-retry hints', () => {
    const e = http(429, nested('slow down'), { 'retry-after': '7', 'x-should-retry': 'true' });
    expect(e.retryAfterMs).toBe(7000);
    expect(e.shouldRetry).toBe(true);
    expect(e.retryable).toBe(true);
    expect(e.toFailure()).toEqual({
      category: 'rate_limited',
      message: 'llm answered HTTP 429: slow down',
      status: 429,
      retry_after_ms: 7000,
    });
    expect(http(503, 'down', { 'retry-after': '3' }).retryAfterMs).toBe(3000);
  });

  it('reads FastAPI, vLLM auth, plain-text and HTML error bodies', () => {
    expect(readErrorBody('{"detail":"Not authenticated"}').message).toBe('Not authenticated');
    expect(readErrorBody('{"detail":[{"msg":"Field required"},{"msg":"bad"}]}').message).toBe(
      'Field required; bad',
    );
    expect(readErrorBody('{"error":"Unauthorized"}').message).toBe('Unauthorized');
    expect(readErrorBody('Internal Server Error').message).toBe('Internal Server Error');
    expect(readErrorBody('<html><h1>502 Bad Gateway</h1></html>').message).toBe('502 Bad Gateway');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads seconds, HTTP dates and retry-after-ms', () => {
    expect(parseRetryAfter({ 'retry-after': '2' }, now)).toBe(2000);
    expect(parseRetryAfter({ 'Retry-After': '1.5' }, now)).toBe(1500);
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).toBe(30_000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }, now)).toBe(0);
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': '4' }), now)).toBe(4000);
  });
  it('ignores absent or unreadable values and caps absurd ones', () => {
    expect(parseRetryAfter({}, now)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': '99999999' }, now)).toBe(24 * 3_600_000);
  });
});

describe('classifyNetworkError', () => {
  const sys = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.1:8000`), { code });
  it.each([
    ['ECONNREFUSED', 'provider_unavailable'],
    ['ECONNRESET', 'provider_unavailable'],
    ['ENOTFOUND', 'provider_unavailable'],
    ['UND_ERR_SOCKET', 'provider_unavailable'],
    ['UND_ERR_CONNECT_TIMEOUT', 'provider_unavailable'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
  ] as const)('%s → %s', (code, category) => {
    expect(classifyNetworkError(sys(code), { provider: 'llm' }).category).toBe(category);
  });

  it('finds codes in causes and AggregateErrors (fetch, happy eyeballs)', () => {
    const fetchFailed = new TypeError('fetch failed', { cause: sys('ECONNREFUSED') });
    expect(classifyNetworkError(fetchFailed, { provider: 'x' }).category).toBe('provider_unavailable');
    const agg = new AggregateError([sys('ECONNREFUSED'), sys('ECONNREFUSED')]);
    expect(classifyNetworkError(agg, { provider: 'x' }).message).toContain('connection refused');
  });

  it('treats code-less errors as our bugs (internal) and TLS failures as unavailable', () => {
    expect(classifyNetworkError(new TypeError('x is not a function'), { provider: 'x' }).category).toBe(
      'internal',
    );
    const tls = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' });
    expect(classifyNetworkError(tls, { provider: 'x' }).category).toBe('provider_unavailable');
  });

  it('puts the caller abort before the deadline, and the deadline before the error seen', () => {
    const err = sys('UND_ERR_ABORTED');
    expect(classifyNetworkError(err, { provider: 'x', callerAborted: true, timedOut: true }).category).toBe(
      'cancelled',
    );
    expect(classifyNetworkError(err, { provider: 'x', timedOut: true, timeoutMs: 50 }).message).toBe(
      'x: no answer after 50 ms',
    );
    expect(classifyNetworkError(sys('ECONNRESET'), { provider: 'x', timedOut: true }).category).toBe(
      'timeout',
    );
  });
});

describe('secrets and message length', () => {
  it('strips URL userinfo, bearer tokens, sk- keys, key query parameters and given secrets', () => {
    const text =
      'failed http://admin:hunter2@10.2.3.5:8003/v1 with Bearer abc.def-ghi and sk-live1234567890 ' +
      'see https://x.test/a?api_key=zzz&b=1 and my-own-secret-value';
    const out = sanitizeMessage(text, ['my-own-secret-value']);
    for (const s of ['hunter2', 'admin', 'abc.def-ghi', 'sk-live1234567890', 'zzz', 'my-own-secret-value']) {
      expect(out).not.toContain(s);
    }
    expect(out).toContain('http://10.2.3.5:8003/v1');
  });

  it('caps messages at 500 characters, even from huge provider bodies', () => {
    const e = http(500, nested('x'.repeat(10_000)));
    expect(e.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
  });

  it('never mentions credentials of the URL it reports', () => {
    const e = classifyHttpError({
      provider: 'llm',
      status: 502,
      body: '',
      url: 'http://u:secretpw@h:1/v1/chat?key=k',
    });
    expect(e.message).not.toContain('secretpw');
    expect(e.message).toContain('http://h:1/v1/chat');
    expect(safeUrl('https://a:b@host/p?q=1#f')).toBe('https://host/p');
    expect(safeOrigin('https://a:b@host:8443/p')).toBe('https://host:8443');
  });

  it('redacts a key the server echoes back', () => {
    const e = classifyHttpError({
      provider: 'llm',
      status: 401,
      body: nested('Incorrect API key provided: key-ABCDEFGH123'),
      secrets: ['key-ABCDEFGH123'],
    });
    expect(e.category).toBe('auth_error');
    expect(e.message).not.toContain('key-ABCDEFGH123');
  });
});
