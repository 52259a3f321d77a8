// Real speech with a known text and known word times, for the audio-in tests.
//
//   const speech = await makeSpeech({ words: 160, seed: 7 });   // espeak-ng voice, 16 kHz mono
//   speech.text; speech.words[i] = { word, start, end } (seconds); speech.samples (Int16Array)
//   const file = await encodeAs(speech.wav, 'mp3');             // sox/ffmpeg: any format of the tests
//   const ear = new KnownWordsEar([speech]);                     // a fake "recogniser"
//   ear.hear(wavBytesTheProviderReceived) → the words that chunk holds
//
// espeak-ng speaks each word of a small vocabulary once; the text is those clips laid out
// in a seeded order with short gaps between words and longer pauses between sentences, so
// every word's time is known exactly. The ear locates a received chunk in the original by
// correlating 10 ms energy envelopes (robust to resampling and lossy codecs: it never sees
// offsets, only audio) and answers the words at least half inside the chunk, as a model
// that transcribes what it hears would. Needs espeak-ng, sox and ffmpeg (installed by .ci/run).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pcmWav } from '../../lib/providers/audio-decode.ts';
import { parseWav } from '../../lib/providers/wav.ts';

const run = promisify(execFile);
const RATE = 16_000;

export const VOCABULARY = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliet',
  'kilo',
  'lima',
  'mike',
  'november',
  'oscar',
  'papa',
  'quebec',
  'romeo',
  'sierra',
  'tango',
];

export interface TimedWord {
  word: string;
  start: number;
  end: number;
}

export interface Speech {
  samples: Int16Array;
  wav: Uint8Array;
  words: TimedWord[];
  text: string;
  durationSec: number;
}

/** 16-bit PCM samples of a mono WAV. */
export function wavSamples(bytes: Uint8Array): {
  samples: Int16Array;
  sampleRate: number;
  channels: number;
  bits: number;
} {
  const info = parseWav(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset + info.dataOffset, info.dataLength);
  const samples = new Int16Array(info.frames);
  if (info.bitsPerSample === 16)
    for (let i = 0; i < info.frames; i++) samples[i] = view.getInt16(i * info.blockAlign, true);
  return { samples, sampleRate: info.sampleRate, channels: info.channels, bits: info.bitsPerSample };
}

const clipCache = new Map<string, Int16Array>();

/** One word spoken by espeak-ng at 16 kHz, leading and trailing silence trimmed. */
async function speakWord(word: string, dir: string): Promise<Int16Array> {
  const cached = clipCache.get(word);
  if (cached) return cached;
  const raw = join(dir, `${word}.22k.wav`);
  const out = join(dir, `${word}.wav`);
  await run('espeak-ng', ['-v', 'en', '-s', '170', '-w', raw, word]);
  await run('sox', [raw, '-r', String(RATE), '-b', '16', '-c', '1', out]);
  const { samples } = wavSamples(new Uint8Array(await readFile(out)));
  let a = 0;
  let b = samples.length;
  while (a < b && Math.abs(samples[a]!) < 300) a++;
  while (b > a && Math.abs(samples[b - 1]!) < 300) b--;
  const clip = samples.slice(a, b);
  clipCache.set(word, clip);
  return clip;
}

/** Seeded words with gaps: 60–140 ms between words, 450–700 ms between sentences of 5–11 words. */
export async function makeSpeech(opts: {
  words: number;
  seed?: number;
  leadSec?: number;
  /** false: one long sentence, only the short gaps between words (no easy place to cut). */
  pauses?: boolean;
}): Promise<Speech> {
  const dir = await mkdtemp(join(tmpdir(), 'speech-'));
  try {
    const clips = new Map<string, Int16Array>();
    await Promise.all(VOCABULARY.map(async (w) => clips.set(w, await speakWord(w, dir))));
    let seed = opts.seed ?? 1;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const parts: { word: string; at: number; clip: Int16Array }[] = [];
    let at = Math.round((opts.leadSec ?? 0.3) * RATE);
    let inSentence = 0;
    let sentenceLength = 5 + Math.floor(rand() * 7);
    for (let i = 0; i < opts.words; i++) {
      const word = VOCABULARY[Math.floor(rand() * VOCABULARY.length)]!;
      const clip = clips.get(word)!;
      parts.push({ word, at, clip });
      at += clip.length;
      if (++inSentence >= sentenceLength && opts.pauses !== false) {
        inSentence = 0;
        sentenceLength = 5 + Math.floor(rand() * 7);
        at += Math.round((0.45 + rand() * 0.25) * RATE);
      } else at += Math.round((0.06 + rand() * 0.08) * RATE);
    }
    const samples = new Int16Array(at + Math.round(0.3 * RATE));
    for (const p of parts) samples.set(p.clip, p.at);
    const words = parts.map((p) => ({
      word: p.word,
      start: p.at / RATE,
      end: (p.at + p.clip.length) / RATE,
    }));
    return {
      samples,
      wav: pcmWav(samples, RATE),
      words,
      text: words.map((w) => w.word).join(' '),
      durationSec: samples.length / RATE,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export type Format =
  | 'wav-pcm16-44k-stereo'
  | 'wav-pcm16-22k'
  | 'wav-ulaw-8k'
  | 'wav-alaw-8k'
  | 'wav-gsm-8k'
  | 'wav-ima-adpcm-8k'
  | 'mp3-44k-stereo'
  | 'ogg-opus-48k'
  | 'flac-48k';

export const FORMATS: Format[] = [
  'wav-pcm16-44k-stereo',
  'wav-pcm16-22k',
  'wav-ulaw-8k',
  'wav-alaw-8k',
  'wav-gsm-8k',
  'wav-ima-adpcm-8k',
  'mp3-44k-stereo',
  'ogg-opus-48k',
  'flac-48k',
];

/** The WAV (any channels) converted by sox (ffmpeg for Opus, which sox cannot write). */
export async function encodeAs(wav: Uint8Array, format: Format): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'enc-'));
  try {
    const src = join(dir, 'in.wav');
    await writeFile(src, wav);
    const ext = format.startsWith('mp3')
      ? 'mp3'
      : format.startsWith('ogg')
        ? 'ogg'
        : format.startsWith('flac')
          ? 'flac'
          : 'wav';
    const dst = join(dir, `out.${ext}`);
    // -D: no dither, so the same input always gives the same file (sox dithers with
    // random noise by default when it lowers the bit depth, as for µ-law and ADPCM).
    const sox = (...args: string[]) => run('sox', ['-D', src, ...args, dst]);
    switch (format) {
      case 'wav-pcm16-44k-stereo':
        await sox('-r', '44100', '-c', '2', '-b', '16');
        break;
      case 'wav-pcm16-22k':
        await sox('-r', '22050', '-b', '16');
        break;
      case 'wav-ulaw-8k':
        await sox('-r', '8000', '-e', 'u-law');
        break;
      case 'wav-alaw-8k':
        await sox('-r', '8000', '-e', 'a-law');
        break;
      case 'wav-gsm-8k':
        await sox('-r', '8000', '-c', '1', '-e', 'gsm-full-rate');
        break;
      case 'wav-ima-adpcm-8k':
        await sox('-r', '8000', '-e', 'ima-adpcm');
        break;
      case 'mp3-44k-stereo':
        await sox('-r', '44100', '-c', '2');
        break;
      case 'flac-48k':
        await sox('-r', '48000');
        break;
      case 'ogg-opus-48k':
        await run('ffmpeg', ['-loglevel', 'error', '-y', '-i', src, '-c:a', 'libopus', '-b:a', '32k', dst]);
        break;
    }
    return new Uint8Array(await readFile(dst));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Two mono 16 kHz tracks as one stereo PCM WAV (channel 0 left). */
export function stereoWav(left: Int16Array, right: Int16Array): Uint8Array {
  const n = Math.max(left.length, right.length);
  const out = new Uint8Array(44 + n * 4);
  const v = new DataView(out.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  v.setUint32(4, out.byteLength - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 2, true);
  v.setUint32(24, RATE, true);
  v.setUint32(28, RATE * 4, true);
  v.setUint16(32, 4, true);
  v.setUint16(34, 16, true);
  put(36, 'data');
  v.setUint32(40, n * 4, true);
  for (let i = 0; i < n; i++) {
    v.setInt16(44 + i * 4, left[i] ?? 0, true);
    v.setInt16(46 + i * 4, right[i] ?? 0, true);
  }
  return out;
}

const FRAME = RATE / 100; // 10 ms

function envelope(s: Int16Array): Float64Array {
  const n = Math.floor(s.length / FRAME);
  const e = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    let sum = 0;
    for (let i = f * FRAME; i < (f + 1) * FRAME; i++) sum += s[i]! * s[i]!;
    e[f] = Math.log10(1 + sum / FRAME);
  }
  return e;
}

export interface Heard {
  /** Which speech (index into the ear's list) the chunk came from. */
  source: number;
  /** Where the chunk starts in that speech, seconds (10 ms resolution). */
  offsetSec: number;
  durationSec: number;
  words: string[];
}

/** A fake recogniser that knows the speeches it may be sent parts of. */
export class KnownWordsEar {
  private readonly envelopes: Float64Array[];
  constructor(private readonly speeches: Speech[]) {
    this.envelopes = speeches.map((s) => envelope(s.samples));
  }

  /** The words of a received 16 kHz mono chunk. */
  hear(samples: Int16Array): Heard {
    const env = envelope(samples);
    let best = { source: 0, lag: 0, score: Number.POSITIVE_INFINITY };
    for (const [source, ref] of this.envelopes.entries()) {
      for (let lag = 0; lag + env.length <= ref.length; lag++) {
        let d = 0;
        for (let i = 0; i < env.length && d < best.score * env.length; i++)
          d += Math.abs(ref[lag + i]! - env[i]!);
        const score = d / env.length;
        if (score < best.score) best = { source, lag, score };
      }
    }
    const offsetSec = best.lag / 100;
    const durationSec = samples.length / RATE;
    const from = offsetSec;
    const to = offsetSec + durationSec;
    const words = this.speeches[best.source]!.words.filter((w) => {
      const inside = Math.min(w.end, to) - Math.max(w.start, from);
      return inside >= (w.end - w.start) / 2;
    });
    return { source: best.source, offsetSec, durationSec, words: words.map((w) => w.word) };
  }
}
