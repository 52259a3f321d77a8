// WhisperX client for the whisper-asr-webservice contract (the common image, engine
// `whisperx`):
//
//   POST {WHISPERX_URL}/asr?task=transcribe&output=json&word_timestamps=true[&language=xx][&diarize=true]
//   multipart/form-data, file field `audio_file`; synchronous.
//   200 → JSON (sent with content-type text/plain, so the body is parsed, not the header):
//         { "text"?: string, "segments": [{ "start", "end", "text", "speaker"? , ... }], "language"?: string }
//         `text` may be absent: it is then the segments' texts joined.
//   errors → FastAPI `{"detail": ...}` (422) or a plain "Internal Server Error" (500).
//
// The asynchronous whisperX-FastAPI and the OpenAI-style servers are not supported yet (see docs/workers.md).
import { invalidOutput } from './errors.ts';
import { Multipart, postJson } from './http.ts';
import type { AudioInput, ProviderTranscript, TranscriptSegment } from './types.ts';

export const WHISPERX_MODEL = 'whisperx';
const PROVIDER = 'whisperx';

export interface WhisperXOptions {
  url: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Ask for speaker labels; the server needs its Hugging Face token for this. */
  diarize?: boolean;
}

export function whisperxAsrUrl(base: string, audio: Pick<AudioInput, 'language'>, diarize = false): string {
  const params = new URLSearchParams({ task: 'transcribe', output: 'json', word_timestamps: 'true' });
  if (audio.language) params.set('language', audio.language);
  if (diarize) params.set('diarize', 'true');
  return `${base.replace(/\/+$/, '')}/asr?${params}`;
}

export async function transcribeWhisperX(
  audio: AudioInput,
  opts: WhisperXOptions,
): Promise<ProviderTranscript> {
  const form = new Multipart([
    { name: 'audio_file', value: audio.bytes, filename: audio.filename, contentType: audio.mimeType },
  ]);
  const res = await postJson({
    url: whisperxAsrUrl(opts.url, audio, opts.diarize),
    body: form,
    timeoutMs: opts.timeoutMs,
    ...(opts.signal && { signal: opts.signal }),
    provider: PROVIDER,
  });
  return parseAsrResponse(res.json);
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Validates a /asr JSON answer into a transcript; anything off-contract is invalid_output. */
export function parseAsrResponse(json: unknown): ProviderTranscript {
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw invalidOutput(PROVIDER, 'answer is not a JSON object');
  const o = json as Record<string, unknown>;
  if (!Array.isArray(o['segments'])) throw invalidOutput(PROVIDER, 'answer has no segments array');
  const segments: TranscriptSegment[] = [];
  for (const [i, s] of o['segments'].entries()) {
    if (!s || typeof s !== 'object') throw invalidOutput(PROVIDER, `segment ${i} is not an object`);
    const seg = s as Record<string, unknown>;
    const start = num(seg['start']);
    const end = num(seg['end']);
    if (start === undefined || end === undefined || typeof seg['text'] !== 'string') {
      throw invalidOutput(PROVIDER, `segment ${i} lacks numeric start/end or text`);
    }
    const out: TranscriptSegment = { start, end, text: seg['text'].trim() };
    if (typeof seg['speaker'] === 'string' && seg['speaker'] !== '') out.speaker = seg['speaker'];
    segments.push(out);
  }
  const text =
    typeof o['text'] === 'string'
      ? o['text'].trim()
      : segments
          .map((s) => s.text)
          .filter(Boolean)
          .join(' ');
  return {
    text,
    segments,
    model: WHISPERX_MODEL,
    ...(typeof o['language'] === 'string' && o['language'] !== '' && { language: o['language'] }),
  };
}
