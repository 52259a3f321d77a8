// Transcription through audio chat models served by vLLM (Qwen2-Audio, Voxtral): the
// audio goes as an `audio_url` data URL in a user message with the instruction as a text
// part. No system message: Voxtral rejects one. Both models get the same audio: the job's
// bytes decoded once (audio-decode.ts) to 16 kHz mono PCM WAV, cut into ≤ 30 s chunks at
// pauses with a small overlap (audio-chunks.ts; Qwen2-Audio silently drops anything past
// 30 s), the answers joined without the words the overlap repeats. Segment times come from
// the decoded audio, whatever the input format. With `split_channels` each channel of a
// stereo call is transcribed on its own and its segments carry the channel as speaker.

import { CHUNK_MAX_SEC, maxSeamWords, planChunks, seamOverlap } from './audio-chunks.ts';
import { decodedAudio, monoMix, pcmWav } from './audio-decode.ts';
import { type ChatRequestBody, postChat } from './llm.ts';
import type { AudioInput, ProviderTranscript, TranscriptSegment } from './types.ts';

export type AudioLlmProvider = 'qwen2-audio' | 'voxtral-small';

export interface AudioLlmOptions {
  provider: AudioLlmProvider;
  baseUrl: string;
  apiKey?: string;
  model: string;
  prompt: string;
  maxTokens: number;
  /** Per request (one chunk). */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Qwen2-Audio's feature extractor window. */
export const QWEN_AUDIO_MAX_SEC = CHUNK_MAX_SEC;

export function audioChatBody(
  audio: Pick<AudioInput, 'bytes' | 'mimeType'>,
  opts: Pick<AudioLlmOptions, 'model' | 'prompt' | 'maxTokens'>,
): ChatRequestBody {
  const b64 = Buffer.from(audio.bytes.buffer, audio.bytes.byteOffset, audio.bytes.byteLength).toString(
    'base64',
  );
  return {
    model: opts.model,
    max_tokens: opts.maxTokens,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: opts.prompt },
          { type: 'audio_url', audio_url: { url: `data:${audio.mimeType};base64,${b64}` } },
        ],
      },
    ],
  };
}

// Qwen2-Audio tends to wrap answers as: The original content of this audio is: '...'
const QWEN_WRAPPER = /^the original content of this audio is:?\s*(["'“‘])?([\s\S]*?)\1?\s*$/i;

/** Strips wrappers the models add around a transcript. */
export function cleanTranscript(text: string): string {
  const t = text.trim();
  const m = QWEN_WRAPPER.exec(t);
  return (m ? (m[2] ?? '') : t).trim();
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

async function once(audio: Pick<AudioInput, 'bytes' | 'mimeType'>, opts: AudioLlmOptions): Promise<string> {
  const res = await postChat(audioChatBody(audio, opts), {
    baseUrl: opts.baseUrl,
    model: opts.model,
    timeoutMs: opts.timeoutMs,
    provider: opts.provider,
    ...(opts.apiKey && { apiKey: opts.apiKey }),
    ...(opts.signal && { signal: opts.signal }),
  });
  return cleanTranscript(res.content);
}

/** Peak below this (about −54 dBFS) is silence: not sent, a model would invent words for it. */
const SILENCE_PEAK = 64;

function isSilent(s: Int16Array): boolean {
  for (let i = 0; i < s.length; i++) if (s[i]! > SILENCE_PEAK || s[i]! < -SILENCE_PEAK) return false;
  return true;
}

/** The speaker label of channel c with split_channels: WhisperX's label form, numbered by channel. */
export const channelSpeaker = (c: number) => `SPEAKER_${String(c).padStart(2, '0')}`;

async function transcribeTrack(
  samples: Int16Array,
  sampleRate: number,
  opts: AudioLlmOptions,
  speaker: string | undefined,
): Promise<TranscriptSegment[]> {
  const segments: TranscriptSegment[] = [];
  const seamWords = maxSeamWords();
  let previous: string[] = [];
  // Sequential: one GPU serves all chunks anyway, and an abort stops after the current one.
  for (const plan of planChunks(samples, sampleRate)) {
    const chunk = samples.subarray(plan.start, plan.end);
    if (isSilent(chunk)) {
      previous = [];
      continue;
    }
    const words = (await once({ bytes: pcmWav(chunk, sampleRate), mimeType: 'audio/wav' }, opts))
      .split(/\s+/)
      .filter(Boolean);
    const kept = words.slice(seamOverlap(previous, words, seamWords));
    previous = words;
    if (kept.length === 0) continue;
    segments.push({
      start: round3(plan.ownStart / sampleRate),
      end: round3(plan.ownEnd / sampleRate),
      text: kept.join(' '),
      ...(speaker && { speaker }),
    });
  }
  return segments;
}

export async function transcribeAudioLlm(
  audio: AudioInput,
  opts: AudioLlmOptions,
): Promise<ProviderTranscript> {
  const decoded = await decodedAudio(audio, opts.signal);
  let segments: TranscriptSegment[];
  if (audio.splitChannels && decoded.channels.length > 1) {
    segments = [];
    for (const [c, samples] of decoded.channels.entries()) {
      segments.push(...(await transcribeTrack(samples, decoded.sampleRate, opts, channelSpeaker(c))));
    }
    // Both sides of the call in time order (stable: channel 0 first on equal starts).
    segments.sort((a, b) => a.start - b.start);
  } else {
    segments = await transcribeTrack(monoMix(decoded), decoded.sampleRate, opts, undefined);
  }
  const out: ProviderTranscript = {
    text: segments.map((s) => s.text).join(' '),
    segments,
    model: opts.model,
  };
  return audio.language ? { ...out, language: audio.language } : out;
}
