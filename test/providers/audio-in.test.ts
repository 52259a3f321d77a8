// Audio in, as a phone system records it: real speech (espeak-ng) with a known text, in
// every format the brief names (sox/ffmpeg), through loadAudio and the audio LLM client
// to a loopback vLLM whose "model" hears each chunk (KnownWordsEar) and answers the words
// it holds. The fake checks what it receives: 16 kHz mono 16-bit WAV, ≤ 30 s per chunk.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_AUDIO_LLM_PROMPT } from '../../lib/config/schema.ts';
import { CHUNK_MAX_SEC, OVERLAP_SEC, planChunks, seamOverlap } from '../../lib/providers/audio-chunks.ts';
import { decodeAudio } from '../../lib/providers/audio-decode.ts';
import { loadAudio } from '../../lib/providers/audio-input.ts';
import { type AudioLlmOptions, transcribeAudioLlm } from '../../lib/providers/audio-llm.ts';
import { closeHttpPools } from '../../lib/providers/http.ts';
import { toBase64 } from '../support/fake-audio.ts';
import { CHAT_PATH, chatParts, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import {
  encodeAs,
  FORMATS,
  type Heard,
  KnownWordsEar,
  makeSpeech,
  type Speech,
  stereoWav,
  wavSamples,
} from '../support/fake-speech.ts';
import { failure } from '../support/provider-failure.ts';

const QWEN = 'Qwen/Qwen2-Audio-7B-Instruct';
const VOXTRAL = 'mistralai/Voxtral-Small-24B-2507';
const limits = { AUDIO_MAX_BYTES: 64 << 20, AUDIO_DOWNLOAD_TIMEOUT: 5000 };

let server: FakeOpenAI;
let speech: Speech;
let ear: KnownWordsEar;
/** What the fake model received and heard, per request, in order. */
let received: { model: string; sampleRate: number; channels: number; bits: number; heard: Heard }[] = [];

const options = (provider: AudioLlmOptions['provider']): AudioLlmOptions => ({
  provider,
  baseUrl: server.url,
  model: provider === 'qwen2-audio' ? QWEN : VOXTRAL,
  prompt: DEFAULT_AUDIO_LLM_PROMPT,
  maxTokens: 4096,
  timeoutMs: 10_000,
});

function audioBytes(url: string | undefined): Uint8Array {
  const m = /^data:audio\/wav;base64,(.*)$/.exec(url ?? '');
  if (!m) throw new Error(`not a WAV data URL: ${url?.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(m[1]!, 'base64'));
}

beforeAll(async () => {
  // ~64 s: three chunks for a 30 s model.
  speech = await makeSpeech({ words: 110, seed: 11 });
  ear = new KnownWordsEar([speech]);
  server = await startFakeOpenAI({ models: [QWEN, VOXTRAL] });
}, 60_000);
/** The fake model answers what the ear hears in each received chunk. */
function listen() {
  server.reset();
  received = [];
  server.setBehaviour((req) => {
    const parts = chatParts(req);
    const wav = wavSamples(audioBytes(parts.audioUrl));
    const heard = ear.hear(wav.samples);
    received.push({ model: (req.json as { model: string }).model, ...wav, heard });
    return { kind: 'answer', content: heard.words.join(' ') };
  });
}
beforeEach(listen);
afterAll(async () => {
  await server.close();
  await closeHttpPools();
});

describe('every format to 16 kHz mono PCM, cut at pauses, joined without lost or repeated words', () => {
  it.each(FORMATS)('%s', async (format) => {
    const bytes = await encodeAs(speech.wav, format);
    const audio = await loadAudio({ audio_base64: toBase64(bytes) }, limits);
    const t = await transcribeAudioLlm(audio, options('qwen2-audio'));

    expect(received.length).toBe(3);
    for (const r of received) {
      expect([r.sampleRate, r.channels, r.bits]).toEqual([16000, 1, 16]);
      expect(r.heard.durationSec).toBeLessThanOrEqual(CHUNK_MAX_SEC);
      expect(r.heard.durationSec).toBeGreaterThan(15); // balanced, no short tail
    }
    // Chunks follow each other and overlap by OVERLAP_SEC (the ear's 10 ms resolution, codec delay).
    for (let i = 1; i < received.length; i++) {
      const prev = received[i - 1]!.heard;
      const overlap = prev.offsetSec + prev.durationSec - received[i]!.heard.offsetSec;
      expect(Math.abs(overlap - OVERLAP_SEC)).toBeLessThan(0.06);
    }
    expect(t.text).toBe(speech.text);
    // Segment times are the decoded audio's: contiguous, from 0 to the full duration.
    expect(t.segments[0]!.start).toBe(0);
    expect(Math.abs(t.segments.at(-1)!.end - speech.durationSec)).toBeLessThan(0.1);
    for (let i = 1; i < t.segments.length; i++) expect(t.segments[i]!.start).toBe(t.segments[i - 1]!.end);
    // Each seam is in a pause: no word of the text spans it.
    for (const s of t.segments.slice(1)) {
      const cut = s.start;
      expect(speech.words.some((w) => w.start + 0.03 < cut && cut < w.end - 0.03)).toBe(false);
    }
  });
});

describe('speech without sentence pauses', () => {
  it('words the overlap sends twice are kept once, none lost', async () => {
    const dense = await makeSpeech({ words: 120, seed: 21, pauses: false });
    ear = new KnownWordsEar([dense]);
    try {
      const flac = await encodeAs(dense.wav, 'flac-48k');
      const t = await transcribeAudioLlm(
        await loadAudio({ audio_base64: toBase64(flac) }, limits),
        options('qwen2-audio'),
      );
      const sent = received.reduce((n, r) => n + r.heard.words.length, 0);
      expect(received.length).toBeGreaterThan(1);
      expect(sent).toBeGreaterThan(dense.words.length); // the overlap did repeat words…
      expect(t.text).toBe(dense.text); // …and the join kept each once
    } finally {
      ear = new KnownWordsEar([speech]);
    }
  });
});

describe('Qwen2-Audio and Voxtral get the same decoded audio', () => {
  it('same chunks byte for byte from an MP3; Voxtral segments end at the real duration (not 0)', async () => {
    const mp3 = await encodeAs(speech.wav, 'mp3-44k-stereo');
    const audio = await loadAudio({ audio_base64: toBase64(mp3), mime_type: 'audio/mpeg' }, limits);
    await transcribeAudioLlm(audio, options('qwen2-audio'));
    const qwenChunks = server.requestsTo(CHAT_PATH).map((r) => chatParts(r).audioUrl);
    listen();
    const v = await transcribeAudioLlm(audio, options('voxtral-small'));
    const voxtralChunks = server.requestsTo(CHAT_PATH).map((r) => chatParts(r).audioUrl);
    expect(voxtralChunks).toEqual(qwenChunks);
    expect(v.text).toBe(speech.text);
    expect(v.segments.at(-1)!.end).toBeGreaterThan(speech.durationSec - 0.1);
    expect(v.segments.every((s) => s.end > s.start)).toBe(true);
  });

  it('a 20 s MP3 needs no duration_sec', async () => {
    const short = await makeSpeech({ words: 40, seed: 3 });
    ear = new KnownWordsEar([short]);
    try {
      const mp3 = await encodeAs(short.wav, 'mp3-44k-stereo');
      const audio = await loadAudio({ audio_base64: toBase64(mp3) }, limits);
      const t = await transcribeAudioLlm(audio, options('qwen2-audio'));
      expect(received).toHaveLength(1);
      expect(t.text).toBe(short.text);
      expect(Math.abs(t.segments[0]!.end - short.durationSec)).toBeLessThan(0.1);
    } finally {
      ear = new KnownWordsEar([speech]);
    }
  });
});

describe('split_channels on stereo telephony', () => {
  it('transcribes each channel alone and labels its segments with the channel', async () => {
    const caller = await makeSpeech({ words: 30, seed: 5, leadSec: 0.5 });
    const agent = await makeSpeech({ words: 30, seed: 9, leadSec: 0.5 });
    // The agent answers after the caller: place the agent's speech 10 s later on its channel.
    const length = agent.samples.length + 10 * 16000;
    const left = new Int16Array(length);
    left.set(caller.samples);
    const right = new Int16Array(length);
    right.set(agent.samples, 10 * 16000);
    const shifted = agent.words.map((w) => ({ ...w, start: w.start + 10, end: w.end + 10 }));
    ear = new KnownWordsEar([
      { ...caller, samples: left },
      { ...agent, samples: right, words: shifted },
    ]);
    try {
      const ulaw = await encodeAs(stereoWav(left, right), 'wav-ulaw-8k');
      const audio = await loadAudio({ audio_base64: toBase64(ulaw), split_channels: true }, limits);
      const t = await transcribeAudioLlm(audio, options('voxtral-small'));
      expect(received.map((r) => r.heard.source)).toEqual([0, 1]);
      expect(received.every((r) => r.channels === 1 && r.sampleRate === 16000)).toBe(true);
      expect(t.segments.map((s) => [s.speaker, s.text])).toEqual([
        ['SPEAKER_00', caller.text],
        ['SPEAKER_01', agent.text],
      ]);
      expect(t.segments.map((s) => s.start)).toEqual(
        [...t.segments.map((s) => s.start)].sort((a, b) => a - b),
      );
    } finally {
      ear = new KnownWordsEar([speech]);
    }
  });

  it('without split_channels stereo is mixed to one mono track', async () => {
    const stereo = await encodeAs(speech.wav, 'wav-pcm16-44k-stereo');
    const t = await transcribeAudioLlm(
      await loadAudio({ audio_base64: toBase64(stereo) }, limits),
      options('qwen2-audio'),
    );
    expect(t.segments.every((s) => s.speaker === undefined)).toBe(true);
    expect(t.text).toBe(speech.text);
  });
});

describe('decoding failures', () => {
  it('bytes no decoder understands are a final invalid_input, no provider call', async () => {
    const audio = await loadAudio({ audio_base64: toBase64(new Uint8Array(4000).fill(7)) }, limits);
    const e = await failure(transcribeAudioLlm(audio, options('qwen2-audio')));
    expect(e.category).toBe('invalid_input');
    expect(e.message).toMatch(/could not be decoded/);
    expect(server.requestsTo(CHAT_PATH)).toHaveLength(0);
  });

  it('a worker without ffmpeg reports unsupported naming FFMPEG_PATH', async () => {
    const ulaw = await encodeAs(speech.wav, 'wav-ulaw-8k'); // 16 kHz PCM WAV would need no decoder
    const e = await failure(decodeAudio(ulaw, { ffmpegPath: '/nonexistent/ffmpeg' }));
    expect(e.category).toBe('unsupported');
    expect(e.message).toMatch(/FFMPEG_PATH/);
  });
});

describe('cut planning and seam joining', () => {
  it('continuous sound with no pause still gives ≤ 30 s chunks overlapping by exactly the overlap', () => {
    const rate = 16000;
    const s = new Int16Array(95 * rate);
    for (let i = 0; i < s.length; i++) s[i] = Math.round(8000 * Math.sin(i / 7));
    const plans = planChunks(s, rate);
    expect(plans.length).toBe(4);
    for (const p of plans) {
      expect(p.end - p.start).toBeLessThanOrEqual(30 * rate);
      expect(p.end - p.start).toBeGreaterThan(20 * rate);
    }
    for (let i = 1; i < plans.length; i++) {
      expect(plans[i - 1]!.end - plans[i]!.start).toBe(OVERLAP_SEC * rate);
      expect(plans[i]!.ownStart).toBe(plans[i - 1]!.ownEnd);
    }
    expect(plans.at(-1)!.end).toBe(s.length);
  });

  it('a pause within the search window is where the cut goes', () => {
    const rate = 16000;
    const s = new Int16Array(50 * rate).fill(5000);
    s.fill(0, 25 * rate, 25.2 * rate);
    const [first] = planChunks(s, rate);
    expect(first!.ownEnd / rate).toBeGreaterThan(25);
    expect(first!.ownEnd / rate).toBeLessThan(25.2);
    s.fill(5000);
    s.fill(0, 29.2 * rate, 29.4 * rate); // a pause past the window around the target (25 ± 4 s)
    expect(planChunks(s, rate)[0]!.ownEnd / rate).toBeLessThan(29.2);
  });

  it('drops only the words the overlap repeated', () => {
    expect(seamOverlap('a b c d'.split(' '), 'c d e f'.split(' '), 7)).toBe(2);
    expect(seamOverlap('a b c D.'.split(' '), 'd, e'.split(' '), 7)).toBe(1);
    expect(seamOverlap('a b c'.split(' '), 'x y'.split(' '), 7)).toBe(0);
    // A repetition longer than the overlap can hold is the speaker's, not ours.
    expect(seamOverlap('a b c d'.split(' '), 'a b c d'.split(' '), 3)).toBe(0);
  });
});
