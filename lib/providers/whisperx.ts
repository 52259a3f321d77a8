// WhisperX clients for the three server contracts in use, over one or more instances.
//
//   asr      whisper-asr-webservice (engine `whisperx`), synchronous:
//            POST {url}/asr?task=transcribe&output=json&word_timestamps=true[&language=xx][&diarize=true]
//            multipart `audio_file`; 200 → JSON sent as text/plain (parse the body, not the
//            header): { text?, segments: [{ start, end, text, speaker? }], language? };
//            `text` may be absent (then the segments joined). Errors: FastAPI {"detail"} or plain text.
//   fastapi  whisperX-FastAPI, asynchronous: POST {url}/speech-to-text[?language=xx] multipart
//            `file` → { identifier, message }; then GET {url}/task/{identifier} every
//            WHISPERX_POLL_INTERVAL until `status` is `completed` (segments in result.segments,
//            language in metadata.language) or `failed` (`error`), within WHISPERX_TIMEOUT.
//   openai   OpenAI-compatible (speaches, vLLM's Whisper): POST {url}/v1/audio/transcriptions
//            multipart `file`, `model`, `response_format=verbose_json`[, `language`] →
//            { text, segments, language }.
//   auto     GET {url}/openapi.json once per instance and pick the style from its paths
//            (cached; an explicit WHISPERX_API wins).
//
// WHISPERX_URL may list several instances (a,b): jobs are spread round-robin, an instance
// that cannot be reached is skipped for the next one within the same call, and each
// instance has its own small circuit so a dead one is not tried first for a cool-down.
// With `split_channels` on stereo, each channel goes as its own 16 kHz mono WAV and its
// segments carry the channel as speaker (as the audio LLMs do).
import { decodedAudio, pcmWav } from './audio-decode.ts';
import { cancelledError, invalidOutput, ProviderError, safeOrigin, toProviderError } from './errors.ts';
import { getJson, Multipart, postJson } from './http.ts';
import type { AudioInput, ProviderTranscript, TranscriptSegment } from './types.ts';
import { styleFromPaths, type WhisperXApi, type WhisperXStyle, whisperxUrls } from './whisperx-style.ts';

export { styleFromPaths, type WhisperXApi, whisperxUrls };

export const WHISPERX_MODEL = 'whisperx';
const PROVIDER = 'whisperx';

type Style = WhisperXStyle;

export interface WhisperXOptions {
  /** One base URL or several, comma-separated (WHISPERX_URL). */
  url: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Ask for speaker labels; the server needs its Hugging Face token for this. */
  diarize?: boolean;
  /** Server contract (WHISPERX_API); default auto. */
  api?: WhisperXApi;
  /** whisperX-FastAPI task polling interval (WHISPERX_POLL_INTERVAL); default 1 s. */
  pollIntervalMs?: number;
  /** `model` field for the OpenAI style; default whisper-1 (what most such servers accept). */
  openaiModel?: string;
}

export function whisperxAsrUrl(base: string, audio: Pick<AudioInput, 'language'>, diarize = false): string {
  const params = new URLSearchParams({ task: 'transcribe', output: 'json', word_timestamps: 'true' });
  if (audio.language) params.set('language', audio.language);
  if (diarize) params.set('diarize', 'true');
  return `${base.replace(/\/+$/, '')}/asr?${params}`;
}

// ---------------------------------------------------------------------------------
// Instances: round-robin, per-instance circuit, detected style

/** Consecutive unreachable/timed-out calls that open an instance's circuit, and its cool-down. */
export const INSTANCE_CIRCUIT = { threshold: 2, cooldownMs: 30_000 };

interface Instance {
  failures: number;
  openUntil: number;
  style?: Style;
}
const instances = new Map<string, Instance>();
let turn = 0;

const instance = (url: string): Instance => {
  let i = instances.get(url);
  if (!i) {
    i = { failures: 0, openUntil: 0 };
    instances.set(url, i);
  }
  return i;
};

/** Order to try the instances in: round-robin start, closed circuits first, then open ones by earliest retry. */
export function instanceOrder(urls: string[], now = Date.now()): string[] {
  const start = turn++ % urls.length;
  const rotated = [...urls.slice(start), ...urls.slice(0, start)];
  const closed = rotated.filter((u) => instance(u).openUntil <= now);
  const open = rotated
    .filter((u) => instance(u).openUntil > now)
    .sort((a, b) => instance(a).openUntil - instance(b).openUntil);
  return [...closed, ...open];
}

function record(url: string, err: ProviderError | undefined, now = Date.now()): void {
  const i = instance(url);
  if (!err || !(err.category === 'provider_unavailable' || err.category === 'timeout')) {
    i.failures = 0;
    i.openUntil = 0;
    return;
  }
  i.failures++;
  if (i.failures >= INSTANCE_CIRCUIT.threshold) i.openUntil = now + INSTANCE_CIRCUIT.cooldownMs;
}

export interface WhisperXInstanceState {
  url: string | undefined;
  state: 'closed' | 'open';
  consecutive_failures: number;
  style?: Style;
}

/** Per-instance state for status pages (origins only). */
export function whisperxInstances(url: string, now = Date.now()): WhisperXInstanceState[] {
  return whisperxUrls(url).map((u) => {
    const i = instance(u);
    return {
      url: safeOrigin(u),
      state: i.openUntil > now ? 'open' : 'closed',
      consecutive_failures: i.failures,
      ...(i.style && { style: i.style }),
    };
  });
}

/** Forgets circuits and detected styles (tests). */
export function resetWhisperXInstances(): void {
  instances.clear();
  turn = 0;
}

async function detectStyle(base: string, opts: WhisperXOptions): Promise<Style> {
  const i = instance(base);
  if (i.style) return i.style;
  const res = await getJson({
    url: `${base}/openapi.json`,
    timeoutMs: Math.min(opts.timeoutMs, 10_000),
    ...(opts.signal && { signal: opts.signal }),
    provider: PROVIDER,
  });
  const paths = Object.keys(((res.json as { paths?: unknown })?.paths as object | undefined) ?? {});
  const style = styleFromPaths(paths);
  if (!style) {
    throw new ProviderError({
      category: 'unsupported',
      provider: PROVIDER,
      message: `${safeOrigin(base)} serves none of /asr, /speech-to-text, /v1/audio/transcriptions; set WHISPERX_API`,
    });
  }
  i.style = style;
  return style;
}

// ---------------------------------------------------------------------------------
// One call

interface Upload {
  bytes: Uint8Array;
  filename: string;
  mimeType: string;
  language?: string;
}

async function callInstance(base: string, up: Upload, opts: WhisperXOptions): Promise<ProviderTranscript> {
  const api = opts.api ?? 'auto';
  const style = api === 'auto' ? await detectStyle(base, opts) : api;
  const signal = opts.signal && { signal: opts.signal };
  if (style === 'asr') {
    const res = await postJson({
      url: whisperxAsrUrl(base, up, opts.diarize),
      body: new Multipart([
        { name: 'audio_file', value: up.bytes, filename: up.filename, contentType: up.mimeType },
      ]),
      timeoutMs: opts.timeoutMs,
      ...signal,
      provider: PROVIDER,
    });
    return parseAsrResponse(res.json);
  }
  if (style === 'openai') {
    const v1 = /\/v1$/.test(base) ? base : `${base}/v1`;
    const parts = [
      { name: 'file', value: up.bytes, filename: up.filename, contentType: up.mimeType },
      { name: 'model', value: opts.openaiModel ?? 'whisper-1' },
      { name: 'response_format', value: 'verbose_json' },
      { name: 'timestamp_granularities[]', value: 'segment' },
      ...(up.language ? [{ name: 'language', value: up.language }] : []),
    ];
    const res = await postJson({
      url: `${v1}/audio/transcriptions`,
      body: new Multipart(parts),
      timeoutMs: opts.timeoutMs,
      ...signal,
      provider: PROVIDER,
    });
    return parseAsrResponse(res.json);
  }
  return fastApiTask(base, up, opts);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/** whisperX-FastAPI: submit, then poll the task until it completes, fails or the deadline passes. */
async function fastApiTask(base: string, up: Upload, opts: WhisperXOptions): Promise<ProviderTranscript> {
  const deadline = Date.now() + opts.timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const signal = opts.signal && { signal: opts.signal };
  const query = up.language ? `?${new URLSearchParams({ language: up.language })}` : '';
  const submitted = await postJson({
    url: `${base}/speech-to-text${query}`,
    body: new Multipart([{ name: 'file', value: up.bytes, filename: up.filename, contentType: up.mimeType }]),
    timeoutMs: left(),
    ...signal,
    provider: PROVIDER,
  });
  const id = (submitted.json as { identifier?: unknown } | null)?.identifier;
  if (typeof id !== 'string' || id === '') throw invalidOutput(PROVIDER, 'submit answer has no identifier');
  for (;;) {
    const res = await getJson({
      url: `${base}/task/${encodeURIComponent(id)}`,
      timeoutMs: left(),
      ...signal,
      provider: PROVIDER,
    });
    const task = (res.json ?? {}) as {
      status?: unknown;
      result?: unknown;
      metadata?: unknown;
      error?: unknown;
    };
    if (task.status === 'completed') {
      const result = (task.result ?? {}) as Record<string, unknown>;
      const language = (task.metadata as { language?: unknown } | undefined)?.language ?? result['language'];
      return parseAsrResponse({
        segments: result['segments'],
        ...(typeof language === 'string' && { language }),
      });
    }
    if (task.status === 'failed') {
      throw new ProviderError({
        category: 'provider_error',
        provider: PROVIDER,
        message: `whisperX task failed: ${typeof task.error === 'string' ? task.error : 'no reason given'}`,
      });
    }
    if (opts.signal?.aborted) throw cancelledError(PROVIDER, opts.signal.reason);
    if (deadline - Date.now() <= 0) {
      throw new ProviderError({
        category: 'timeout',
        provider: PROVIDER,
        message: `whisperX task not done within ${opts.timeoutMs} ms`,
      });
    }
    await sleep(Math.min(opts.pollIntervalMs ?? 1000, left()), opts.signal);
  }
}

/** One upload across the instances: an unreachable one is skipped for the next. */
async function callAny(up: Upload, opts: WhisperXOptions): Promise<ProviderTranscript> {
  const urls = whisperxUrls(opts.url);
  if (urls.length === 0)
    throw new ProviderError({ category: 'internal', provider: PROVIDER, message: 'WHISPERX_URL is empty' });
  let last: ProviderError | undefined;
  for (const base of instanceOrder(urls)) {
    try {
      const t = await callInstance(base, up, opts);
      record(base, undefined);
      return t;
    } catch (err) {
      const e = toProviderError(err, PROVIDER);
      record(base, e);
      // Only "not reachable" moves on: a timeout already spent the budget, and any other
      // answer is the server judging this audio, which another instance would repeat.
      if (e.category !== 'provider_unavailable' || opts.signal?.aborted) throw e;
      last = e;
    }
  }
  throw last!;
}

const channelSpeaker = (c: number) => `SPEAKER_${String(c).padStart(2, '0')}`;

export async function transcribeWhisperX(
  audio: AudioInput,
  opts: WhisperXOptions,
): Promise<ProviderTranscript> {
  const lang = audio.language ? { language: audio.language } : {};
  if (audio.splitChannels) {
    const decoded = await decodedAudio(audio, opts.signal);
    if (decoded.channels.length > 1) {
      const segments: TranscriptSegment[] = [];
      let language: string | undefined;
      for (const [c, samples] of decoded.channels.entries()) {
        const t = await callAny(
          { bytes: pcmWav(samples), filename: `channel-${c}.wav`, mimeType: 'audio/wav', ...lang },
          { ...opts, diarize: false },
        );
        language ??= t.language;
        segments.push(...t.segments.map((s) => ({ ...s, speaker: channelSpeaker(c) })));
      }
      segments.sort((a, b) => a.start - b.start);
      return {
        text: segments
          .map((s) => s.text)
          .filter(Boolean)
          .join(' '),
        segments,
        model: WHISPERX_MODEL,
        ...(language && { language }),
      };
    }
  }
  return callAny({ bytes: audio.bytes, filename: audio.filename, mimeType: audio.mimeType, ...lang }, opts);
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Validates an answer (/asr JSON, OpenAI verbose_json, a FastAPI task result) into a transcript; anything off-contract is invalid_output. */
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
