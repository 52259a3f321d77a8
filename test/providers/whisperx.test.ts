// The whisper-asr-webservice client against a loopback fake speaking the same contract.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../lib/providers/errors.ts';
import { closeHttpPools } from '../../lib/providers/http.ts';
import type { AudioInput } from '../../lib/providers/types.ts';
import { parseAsrResponse, transcribeWhisperX } from '../../lib/providers/whisperx.ts';
import { makeWav } from '../support/fake-audio.ts';
import { ASR_PATH, type FakeWhisperX, startFakeWhisperX } from '../support/fake-whisperx.ts';
import { failure } from '../support/provider-failure.ts';

let wx: FakeWhisperX;
const audio: AudioInput = {
  bytes: makeWav({ seconds: 1, sampleRate: 8000 }),
  mimeType: 'audio/wav',
  filename: 'call.wav',
};

beforeAll(async () => {
  wx = await startFakeWhisperX();
});
beforeEach(() => wx.reset());
afterAll(async () => {
  await wx.close();
  await closeHttpPools();
});

describe('transcribeWhisperX', () => {
  it('posts audio_file as multipart with the documented query and parses the text/plain JSON', async () => {
    wx.setBehaviour({
      kind: 'answer',
      segments: [
        { start: 0, end: 1.25, text: ' Добрый день.', speaker: 'SPEAKER_00' },
        { start: 1.25, end: 3, text: ' Здравствуйте.', speaker: 'SPEAKER_01' },
      ],
    });
    const t = await transcribeWhisperX(
      { ...audio, language: 'ru' },
      { url: wx.url, timeoutMs: 2000, diarize: true },
    );
    const req = wx.last(ASR_PATH)!;
    expect(req.method).toBe('POST');
    expect(req.query).toEqual({
      task: 'transcribe',
      output: 'json',
      word_timestamps: 'true',
      language: 'ru',
      diarize: 'true',
    });
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const file = req.files?.['audio_file'];
    expect(file?.filename).toBe('call.wav');
    expect(file?.contentType).toBe('audio/wav');
    expect(file?.bytes.equals(Buffer.from(audio.bytes))).toBe(true);
    expect(t).toEqual({
      text: 'Добрый день. Здравствуйте.',
      segments: [
        { start: 0, end: 1.25, text: 'Добрый день.', speaker: 'SPEAKER_00' },
        { start: 1.25, end: 3, text: 'Здравствуйте.', speaker: 'SPEAKER_01' },
      ],
      language: 'ru',
      model: 'whisperx',
    });
  });

  it('leaves language and diarize out when not asked, and joins segments when text is absent', async () => {
    wx.setBehaviour({ kind: 'answer', text: null, language: 'en' });
    const t = await transcribeWhisperX(audio, { url: `${wx.url}/`, timeoutMs: 2000 });
    expect(wx.last(ASR_PATH)!.query).toEqual({ task: 'transcribe', output: 'json', word_timestamps: 'true' });
    expect(t.text).toBe('Hello, this is a test call. Thank you for calling.');
    expect(t.segments[0]).toEqual({ start: 0, end: 2.5, text: 'Hello, this is a test call.' });
    expect(t.segments[0]).not.toHaveProperty('speaker');
  });

  it.each([
    [
      '500 plain text',
      { kind: 'error', status: 500, message: 'Internal Server Error', shape: 'text' },
      'provider_error',
    ],
    ['500 empty', { kind: 'empty' }, 'provider_error'],
    ['503', { kind: 'status', status: 503 }, 'provider_unavailable'],
    ['422 detail', { kind: 'error', status: 422, message: 'bad audio' }, 'invalid_input'],
    [
      'garbage',
      { kind: 'garbage', body: 'Traceback (most recent call last):', contentType: 'text/plain' },
      'invalid_output',
    ],
    ['JSON without segments', { kind: 'status', status: 200, body: { text: 'hi' } }, 'invalid_output'],
    ['drop', { kind: 'drop' }, 'provider_unavailable'],
  ] as const)('%s → %s', async (_n, behaviour, category) => {
    wx.queue(behaviour);
    const e = await failure(transcribeWhisperX(audio, { url: wx.url, timeoutMs: 2000 }));
    expect(e.category).toBe(category);
    expect(e.provider).toBe('whisperx');
  });

  it('times out on a hung server and is cancelled by the caller', async () => {
    wx.setBehaviour({ kind: 'hang' });
    expect((await failure(transcribeWhisperX(audio, { url: wx.url, timeoutMs: 100 }))).category).toBe(
      'timeout',
    );
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const e = await failure(transcribeWhisperX(audio, { url: wx.url, timeoutMs: 5000, signal: ac.signal }));
    expect(e.category).toBe('cancelled');
  });
});

describe('parseAsrResponse', () => {
  it('rejects segments without numeric times', () => {
    expect(() => parseAsrResponse({ segments: [{ start: '0', end: 1, text: 'x' }] })).toThrow(/segment 0/);
    expect(() => parseAsrResponse([])).toThrow(ProviderError);
  });
});
