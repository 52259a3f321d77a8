// Loading job audio: base64, data URLs, downloads with a byte cap, sniffing WAV.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadAudio, sniffAudioMime } from '../../lib/providers/audio-input.ts';
import { closeHttpPools } from '../../lib/providers/http.ts';
import { makeWav, toBase64 } from '../support/fake-audio.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { failure } from '../support/provider-failure.ts';

// Any fake serves files: its `status` behaviour answers raw bytes on any path.
let host: FakeOpenAI;
const limits = { AUDIO_MAX_BYTES: 64 * 1024, AUDIO_DOWNLOAD_TIMEOUT: 1000 };
const wav = makeWav({ seconds: 1, sampleRate: 8000 });
const mp3 = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 1, 2, 3]);

beforeAll(async () => {
  host = await startFakeOpenAI();
});
beforeEach(() => host.reset());
afterAll(async () => {
  await host.close();
  await closeHttpPools();
});

describe('loadAudio from audio_base64', () => {
  it('decodes bytes, keeps the declared type and the language', async () => {
    const a = await loadAudio(
      { audio_base64: toBase64(mp3), mime_type: 'audio/mpeg', language: 'RU' },
      limits,
    );
    expect(Buffer.from(a.bytes).equals(Buffer.from(mp3))).toBe(true);
    expect(a).toMatchObject({ mimeType: 'audio/mpeg', filename: 'audio.mp3', language: 'ru' });
  });

  it('sniffs WAV whatever the declared MIME type says', async () => {
    const a = await loadAudio({ audio_base64: toBase64(wav), mime_type: 'audio/mpeg' }, limits);
    expect(a.mimeType).toBe('audio/wav');
    expect(a.filename).toBe('audio.wav');
  });

  it('accepts a data URL and a duration hint', async () => {
    const a = await loadAudio(
      { audio_base64: `data:audio/ogg;base64,${toBase64(wav)}`, duration_sec: 1 },
      limits,
    );
    expect(a.mimeType).toBe('audio/wav');
    expect(a.durationSec).toBe(1);
    expect(a.bytes.byteLength).toBe(wav.byteLength);
  });

  it.each([
    ['no audio', {}],
    ['bad base64', { audio_base64: '!!not base64!!' }],
    ['empty base64', { audio_base64: '' }],
    ['over the cap', { audio_base64: toBase64(new Uint8Array(70 * 1024)) }],
    ['bad language', { audio_base64: toBase64(wav), language: 'not a language' }],
    ['non-http url', { audio_url: 'file:///etc/passwd' }],
    ['unparsable url', { audio_url: 'http://' }],
  ])('refuses %s as invalid_input', async (_n, input) => {
    expect((await failure(loadAudio(input, limits))).category).toBe('invalid_input');
  });
});

describe('loadAudio from audio_url', () => {
  it('downloads once, sniffs WAV over a wrong content type, names the file from the path', async () => {
    host.setBehaviour(
      {
        kind: 'status',
        status: 200,
        body: Buffer.from(wav),
        headers: { 'content-type': 'application/octet-stream' },
      },
      '/calls/42.wav',
    );
    const a = await loadAudio({ audio_url: `${host.url}/calls/42.wav?sig=abc`, language: 'en' }, limits);
    expect(Buffer.from(a.bytes).equals(Buffer.from(wav))).toBe(true);
    expect(a).toMatchObject({ mimeType: 'audio/wav', filename: '42.wav', language: 'en' });
    expect(host.requestsTo('/calls/42.wav')).toHaveLength(1);
    expect(host.last()!.query['sig']).toBe('abc');
  });

  it('uses the server content type for non-WAV audio', async () => {
    host.setBehaviour(
      { kind: 'status', status: 200, body: Buffer.from(mp3), headers: { 'content-type': 'audio/mpeg' } },
      '/a',
    );
    expect((await loadAudio({ audio_url: `${host.url}/a` }, limits)).mimeType).toBe('audio/mpeg');
  });

  it('over AUDIO_MAX_BYTES is invalid_input', async () => {
    host.setBehaviour({ kind: 'status', status: 200, body: Buffer.alloc(70 * 1024) }, '/big');
    const e = await failure(loadAudio({ audio_url: `${host.url}/big` }, limits));
    expect(e.category).toBe('invalid_input');
    expect(e.message).toContain('larger than');
  });

  it('a missing file is invalid_input, a failing host provider_unavailable, a hung one timeout', async () => {
    expect((await failure(loadAudio({ audio_url: `${host.url}/nope` }, limits))).category).toBe(
      'invalid_input',
    );
    host.setBehaviour({ kind: 'empty', status: 502 }, '/bad');
    expect((await failure(loadAudio({ audio_url: `${host.url}/bad` }, limits))).category).toBe(
      'provider_unavailable',
    );
    host.setBehaviour({ kind: 'hang' }, '/slow');
    const e = await failure(
      loadAudio({ audio_url: `${host.url}/slow` }, { ...limits, AUDIO_DOWNLOAD_TIMEOUT: 100 }),
    );
    expect(e.category).toBe('timeout');
  });

  it('an unreachable host is provider_unavailable and its credentials stay out of the message', async () => {
    const gone = await startFakeOpenAI();
    const port = new URL(gone.url).port;
    await gone.close();
    const e = await failure(
      loadAudio({ audio_url: `http://u:topsecret@127.0.0.1:${port}/a.wav?token=t0k` }, limits),
    );
    expect(e.category).toBe('provider_unavailable');
    expect(e.message).not.toContain('topsecret');
    expect(e.message).not.toContain('t0k');
  });

  it('the caller abort during a download is cancelled', async () => {
    host.setBehaviour({ kind: 'hang' }, '/slow');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    expect((await failure(loadAudio({ audio_url: `${host.url}/slow` }, limits, ac.signal))).category).toBe(
      'cancelled',
    );
  });
});

describe('sniffAudioMime', () => {
  it('knows the common containers', () => {
    const bytes = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
    expect(sniffAudioMime(wav)).toBe('audio/wav');
    expect(sniffAudioMime(mp3)).toBe('audio/mpeg');
    expect(sniffAudioMime(bytes('OggS....'))).toBe('audio/ogg');
    expect(sniffAudioMime(bytes('fLaC....'))).toBe('audio/flac');
    expect(sniffAudioMime(bytes('....ftypM4A '))).toBe('audio/mp4');
    expect(sniffAudioMime(bytes('hello'))).toBeUndefined();
  });
});
