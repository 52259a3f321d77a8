// A/B transcription across providers: order, attempts, skipped providers, failures, abort.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.ts';
import { closeHttpPools } from '../../lib/providers/http.ts';
import { compareChoice, transcribe } from '../../lib/providers/transcribe.ts';
import { makeWav, toBase64 } from '../support/fake-audio.ts';
import { CHAT_PATH, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { ASR_PATH, type FakeWhisperX, startFakeWhisperX } from '../support/fake-whisperx.ts';
import { failure } from '../support/provider-failure.ts';

const QWEN = 'Qwen/Qwen2-Audio-7B-Instruct';
const VOXTRAL = 'mistralai/Voxtral-Small-24B-2507';
let wx: FakeWhisperX;
let qwen: FakeOpenAI;
let voxtral: FakeOpenAI;

const config = (env: Record<string, string> = {}) =>
  loadConfig({
    TRANSCRIPTION_PROVIDERS: 'whisperx,qwen2-audio,voxtral-small',
    WHISPERX_URL: wx.url,
    QWEN_AUDIO_BASE_URL: qwen.url,
    VOXTRAL_BASE_URL: voxtral.url,
    AUDIO_LLM_API_KEY: 'shared-audio-key',
    VOXTRAL_API_KEY: 'voxtral-own-key',
    WHISPERX_TIMEOUT: '2s',
    AUDIO_LLM_TIMEOUT: '2s',
    ...env,
  });
const input = {
  audio_base64: toBase64(makeWav({ seconds: 5, sampleRate: 8000 })),
  mime_type: 'audio/wav',
  call_id: 'c1',
};

beforeAll(async () => {
  [wx, qwen, voxtral] = await Promise.all([
    startFakeWhisperX(),
    startFakeOpenAI({ models: [QWEN], apiKey: 'shared-audio-key' }),
    startFakeOpenAI({ models: [VOXTRAL], apiKey: 'voxtral-own-key' }),
  ]);
});
beforeEach(() => {
  wx.reset();
  qwen.reset();
  voxtral.reset();
  qwen.setBehaviour({ kind: 'answer', content: 'qwen text' });
  voxtral.setBehaviour({ kind: 'answer', content: 'voxtral text' });
});
afterAll(async () => {
  await Promise.all([wx.close(), qwen.close(), voxtral.close()]);
  await closeHttpPools();
});

describe('transcribe', () => {
  it('compare "inline": runs every provider in order; main result from the first success', async () => {
    wx.setBehaviour({
      kind: 'answer',
      segments: [{ start: 0, end: 5, text: ' whisper text', speaker: 'SPEAKER_00' }],
      language: 'ru',
    });
    const r = await transcribe({ ...input, compare: 'inline' }, config());
    expect(r).toMatchObject({
      text: 'whisper text',
      segments: [{ start: 0, end: 5, text: 'whisper text', speaker: 'SPEAKER_00' }],
      language: 'ru',
      provider: 'whisperx',
      model: 'whisperx',
    });
    expect(r.attempts.map((a) => [a.provider, a.model, a.status, a.text])).toEqual([
      ['whisperx', 'whisperx', 'completed', 'whisper text'],
      ['qwen2-audio', QWEN, 'completed', 'qwen text'],
      ['voxtral-small', VOXTRAL, 'completed', 'voxtral text'],
    ]);
    for (const a of r.attempts) {
      expect(a.error).toBeNull();
      expect(a.duration_ms).toBeGreaterThanOrEqual(0);
    }
    expect(r.attempts[1]!.segments).toEqual([{ start: 0, end: 5, text: 'qwen text' }]);
    // Each provider saw the same audio exactly once; keys fell back as the spec says.
    expect(wx.requestsTo(ASR_PATH)).toHaveLength(1);
    expect(qwen.last(CHAT_PATH)!.headers.authorization).toBe('Bearer shared-audio-key');
    expect(voxtral.last(CHAT_PATH)!.headers.authorization).toBe('Bearer voxtral-own-key');
  });

  it('compare "inline": takes the main segments from the second provider when the first fails, and records all three', async () => {
    wx.setBehaviour({ kind: 'empty' });
    const r = await transcribe({ ...input, compare: 'inline' }, config());
    expect(r.provider).toBe('qwen2-audio');
    expect(r.model).toBe(QWEN);
    expect(r.text).toBe('qwen text');
    expect(r.segments).toEqual([{ start: 0, end: 5, text: 'qwen text' }]);
    expect(r.attempts).toHaveLength(3);
    expect(r.attempts[0]).toMatchObject({
      provider: 'whisperx',
      status: 'failed',
      text: '',
      segments: [],
      error: { category: 'provider_error', status: 500 },
    });
    expect(r.attempts[1]!.status).toBe('completed');
    expect(r.attempts[2]).toMatchObject({
      provider: 'voxtral-small',
      status: 'completed',
      text: 'voxtral text',
    });
  });

  it('deferred (default): stops at the first success; the providers after it are pending and not called', async () => {
    wx.setBehaviour({ kind: 'empty' });
    const r = await transcribe(input, config());
    expect(r).toMatchObject({ provider: 'qwen2-audio', text: 'qwen text', comparison: 'pending' });
    expect(r.attempts.map((a) => [a.provider, a.status, a.error?.category ?? null])).toEqual([
      ['whisperx', 'failed', 'provider_error'],
      ['qwen2-audio', 'completed', null],
      ['voxtral-small', 'pending', null],
    ]);
    expect(r.attempts[1]).toMatchObject({ audio_duration_sec: 5, word_count: 2, agreement: {} });
    expect(r.attempts[1]!.rtf).toBeCloseTo(r.attempts[1]!.duration_ms / 5000, 3);
    expect(r.attempts[2]).toMatchObject({ text: '', segments: [], duration_ms: 0, error: null });
    expect(voxtral.requestsTo(CHAT_PATH)).toHaveLength(0);
  });

  it('not sampled: the providers after the first success are skipped and comparison is skipped', async () => {
    const r = await transcribe(input, config({ TRANSCRIPTION_COMPARE_SAMPLE: '0' }));
    expect(r.comparison).toBe('skipped');
    expect(r.attempts.map((a) => [a.provider, a.status, a.error])).toEqual([
      ['whisperx', 'completed', null],
      ['qwen2-audio', 'skipped', null],
      ['voxtral-small', 'skipped', null],
    ]);
    expect(qwen.requests).toHaveLength(0);
    expect(voxtral.requests).toHaveLength(0);
  });

  it('compareChoice: per-job compare and compare_sample, the configured rate, the draw', () => {
    const c = (env: Record<string, string> = {}) => config(env);
    const never = () => 0.999;
    const always = () => 0;
    expect(compareChoice({}, c())).toEqual({ mode: 'deferred', sampled: true });
    expect(compareChoice({}, c({ TRANSCRIPTION_COMPARE_SAMPLE: '0' }), always)).toEqual({
      mode: 'deferred',
      sampled: false,
    });
    expect(compareChoice({}, c({ TRANSCRIPTION_COMPARE_SAMPLE: '0.25' }), () => 0.2).sampled).toBe(true);
    expect(compareChoice({}, c({ TRANSCRIPTION_COMPARE_SAMPLE: '0.25' }), () => 0.3).sampled).toBe(false);
    expect(
      compareChoice({ compare_sample: 1 }, c({ TRANSCRIPTION_COMPARE_SAMPLE: '0' }), never).sampled,
    ).toBe(true);
    expect(compareChoice({ compare_sample: 0 }, c(), always).sampled).toBe(false);
    // An explicit inline request compares unless the job itself says otherwise.
    expect(compareChoice({ compare: 'inline' }, c({ TRANSCRIPTION_COMPARE_SAMPLE: '0' }), never)).toEqual({
      mode: 'inline',
      sampled: true,
    });
    expect(compareChoice({ compare: 'inline', compare_sample: 0 }, c(), always).sampled).toBe(false);
    for (const bad of [
      { compare: 'later' },
      { compare: true },
      { compare_sample: 1.5 },
      { compare_sample: '1' },
    ]) {
      expect(() => compareChoice(bad, c())).toThrow(/compare/);
    }
    expect(() => config({ TRANSCRIPTION_COMPARE_SAMPLE: '2' })).toThrow(/TRANSCRIPTION_COMPARE_SAMPLE/);
  });

  it('records a listed provider without a URL as skipped', async () => {
    const r = await transcribe(input, config({ QWEN_AUDIO_BASE_URL: '' }));
    expect(r.attempts[1]).toEqual({
      provider: 'qwen2-audio',
      model: QWEN,
      status: 'skipped',
      text: '',
      segments: [],
      duration_ms: 0,
      error: {
        category: 'unsupported',
        message: 'qwen2-audio is listed in TRANSCRIPTION_PROVIDERS but QWEN_AUDIO_BASE_URL is not set',
      },
    });
    expect(qwen.requests).toHaveLength(0);
    expect(r.provider).toBe('whisperx');
  });

  it('runs only the configured providers, in the configured order', async () => {
    const r = await transcribe(input, config({ TRANSCRIPTION_PROVIDERS: 'voxtral-small,whisperx' }));
    expect(r.attempts.map((a) => a.provider)).toEqual(['voxtral-small', 'whisperx']);
    expect(r.provider).toBe('voxtral-small');
    expect(qwen.requests).toHaveLength(0);
  });

  it('when all fail, throws the most actionable category with the attempts attached', async () => {
    wx.setBehaviour({ kind: 'error', status: 422, message: 'bad audio' });
    qwen.setBehaviour({ kind: 'rate_limited', retryAfter: 9 });
    voxtral.setBehaviour({ kind: 'error', status: 401, message: 'no' });
    const e = await failure(transcribe(input, config()));
    expect(e.category).toBe('rate_limited');
    expect(e.retryAfterMs).toBe(9000);
    expect(e.message).toContain(
      'whisperx: invalid_input, qwen2-audio: rate_limited, voxtral-small: auth_error',
    );
    expect(e.message.length).toBeLessThanOrEqual(500);
    expect(e.attempts?.map((a) => [a.provider, a.status, a.error?.category])).toEqual([
      ['whisperx', 'failed', 'invalid_input'],
      ['qwen2-audio', 'failed', 'rate_limited'],
      ['voxtral-small', 'failed', 'auth_error'],
    ]);
  });

  it('prefers configuration errors over job errors when nothing is retryable', async () => {
    wx.setBehaviour({ kind: 'error', status: 422, message: 'bad audio' });
    const e = await failure(
      transcribe(
        input,
        config({ TRANSCRIPTION_PROVIDERS: 'whisperx,voxtral-small', VOXTRAL_API_KEY: 'wrong-key' }),
      ),
    );
    expect(e.category).toBe('auth_error');
    expect(e.message).not.toContain('wrong-key');
  });

  it('with no provider configured fails as unsupported', async () => {
    const e = await failure(
      transcribe(input, config({ TRANSCRIPTION_PROVIDERS: 'whisperx', WHISPERX_URL: '' })),
    );
    expect(e.category).toBe('unsupported');
    expect(e.attempts?.[0]?.status).toBe('skipped');
  });

  it('an abort stops the loop at once with cancelled and no later provider runs', async () => {
    const ac = new AbortController();
    wx.setBehaviour({ kind: 'hang' });
    setTimeout(() => ac.abort(new Error('lease lost')), 50);
    const e = await failure(transcribe(input, config(), ac.signal));
    expect(e.category).toBe('cancelled');
    expect(e.attempts).toHaveLength(1);
    expect(e.attempts?.[0]?.error?.category).toBe('cancelled');
    expect(qwen.requests).toHaveLength(0);
    expect(voxtral.requests).toHaveLength(0);
  });

  it('a provider timeout is recorded and the next provider still runs', async () => {
    wx.setBehaviour({ kind: 'hang' });
    const r = await transcribe(
      input,
      config({ WHISPERX_TIMEOUT: '100ms', TRANSCRIPTION_PROVIDERS: 'whisperx,voxtral-small' }),
    );
    expect(r.attempts[0]!.error?.category).toBe('timeout');
    expect(r.provider).toBe('voxtral-small');
  });

  it('bad audio input fails before any provider runs', async () => {
    const e = await failure(transcribe({ audio_base64: '***' }, config()));
    expect(e.category).toBe('invalid_input');
    expect(wx.requests).toHaveLength(0);
  });

  it('passes language and diarize to WhisperX', async () => {
    await transcribe(
      { ...input, language: 'ru', diarize: true },
      config({ TRANSCRIPTION_PROVIDERS: 'whisperx' }),
    );
    expect(wx.last(ASR_PATH)!.query).toMatchObject({ language: 'ru', diarize: 'true' });
  });
});
