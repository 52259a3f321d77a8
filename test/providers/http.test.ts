// The outbound HTTP helper: keep-alive pools, deadlines vs the caller's abort, size caps.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  closeHttpPools,
  dispatcherFor,
  encodeMultipart,
  Multipart,
  postJson,
  request,
} from '../../lib/providers/http.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { parseMultipart } from '../support/fake-server.ts';
import { failure } from '../support/provider-failure.ts';

let srv: FakeOpenAI;

beforeAll(async () => {
  srv = await startFakeOpenAI();
});
beforeEach(() => srv.reset());
afterAll(async () => {
  await srv.close();
  await closeHttpPools();
});

describe('request', () => {
  it('keeps one pool per origin and reuses its connection', async () => {
    expect(dispatcherFor(`${srv.url}/a`)).toBe(dispatcherFor(`${srv.url}/b?x=1`));
    for (let i = 0; i < 6; i++) await request({ url: `${srv.url}/health`, timeoutMs: 1000 });
    // undici may alternate between two sockets, but it must not open one per call.
    const ports = new Set(srv.requestsTo('/health').map((r) => r.remotePort));
    expect(ports.size).toBeLessThanOrEqual(2);
  });

  it('sends JSON bodies with content-type and parses any JSON answer', async () => {
    const res = await postJson({
      url: `${srv.url}/v1/chat/completions`,
      body: { model: 'm', messages: [] },
      timeoutMs: 1000,
    });
    expect(res.status).toBe(200);
    expect(srv.last()!.headers['content-type']).toBe('application/json');
    expect(srv.last()!.json).toEqual({ model: 'm', messages: [] });
  });

  it('turns URL credentials into Basic auth instead of sending them in the URL', async () => {
    await request({ url: srv.url.replace('http://', 'http://me:p%40ss@') + '/health', timeoutMs: 1000 });
    expect(srv.last()!.headers.authorization).toBe(`Basic ${Buffer.from('me:p@ss').toString('base64')}`);
  });

  it('distinguishes our deadline (timeout) from the caller abort (cancelled)', async () => {
    srv.setBehaviour({ kind: 'hang' }, '/slow');
    const t = await failure(request({ url: `${srv.url}/slow`, timeoutMs: 80, provider: 'p' }));
    expect(t.category).toBe('timeout');
    expect(t.message).toBe(`p: no answer after 80 ms (${srv.url}/slow)`);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const c = await failure(
      request({ url: `${srv.url}/slow`, timeoutMs: 5000, signal: ac.signal, provider: 'p' }),
    );
    expect(c.category).toBe('cancelled');
  });

  it('a deadline also covers a body that stalls after the headers; a cut body is provider_unavailable', async () => {
    srv.setBehaviour({ kind: 'stall_mid_body' }, '/stall');
    expect((await failure(request({ url: `${srv.url}/stall`, timeoutMs: 100 }))).category).toBe('timeout');
    srv.setBehaviour({ kind: 'drop_mid_body' }, '/cut');
    expect((await failure(request({ url: `${srv.url}/cut`, timeoutMs: 1000 }))).category).toBe(
      'provider_unavailable',
    );
  });

  it('caps success bodies (invalid_output by default) and still reads error bodies', async () => {
    srv.setBehaviour({ kind: 'status', status: 200, body: 'x'.repeat(5000) }, '/big');
    expect(
      (await failure(request({ url: `${srv.url}/big`, timeoutMs: 1000, maxResponseBytes: 1000 }))).category,
    ).toBe('invalid_output');
    srv.setBehaviour({ kind: 'error', status: 500, message: 'y'.repeat(200_000) }, '/bigerr');
    const e = await failure(request({ url: `${srv.url}/bigerr`, timeoutMs: 1000 }));
    expect(e.category).toBe('provider_error');
    expect(e.message.length).toBeLessThanOrEqual(500);
  });

  it('follows redirects only for guarded downloads', async () => {
    srv.setBehaviour({ kind: 'status', status: 302, headers: { location: '/target' } }, '/moved');
    srv.setBehaviour({ kind: 'status', status: 200, body: 'here' }, '/target');
    expect((await request({ url: `${srv.url}/moved`, timeoutMs: 1000, guard: {} })).text).toBe('here');
    expect((await failure(request({ url: `${srv.url}/moved`, timeoutMs: 1000 }))).status).toBe(302);
  });

  it('an invalid URL is our bug (internal), not an outage', async () => {
    expect((await failure(request({ url: 'not a url', timeoutMs: 1000 }))).category).toBe('internal');
  });
});

describe('multipart', () => {
  it('encodes fields and files that a server parses back byte for byte', async () => {
    const bytes = new Uint8Array([0, 1, 2, 13, 10, 45, 45, 255]);
    const m = new Multipart([
      { name: 'audio_file', value: bytes, filename: 'a "b".wav', contentType: 'audio/wav' },
      { name: 'language', value: 'ru' },
    ]);
    const { body, contentType } = encodeMultipart(m);
    const parsed = parseMultipart(Buffer.from(body), contentType);
    expect(parsed.fields).toEqual({ language: 'ru' });
    expect(parsed.files['audio_file']?.bytes.equals(Buffer.from(bytes))).toBe(true);
    expect(parsed.files['audio_file']?.filename).toBe('a %22b%22.wav');
    srv.setBehaviour({ kind: 'status', status: 204 }, '/upload');
    await request({ url: `${srv.url}/upload`, method: 'POST', body: m, timeoutMs: 1000 });
    expect(srv.last()!.files?.['audio_file']?.contentType).toBe('audio/wav');
    expect(srv.last()!.headers['content-length']).toBe(String(body.byteLength));
  });
});
