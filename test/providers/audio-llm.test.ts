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
  it('is exactly model, max_tokens and one user message with the prompt and a data URL of the bytes', async () => {
    server.setBehaviour({ kind: 'answer', content: 'Алло, добрый день.' });
    const audio = wavInput(3);
    const t = await transcribeAudioLlm(audio, options('voxtral-small'));
    const req = server.last(CHAT_PATH)!;
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    const b64 = Buffer.from(audio.bytes).toString('base64');
    expect(req.json).toEqual({
      model: VOXTRAL,
      max_tokens: 4096,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: DEFAULT_AUDIO_LLM_PROMPT },
            { type: 'audio_url', audio_url: { url: `data:audio/wav;base64,${b64}` } },
          ],
        },
      ],
    });
    expect(chatParts(req).system).toBe(false);
    expect(t).toEqual({
      text: 'Алло, добрый день.',
      segments: [{ start: 0, end: 3, text: 'Алло, добрый день.' }],
      model: VOXTRAL,
    });
  });

  it('Voxtral gets long audio whole, in one request', async () => {
    await transcribeAudioLlm(wavInput(95), options('voxtral-small'));
    expect(server.requestsTo(CHAT_PATH)).toHaveLength(1);
  });

  it('non-WAV audio goes to Voxtral with its own MIME type', async () => {
    const mp3 = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 9, 8, 7]);
    const t = await transcribeAudioLlm(
      { bytes: mp3, mimeType: 'audio/mpeg', filename: 'a.mp3' },
      options('voxtral-small'),
    );
    const { audioUrl } = chatParts(server.last(CHAT_PATH));
    expect(audioUrl?.startsWith('data:audio/mpeg;base64,')).toBe(true);
    expect(audioBytes(audioUrl).equals(Buffer.from(mp3))).toBe(true);
    expect(t.segments).toEqual([{ start: 0, end: 0, text: 'fake answer' }]);
  });
});

describe('Qwen2-Audio', () => {
  it('sends audio up to 30 s as it is', async () => {
    const audio = wavInput(30);
    server.setBehaviour({ kind: 'answer', content: "The original content of this audio is: 'Hello there.'" });
    const t = await transcribeAudioLlm({ ...audio, language: 'en' }, options('qwen2-audio'));
    expect(server.requestsTo(CHAT_PATH)).toHaveLength(1);
    const req = server.last(CHAT_PATH)!;
    expect((req.json as { model: string }).model).toBe(QWEN);
    expect(audioBytes(chatParts(req).audioUrl).equals(Buffer.from(audio.bytes))).toBe(true);
    expect(t).toEqual({
      text: 'Hello there.',
      segments: [{ start: 0, end: 30, text: 'Hello there.' }],
      model: QWEN,
      language: 'en',
    });
  });

  it('splits 70 s WAV into three ≤ 30 s WAV requests and makes one segment per chunk', async () => {
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
      expect(audioUrl?.startsWith('data:audio/wav;base64,')).toBe(true);
      const info = parseWav(audioBytes(audioUrl));
      expect(info.durationSec).toBeLessThanOrEqual(30);
      expect(info.sampleRate).toBe(8000);
      expect((r.json as { max_tokens: number }).max_tokens).toBe(4096);
    }
    const third = 70 / 3;
    expect(t.segments.map((s) => [s.start, s.end])).toEqual([
      [0, 23.333],
      [23.333, 46.667],
      [46.667, 70],
    ]);
    expect(t.segments[0]!.text).toBe(`part of ${third.toFixed(3)} s`);
    expect(t.text).toBe(t.segments.map((s) => s.text).join(' '));
  });

  it('refuses non-WAV audio of unknown length as unsupported without calling', async () => {
    const e = await failure(
      transcribeAudioLlm(
        { bytes: new Uint8Array([0x4f, 0x67, 0x67, 0x53, 1, 2]), mimeType: 'audio/ogg', filename: 'a.ogg' },
        options('qwen2-audio'),
      ),
    );
    expect(e.category).toBe('unsupported');
    expect(e.message).toMatch(/30 s.*only WAV can be split/);
    expect(server.requestsTo(CHAT_PATH)).toHaveLength(0);
  });

  it('sends short non-WAV audio when the caller says it is short, refuses it when long', async () => {
    const ogg = {
      bytes: new Uint8Array([0x4f, 0x67, 0x67, 0x53, 1, 2]),
      mimeType: 'audio/ogg',
      filename: 'a.ogg',
    };
    await transcribeAudioLlm({ ...ogg, durationSec: 12 }, options('qwen2-audio'));
    expect(server.requestsTo(CHAT_PATH)).toHaveLength(1);
    expect(
      (await failure(transcribeAudioLlm({ ...ogg, durationSec: 45 }, options('qwen2-audio')))).category,
    ).toBe('unsupported');
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
});

describe('cleanTranscript', () => {
  it("strips Qwen's wrapper and whitespace but keeps plain answers", () => {
    expect(cleanTranscript(" The original content of this audio is: 'Привет, мир.' ")).toBe('Привет, мир.');
    expect(cleanTranscript('the original content of this audio is: "Hi"')).toBe('Hi');
    expect(cleanTranscript('  Just text. ')).toBe('Just text.');
  });
});
