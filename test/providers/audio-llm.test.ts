// Audio chat models (Qwen2-Audio, Voxtral): request bodies field by field, 30 s splitting.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_AUDIO_LLM_PROMPT } from '../../lib/config/schema.ts';
import { type AudioLlmOptions, cleanTranscript, transcribeAudioLlm } from '../../lib/providers/audio-llm.ts';
import { closeHttpPools } from '../../lib/providers/http.ts';
import type { AudioInput } from '../../lib/providers/types.ts';
import { parseWav } from '../../lib/providers/wav.ts';
import { makeWav } from '../support/fake-audio.ts';
import { CHAT_PATH, chatParts, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { failure } from '../support/provider-failure.ts';

const QWEN = 'Qwen/Qwen2-Audio-7B-Instruct';
const VOXTRAL = 'mistralai/Voxtral-Small-24B-2507';
const KEY = 'audio-key-abcdef';
let server: FakeOpenAI;

const options = (provider: AudioLlmOptions['provider']): AudioLlmOptions => ({
  provider,
  baseUrl: server.url,
  apiKey: KEY,
  model: provider === 'qwen2-audio' ? QWEN : VOXTRAL,
  prompt: DEFAULT_AUDIO_LLM_PROMPT,
  maxTokens: 4096,
  timeoutMs: 2000,
});

const wavInput = (seconds: number): AudioInput => ({
  bytes: makeWav({ seconds, sampleRate: 8000 }),
  mimeType: 'audio/wav',
  filename: 'call.wav',
});

/** Bytes inside a recorded request's data URL. */
function audioBytes(url: string | undefined): Buffer {
  const m = /^data:([^;]+);base64,(.*)$/.exec(url ?? '');
  if (!m) throw new Error(`not a data URL: ${url?.slice(0, 40)}`);
  return Buffer.from(m[2]!, 'base64');
}

beforeAll(async () => {
  server = await startFakeOpenAI({ models: [QWEN, VOXTRAL], apiKey: KEY });
});
beforeEach(() => server.reset());
afterAll(async () => {
  await server.close();
  await closeHttpPools();
});

describe('audio chat request body', () => {
  it('is exactly model, max_tokens and one user message with the prompt and a data URL of 16 kHz mono WAV', async () => {
    server.setBehaviour({ kind: 'answer', content: 'Алло, добрый день.' });
    const audio = wavInput(3);
    const t = await transcribeAudioLlm(audio, options('voxtral-small'));
    const req = server.last(CHAT_PATH)!;
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    const url = chatParts(req).audioUrl!;
    expect(req.json).toEqual({
      model: VOXTRAL,
      max_tokens: 4096,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: DEFAULT_AUDIO_LLM_PROMPT },
            { type: 'audio_url', audio_url: { url } },
          ],
        },
      ],
    });
    expect(url.startsWith('data:audio/wav;base64,')).toBe(true);
    const info = parseWav(audioBytes(url));
    expect([info.format, info.sampleRate, info.channels, info.bitsPerSample]).toEqual([1, 16000, 1, 16]);
    expect(info.durationSec).toBeCloseTo(3, 2);
    expect(chatParts(req).system).toBe(false);
    expect(t).toEqual({
      text: 'Алло, добрый день.',
      segments: [{ start: 0, end: 3, text: 'Алло, добрый день.' }],
      model: VOXTRAL,
    });
  });
});

describe('long audio', () => {
  it('70 s goes in three ≤ 30 s chunks, one contiguous segment per chunk', async () => {
    server.setBehaviour((req) => {
      const info = parseWav(audioBytes(chatParts(req).audioUrl));
      return { kind: 'answer', content: `part of ${info.durationSec.toFixed(3)} s` };
    });
    const t = await transcribeAudioLlm(wavInput(70), options('qwen2-audio'));
    const reqs = server.requestsTo(CHAT_PATH);
    expect(reqs).toHaveLength(3);
    for (const r of reqs) {
      const { text, audioUrl, system } = chatParts(r);
      expect(text).toBe(DEFAULT_AUDIO_LLM_PROMPT);
      expect(system).toBe(false);
      const info = parseWav(audioBytes(audioUrl));
      expect(info.durationSec).toBeLessThanOrEqual(30);
      expect(info.sampleRate).toBe(16000);
      expect((r.json as { max_tokens: number }).max_tokens).toBe(4096);
    }
    expect(t.segments).toHaveLength(3);
    expect(t.segments[0]!.start).toBe(0);
    expect(t.segments[2]!.end).toBeCloseTo(70, 2);
    expect(t.segments[1]!.start).toBe(t.segments[0]!.end);
    expect(t.segments[2]!.start).toBe(t.segments[1]!.end);
    expect(t.text).toBe(t.segments.map((s) => s.text).join(' '));
  });

  it('Voxtral gets the same chunks (segment ends are real times)', async () => {
    let n = 0;
    server.setBehaviour(() => ({ kind: 'answer', content: `chunk ${++n}` }));
    const t = await transcribeAudioLlm(wavInput(70), options('voxtral-small'));
    expect(server.requestsTo(CHAT_PATH)).toHaveLength(3);
    expect(t.segments.at(-1)!.end).toBeCloseTo(70, 2);
    expect(t.text).toBe('chunk 1 chunk 2 chunk 3');
  });

  it('a chunk failure fails the provider, with the category of that failure', async () => {
    server.queue({ kind: 'answer' }, { kind: 'empty', status: 503 });
    const e = await failure(transcribeAudioLlm(wavInput(70), options('qwen2-audio')));
    expect(e.category).toBe('provider_unavailable');
    expect(e.provider).toBe('qwen2-audio');
    expect(server.requestsTo(CHAT_PATH)).toHaveLength(2);
  });

  it('stops between chunks when the caller aborts', async () => {
    const ac = new AbortController();
    server.setBehaviour(() => {
      ac.abort();
      return { kind: 'answer', content: 'x' };
    });
    const e = await failure(
      transcribeAudioLlm(wavInput(70), { ...options('qwen2-audio'), signal: ac.signal }),
    );
    expect(e.category).toBe('cancelled');
    expect(server.requestsTo(CHAT_PATH).length).toBeLessThanOrEqual(1);
  });

  it('silent stretches are not sent (a model would invent words for them)', async () => {
    const silent = makeWav({ seconds: 70, sampleRate: 8000 }).fill(0, 44);
    const t = await transcribeAudioLlm(
      { bytes: silent, mimeType: 'audio/wav', filename: 's.wav' },
      options('qwen2-audio'),
    );
    expect(server.requestsTo(CHAT_PATH)).toHaveLength(0);
    expect(t).toEqual({ text: '', segments: [], model: QWEN });
  });
});

describe('cleanTranscript', () => {
  it("strips Qwen's wrapper and whitespace but keeps plain answers", () => {
    expect(cleanTranscript(" The original content of this audio is: 'Привет, мир.' ")).toBe('Привет, мир.');
    expect(cleanTranscript('the original content of this audio is: "Hi"')).toBe('Hi');
    expect(cleanTranscript('  Just text. ')).toBe('Just text.');
  });
});
