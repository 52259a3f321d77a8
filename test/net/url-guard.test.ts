// The URL guard: rules on names and literal addresses, the resolved address checked at
// connect time (one resolution per connection: no rebinding window), and every redirect
// hop of a real loopback redirector checked, through loadAudio as a worker runs it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allowListWarning,
  checkUrl,
  parseAllowedHosts,
  type UrlPolicy,
  UrlRefused,
} from '../../lib/net/url-guard.ts';
import { audioUrlPolicy, loadAudio } from '../../lib/providers/audio-input.ts';
import { closeHttpPools, request } from '../../lib/providers/http.ts';
import { makeWav } from '../support/fake-audio.ts';
import { failure } from '../support/provider-failure.ts';

const wav = makeWav({ seconds: 0.5, sampleRate: 8000 });
let server: Server;
let base: string;
let port: number;
const hits: string[] = [];

beforeAll(async () => {
  // A redirector and file host in one: /file serves audio, /to?u=<url> redirects there,
  // /chain/<n> redirects n more times before /file.
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    hits.push(u.pathname);
    if (u.pathname === '/file') {
      res.writeHead(200, { 'content-type': 'audio/wav' }).end(Buffer.from(wav));
    } else if (u.pathname === '/to') {
      res.writeHead(302, { location: u.searchParams.get('u') ?? '/' }).end();
    } else if (u.pathname.startsWith('/chain/')) {
      const n = Number(u.pathname.slice(7));
      res.writeHead(307, { location: n > 0 ? `/chain/${n - 1}` : '/file' }).end();
    } else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await closeHttpPools();
  await new Promise((ok) => server.close(ok));
});

const limits = (allowed?: string) => ({
  AUDIO_MAX_BYTES: 1 << 20,
  AUDIO_DOWNLOAD_TIMEOUT: 2000,
  ...(allowed !== undefined && { AUDIO_URL_ALLOWED_HOSTS: allowed }),
});

function rule(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof UrlRefused) return e.rule;
    throw e;
  }
}

describe('checkUrl', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[fd00:ec2::254]/latest/', 'metadata'],
    ['http://100.100.100.200/', 'metadata'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['http://METADATA.google.internal./x', 'metadata'],
    ['http://169.254.10.1/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://[::ffff:a9fe:a9fe]/', 'metadata'],
    ['http://0.0.0.0:8080/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['file:///etc/passwd', 'scheme'],
    ['gopher://x/', 'scheme'],
  ])('refuses %s by rule %s even without an allow-list', (url, expected) => {
    expect(rule(() => checkUrl(url))).toBe(expected);
    expect(rule(() => checkUrl(url, { allowedHosts: ['*.internal', '169.254.169.254'] }))).toBe(expected);
  });

  it('allows any other host when no allow-list is set (today callers keep working)', () => {
    for (const u of ['https://recordings.example.com/a.wav', 'http://10.0.0.5/x', 'http://127.0.0.1:9/x']) {
      expect(rule(() => checkUrl(u))).toBeUndefined();
    }
  });

  it('with an allow-list: exact hosts, host:port, *.domain; anything else is refused by allow-list', () => {
    const p: UrlPolicy = {
      allowedHosts: parseAllowedHosts(' Rec.Example.com, *.store.net ,127.0.0.1:9000')!,
    };
    expect(rule(() => checkUrl('https://rec.example.com/a.wav', p))).toBeUndefined();
    expect(rule(() => checkUrl('https://eu.store.net/a.wav', p))).toBeUndefined();
    expect(rule(() => checkUrl('http://127.0.0.1:9000/a', p))).toBeUndefined();
    expect(rule(() => checkUrl('http://127.0.0.1:9001/a', p))).toBe('allow-list');
    expect(rule(() => checkUrl('https://store.net.evil.com/a', p))).toBe('allow-list');
    expect(rule(() => checkUrl('https://example.com/a', p))).toBe('allow-list');
  });

  it('warns at start only when the allow-list is unset', () => {
    expect(allowListWarning(undefined)).toMatch(/AUDIO_URL_ALLOWED_HOSTS is not set/);
    expect(allowListWarning(' , ')).toMatch(/not set/);
    expect(allowListWarning('rec.example.com')).toBeUndefined();
  });
});

describe('audio_url through the guard (loopback redirector)', () => {
  it('downloads from an allowed host, following redirects on it', async () => {
    const a = await loadAudio({ audio_url: `${base}/chain/3` }, limits('127.0.0.1'));
    expect(Buffer.from(a.bytes).equals(Buffer.from(wav))).toBe(true);
  });

  it('a redirect to the metadata address is a final invalid_input naming the rule, never fetched', async () => {
    const e = await failure(
      loadAudio(
        { audio_url: `${base}/to?u=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}` },
        limits(),
      ),
    );
    expect(e.category).toBe('invalid_input');
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/audio_url refused by rule metadata/);
  });

  it('a redirect to a host off the allow-list is refused by allow-list, before connecting', async () => {
    hits.length = 0;
    const e = await failure(
      loadAudio(
        { audio_url: `${base}/to?u=${encodeURIComponent(`http://localhost:${port}/file`)}` },
        limits('127.0.0.1'),
      ),
    );
    expect(e.category).toBe('invalid_input');
    expect(e.message).toMatch(/rule allow-list: host localhost is not in AUDIO_URL_ALLOWED_HOSTS/);
    expect(hits).toEqual(['/to']); // the second hop never reached the server
  });

  it('the first URL off the allow-list is refused without any request', async () => {
    hits.length = 0;
    const e = await failure(loadAudio({ audio_url: `${base}/file` }, limits('rec.example.com')));
    expect(e.message).toMatch(/rule allow-list/);
    expect(hits).toEqual([]);
  });

  it('stops after too many redirects', async () => {
    const e = await failure(loadAudio({ audio_url: `${base}/chain/9` }, limits('127.0.0.1')));
    expect(e.category).toBe('invalid_input');
    expect(e.message).toMatch(/more than 5 redirects/);
  });
});

describe('resolved addresses are checked at connect time', () => {
  it('a name resolving to a link-local address is refused; one resolution per connection', async () => {
    const asked: string[] = [];
    let answer = '127.0.0.1';
    const policy: UrlPolicy = {
      allowedHosts: ['files.test'],
      resolve: async (host) => {
        asked.push(host);
        return [{ address: answer, family: 4 }];
      },
    };
    const url = `http://files.test:${port}/file`;
    const ok = await request({ url, timeoutMs: 2000, guard: policy, urlLabel: 'audio_url' });
    expect(ok.bytes.byteLength).toBe(wav.byteLength);
    expect(asked).toEqual(['files.test']);

    // The same name now answers with the metadata address (DNS rebinding): a new
    // connection is refused by what it resolves to, not by an earlier check.
    answer = '169.254.169.254';
    await closeHttpPools(); // drop the kept-alive socket so the next request connects anew
    const e = await failure(request({ url, timeoutMs: 2000, guard: policy, urlLabel: 'audio_url' }));
    expect(e.category).toBe('invalid_input');
    expect(e.message).toMatch(/audio_url refused by rule metadata: address 169.254.169.254/);
    expect(asked).toEqual(['files.test', 'files.test']);
  });

  it('the policy per allow-list value is one object (the agent and its sockets are reused)', () => {
    expect(audioUrlPolicy('a.example')).toBe(audioUrlPolicy('a.example'));
    expect(audioUrlPolicy(undefined).allowedHosts).toBeUndefined();
  });
});

describe('413 on routes that carry audio', () => {
  it('names audio_url on job creation and batches, and stays plain elsewhere', async () => {
    const { tooLargeText } = await import('../../lib/net/too-large-hint.ts');
    for (const path of ['/api/v1/jobs', '/api/v1/jobs/batch']) {
      const t = tooLargeText('POST', path, 1_048_576);
      expect(t.message).toMatch(/^request body exceeds 1048576 bytes .*input\.audio_url/);
      expect(t.details).toEqual({ limit_bytes: 1_048_576, hint: expect.stringMatching(/audio_url/) });
    }
    expect(tooLargeText('POST', '/api/v1/jobs/claim', 1024)).toEqual({
      message: 'request body exceeds 1024 bytes',
      details: { limit_bytes: 1024 },
    });
  });
});
