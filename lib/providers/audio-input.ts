// Loads a transcription job's audio once (from `audio_url` or `audio_base64`) so every
// A/B provider gets the same bytes. The format is sniffed from the bytes because callers'
// MIME types are often wrong or generic. `audio_url` goes through lib/net's URL guard
// (AUDIO_URL_ALLOWED_HOSTS, metadata and link-local refused, every hop and address
// checked). Decoding (ffmpeg) happens later and only for providers that need PCM
// (audio-decode.ts), so WhisperX alone never pays for it.
import type { Config } from '../config/schema.ts';
import { parseAllowedHosts, type UrlPolicy } from '../net/url-guard.ts';
import { ProviderError, safeUrl } from './errors.ts';
import { request } from './http.ts';
import type { AudioInput } from './types.ts';
import { isWav } from './wav.ts';

const SOURCE = 'audio';

export type AudioLimits = Pick<Config, 'AUDIO_MAX_BYTES' | 'AUDIO_DOWNLOAD_TIMEOUT'> &
  Partial<Pick<Config, 'AUDIO_URL_ALLOWED_HOSTS' | 'FFMPEG_PATH' | 'AUDIO_DECODE_TIMEOUT'>>;

// One policy object per allow-list value, so the guarded agent (and its keep-alive
// sockets) is reused across jobs.
const policies = new Map<string, UrlPolicy>();
export function audioUrlPolicy(allowed: string | undefined): UrlPolicy {
  const key = allowed ?? '';
  let p = policies.get(key);
  if (!p) {
    const hosts = parseAllowedHosts(allowed);
    p = { ...(hosts && { allowedHosts: hosts }), allowListName: 'AUDIO_URL_ALLOWED_HOSTS' };
    policies.set(key, p);
  }
  return p;
}

const bad = (message: string) => new ProviderError({ category: 'invalid_input', provider: SOURCE, message });

const EXT_BY_MIME: Record<string, string> = {
  'audio/wav': 'wav',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'audio/flac': 'flac',
  'audio/mp4': 'm4a',
  'audio/webm': 'webm',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
};

/** Container type from magic bytes; undefined when unknown. */
export function sniffAudioMime(b: Uint8Array): string | undefined {
  const at = (i: number, s: string) => [...s].every((c, k) => b[i + k] === c.charCodeAt(0));
  if (isWav(b)) return 'audio/wav';
  if (
    at(0, 'ID3') ||
    (b[0] === 0xff && b[1] !== undefined && (b[1] & 0xe0) === 0xe0 && (b[1] & 0x06) !== 0)
  ) {
    return 'audio/mpeg';
  }
  if (at(0, 'OggS')) return 'audio/ogg';
  if (at(0, 'fLaC')) return 'audio/flac';
  if (at(4, 'ftyp')) return 'audio/mp4';
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'audio/webm';
  if (at(0, '#!AMR')) return 'audio/amr';
  if (b[0] === 0xff && b[1] !== undefined && (b[1] & 0xf6) === 0xf0) return 'audio/aac';
  return undefined;
}

function normalizeMime(m: string | undefined): string | undefined {
  const base = m?.split(';')[0]?.trim().toLowerCase();
  if (!base) return undefined;
  if (base === 'audio/x-wav' || base === 'audio/wave' || base === 'audio/vnd.wave') return 'audio/wav';
  if (base === 'audio/mp3') return 'audio/mpeg';
  return base;
}

function pickMime(bytes: Uint8Array, declared: string | undefined): string {
  const sniffed = sniffAudioMime(bytes);
  // WAV always wins: splitting for Qwen2-Audio depends on it.
  if (sniffed === 'audio/wav') return sniffed;
  const d = normalizeMime(declared);
  if (d && d !== 'application/octet-stream' && d !== 'binary/octet-stream') return d;
  return sniffed ?? 'application/octet-stream';
}

function filenameFor(mime: string, urlPath?: string): string {
  const ext = EXT_BY_MIME[mime] ?? 'bin';
  const last = urlPath ? decodeURIComponent(urlPath.split('/').pop() ?? '').replace(/[^\w.-]+/g, '_') : '';
  if (last && /\.[a-z0-9]{2,5}$/i.test(last)) return last.slice(-100);
  return `audio.${ext}`;
}

function readLanguage(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$|^auto$|^$/.test(v.trim())) {
    throw bad('language must be a language code such as "ru" or "en"');
  }
  const s = v.trim().toLowerCase();
  return s === '' || s === 'auto' ? undefined : s;
}

function readSplit(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad('split_channels must be true or false');
  return v;
}

function readDuration(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw bad('duration_sec must be a non-negative number');
  return v;
}

function decodeBase64(text: string, maxBytes: number): { bytes: Uint8Array; mime?: string } {
  let b64 = text.trim();
  let mime: string | undefined;
  // Accept a data URL too: callers often pass what a browser produced.
  const dataUrl = /^data:([^;,]+)?(?:;[^,]*)?;base64,/i.exec(b64);
  if (dataUrl) {
    mime = dataUrl[1];
    b64 = b64.slice(dataUrl[0].length);
  }
  b64 = b64.replace(/\s+/g, '');
  if (b64.length === 0) throw bad('audio_base64 is empty');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64)) throw bad('audio_base64 is not valid base64');
  if (Math.floor((b64.length * 3) / 4) > maxBytes + 2)
    throw bad(`audio is larger than AUDIO_MAX_BYTES (${maxBytes} bytes)`);
  const bytes = new Uint8Array(
    Buffer.from(b64, b64.includes('-') || b64.includes('_') ? 'base64url' : 'base64'),
  );
  if (bytes.byteLength > maxBytes) throw bad(`audio is larger than AUDIO_MAX_BYTES (${maxBytes} bytes)`);
  if (bytes.byteLength === 0) throw bad('audio_base64 decodes to no bytes');
  return { bytes, ...(mime && { mime }) };
}

async function download(url: string, limits: AudioLimits, signal?: AbortSignal) {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('audio_url is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad('audio_url must be an http(s) URL');
  const res = await request({
    url,
    method: 'GET',
    headers: { accept: '*/*' },
    timeoutMs: limits.AUDIO_DOWNLOAD_TIMEOUT,
    ...(signal && { signal }),
    provider: SOURCE,
    maxResponseBytes: limits.AUDIO_MAX_BYTES,
    tooLargeCategory: 'invalid_input',
    guard: audioUrlPolicy(limits.AUDIO_URL_ALLOWED_HOSTS),
    urlLabel: 'audio_url',
    onHttpError: (status) =>
      new ProviderError({
        // A 4xx means the link is wrong or expired: retrying the job cannot fix it.
        category:
          status >= 500 || status === 429 || status === 408 ? 'provider_unavailable' : 'invalid_input',
        provider: SOURCE,
        status,
        message: `audio_url answered HTTP ${status} (${safeUrl(url)})`,
      }),
  });
  if (res.bytes.byteLength === 0) throw bad(`audio_url returned no bytes (${safeUrl(url)})`);
  return { bytes: res.bytes, contentType: res.headers['content-type'], path: u.pathname };
}

/**
 * Reads `audio_url` | (`audio_base64` [+ `mime_type`]), optional `language`, `filename`,
 * `split_channels` and `duration_sec` (a hint only: durations come from the decoded audio)
 * from a job input. Input problems are `invalid_input`; an unreachable
 * audio host is `provider_unavailable`, a slow one `timeout`.
 */
export async function loadAudio(
  input: unknown,
  limits: AudioLimits,
  signal?: AbortSignal,
): Promise<AudioInput> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw bad('input must be an object');
  const o = input as Record<string, unknown>;
  const language = readLanguage(o['language']);
  const durationSec = readDuration(o['duration_sec']);
  const declaredMime = typeof o['mime_type'] === 'string' ? o['mime_type'] : undefined;
  const splitChannels = readSplit(o['split_channels']);
  const extras = {
    ...(language && { language }),
    ...(durationSec !== undefined && { durationSec }),
    ...(splitChannels && { splitChannels }),
    decoder: {
      ffmpegPath: limits.FFMPEG_PATH ?? 'ffmpeg',
      timeoutMs: limits.AUDIO_DECODE_TIMEOUT ?? 120_000,
    },
  };

  if (typeof o['audio_url'] === 'string' && o['audio_url'].trim() !== '') {
    const got = await download(o['audio_url'].trim(), limits, signal);
    const mimeType = pickMime(got.bytes, declaredMime ?? got.contentType);
    const filename =
      typeof o['filename'] === 'string'
        ? filenameFor(mimeType, o['filename'])
        : filenameFor(mimeType, got.path);
    return { bytes: got.bytes, mimeType, filename, ...extras };
  }
  if (typeof o['audio_base64'] === 'string') {
    const got = decodeBase64(o['audio_base64'], limits.AUDIO_MAX_BYTES);
    const mimeType = pickMime(got.bytes, declaredMime ?? got.mime);
    const filename = filenameFor(mimeType, typeof o['filename'] === 'string' ? o['filename'] : undefined);
    return { bytes: got.bytes, mimeType, filename, ...extras };
  }
  throw bad('input needs audio_url (http/https) or audio_base64 with mime_type');
}
