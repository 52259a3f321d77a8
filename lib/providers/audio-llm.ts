// Transcription through audio chat models served by vLLM (Qwen2-Audio, Voxtral): the
// audio goes as an `audio_url` data URL in a user message with the instruction as a text
// part. No system message: Voxtral rejects one. Qwen2-Audio cuts clips after 30 s, so WAV
// is split into ≤ 30 s chunks and anything we cannot split is refused rather than cut.
import { ProviderError } from './errors.ts';
import { type ChatRequestBody, postChat } from './llm.ts';
import type { AudioInput, ProviderTranscript, TranscriptSegment } from './types.ts';
import { isWav, parseWav, splitWav, WavError } from './wav.ts';

export type AudioLlmProvider = 'qwen2-audio' | 'voxtral-small';

export interface AudioLlmOptions {
  provider: AudioLlmProvider;
  baseUrl: string;
  apiKey?: string;
  model: string;
  prompt: string;
  maxTokens: number;
  /** Per request (per chunk for Qwen2-Audio). */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Qwen2-Audio's feature extractor window. */
export const QWEN_AUDIO_MAX_SEC = 30;

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

function wavDuration(audio: AudioInput): number | undefined {
  if (!isWav(audio.bytes)) return undefined;
  try {
    return parseWav(audio.bytes).durationSec;
  } catch {
    return undefined;
  }
}

function unsupported(provider: string, message: string): ProviderError {
  return new ProviderError({ category: 'unsupported', provider, message: `${provider}: ${message}` });
}

/**
 * Qwen2-Audio: WAV over 30 s is split and each chunk becomes one segment at its offset.
 * Other formats go whole only when the caller's `duration_sec` says they fit.
 */
async function transcribeQwen(audio: AudioInput, opts: AudioLlmOptions): Promise<ProviderTranscript> {
  let chunks: { bytes: Uint8Array; offsetSec: number; durationSec: number }[];
  if (isWav(audio.bytes)) {
    try {
      chunks = splitWav(audio.bytes, QWEN_AUDIO_MAX_SEC);
    } catch (e) {
      if (!(e instanceof WavError)) throw e;
      throw unsupported(
        opts.provider,
        `cannot split this WAV into 30 s chunks (${e.message}); send 16-bit PCM WAV`,
      );
    }
  } else if (audio.durationSec !== undefined && audio.durationSec <= QWEN_AUDIO_MAX_SEC) {
    chunks = [{ bytes: audio.bytes, offsetSec: 0, durationSec: audio.durationSec }];
  } else {
    throw unsupported(
      opts.provider,
      `takes at most ${QWEN_AUDIO_MAX_SEC} s per clip and only WAV can be split without a codec; ` +
        `got ${audio.mimeType}${audio.durationSec !== undefined ? ` of ${audio.durationSec} s` : ' of unknown length'}`,
    );
  }
  const mimeType = isWav(audio.bytes) ? 'audio/wav' : audio.mimeType;
  const segments: TranscriptSegment[] = [];
  // Sequential: one GPU serves all chunks anyway, and an abort stops after the current one.
  for (const chunk of chunks) {
    const text = await once({ bytes: chunk.bytes, mimeType }, opts);
    if (text)
      segments.push({
        start: round3(chunk.offsetSec),
        end: round3(chunk.offsetSec + chunk.durationSec),
        text,
      });
  }
  return { text: segments.map((s) => s.text).join(' '), segments, model: opts.model };
}

/** Voxtral: the whole file in one request (it takes up to ~30 min); one segment. */
async function transcribeWhole(audio: AudioInput, opts: AudioLlmOptions): Promise<ProviderTranscript> {
  const text = await once(audio, opts);
  // End is the real duration when we can read it; 0 means "unknown".
  const end = round3(wavDuration(audio) ?? audio.durationSec ?? 0);
  return { text, segments: text ? [{ start: 0, end, text }] : [], model: opts.model };
}

export async function transcribeAudioLlm(
  audio: AudioInput,
  opts: AudioLlmOptions,
): Promise<ProviderTranscript> {
  const out =
    opts.provider === 'qwen2-audio' ? await transcribeQwen(audio, opts) : await transcribeWhole(audio, opts);
  return audio.language ? { ...out, language: audio.language } : out;
}
