// Decodes whatever a phone system recorded (MP3, OGG/Opus, FLAC, WAV in PCM, µ-law,
// A-law, GSM 6.10, IMA-ADPCM; mono or stereo; 8–48 kHz) into 16 kHz 16-bit PCM, the
// rate Qwen2-Audio was trained on, so both audio LLMs get the same samples and every
// duration and segment time comes from the decoded audio rather than from the caller.
//
// The decoder is ffmpeg, spawned as a child process by the worker only (functions/ never
// import this module): one Debian-maintained binary that knows every codec above and gets
// security updates with the OS, where the WebAssembly decoders on npm each cover a subset
// (none does GSM or IMA-ADPCM) and ffmpeg.wasm targets browsers. See docs/workers.md.
//
// The bytes go in on stdin and a WAV comes out on stdout (no temporary files: the pods
// run with a read-only root filesystem). One decode per job: decodedAudio() memoises on
// the AudioInput object, so Qwen2-Audio and Voxtral share it.
import { spawn } from 'node:child_process';
import { cancelledError, ProviderError } from './errors.ts';
import type { AudioInput } from './types.ts';
import { isWav, parseWav, WavError } from './wav.ts';

export const DECODE_RATE = 16_000;
/** Longest decoded audio accepted (per channel); a bound on memory, ~115 MB per channel-hour… capped at 4 h. */
export const MAX_DECODED_SEC = 4 * 3600;
const SOURCE = 'audio';

export interface DecodedAudio {
  sampleRate: typeof DECODE_RATE;
  /** One array per channel of the source (16-bit signed samples). */
  channels: Int16Array[];
  durationSec: number;
}

export interface DecodeOptions {
  ffmpegPath?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** 16 kHz 16-bit PCM WAV is already what we need: read it without spawning a decoder. */
function alreadyDecoded(bytes: Uint8Array): boolean {
  if (!isWav(bytes)) return false;
  try {
    const info = parseWav(bytes);
    return info.format === 1 && info.bitsPerSample === 16 && info.sampleRate === DECODE_RATE;
  } catch {
    return false;
  }
}

/** Runs ffmpeg on the bytes; every failure is a ProviderError with a category the worker can act on. */
export async function decodeAudio(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<DecodedAudio> {
  if (alreadyDecoded(bytes)) return readPcmWav(bytes);
  const ffmpeg = opts.ffmpegPath ?? 'ffmpeg';
  const timeoutMs = opts.timeoutMs ?? 120_000;
  if (opts.signal?.aborted) throw cancelledError(SOURCE, opts.signal.reason);
  // Channels are kept (split_channels needs them); mixing to mono happens in monoMix.
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-i',
    'pipe:0',
    '-vn',
    '-map',
    '0:a:0',
    '-ar',
    String(DECODE_RATE),
    '-c:a',
    'pcm_s16le',
    '-f',
    'wav',
    'pipe:1',
  ];
  const cap = MAX_DECODED_SEC * DECODE_RATE * 2 * 2 + 4096;
  const out = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const parts: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let settled = false;
    const finish = (err: ProviderError | undefined, value?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else resolve(value!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new ProviderError({
            category: 'timeout',
            provider: SOURCE,
            message: `decoding took over ${timeoutMs} ms`,
          }),
        ),
      timeoutMs,
    );
    const onAbort = () => finish(cancelledError(SOURCE, opts.signal?.reason));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) =>
      finish(
        new ProviderError({
          // The worker cannot decode at all: a deployment problem, not the job's, and
          // retrying on this worker cannot help (retry by filter once ffmpeg is installed).
          category: 'unsupported',
          provider: SOURCE,
          message:
            err.code === 'ENOENT'
              ? `ffmpeg not found (FFMPEG_PATH=${ffmpeg}); install it on the worker`
              : `cannot run ffmpeg: ${err.message}`,
        }),
      ),
    );
    child.stdout.on('data', (b: Buffer) => {
      size += b.byteLength;
      if (size > cap) {
        finish(
          new ProviderError({
            category: 'invalid_input',
            provider: SOURCE,
            message: `audio is longer than ${MAX_DECODED_SEC / 3600} h`,
          }),
        );
        return;
      }
      parts.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4000) stderr += b.toString('utf8');
    });
    child.on('close', (code) => {
      if (code === 0) finish(undefined, Buffer.concat(parts));
      else
        finish(
          new ProviderError({
            category: 'invalid_input',
            provider: SOURCE,
            message: `audio could not be decoded: ${firstLine(stderr) || `ffmpeg exited with ${code}`}`,
          }),
        );
    });
    // ffmpeg may stop reading early (bad data): EPIPE on stdin is reported by its exit code.
    child.stdin.on('error', () => undefined);
    child.stdin.end(bytes);
  });
  return readPcmWav(out);
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean)
      ?.replace(/^pipe:0:\s*/, '')
      .slice(0, 200) ?? ''
  );
}

/** Splits ffmpeg's 16-bit PCM WAV output into per-channel sample arrays. */
function readPcmWav(bytes: Uint8Array): DecodedAudio {
  let info: ReturnType<typeof parseWav>;
  try {
    info = parseWav(bytes);
  } catch (e) {
    if (!(e instanceof WavError)) throw e;
    throw new ProviderError({
      category: 'internal',
      provider: SOURCE,
      message: `decoder output: ${e.message}`,
    });
  }
  if (info.format !== 1 || info.bitsPerSample !== 16 || info.sampleRate !== DECODE_RATE) {
    throw new ProviderError({
      category: 'internal',
      provider: SOURCE,
      message: 'decoder output is not 16 kHz PCM',
    });
  }
  if (info.frames === 0) {
    throw new ProviderError({ category: 'invalid_input', provider: SOURCE, message: 'audio has no samples' });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + info.dataOffset, info.frames * info.blockAlign);
  const channels = Array.from({ length: info.channels }, () => new Int16Array(info.frames));
  for (let f = 0, at = 0; f < info.frames; f++) {
    for (let c = 0; c < info.channels; c++, at += 2) channels[c]![f] = view.getInt16(at, true);
  }
  return { sampleRate: DECODE_RATE, channels, durationSec: info.frames / DECODE_RATE };
}

/** The channels averaged into one (what the audio LLMs get unless split_channels). */
export function monoMix(d: DecodedAudio): Int16Array {
  if (d.channels.length === 1) return d.channels[0]!;
  const n = d.channels[0]!.length;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (const ch of d.channels) sum += ch[i]!;
    out[i] = Math.round(sum / d.channels.length);
  }
  return out;
}

/** A standalone 16 kHz mono 16-bit PCM WAV of the samples. */
export function pcmWav(samples: Int16Array, sampleRate = DECODE_RATE): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
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
  v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  put(36, 'data');
  v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) v.setInt16(44 + i * 2, samples[i]!, true);
  return out;
}

const memo = new WeakMap<AudioInput, Promise<DecodedAudio>>();

/**
 * The job's audio decoded once, shared by every provider that needs PCM. A failed or
 * cancelled decode is not kept (the next caller tries again with its own signal).
 */
export function decodedAudio(audio: AudioInput, signal?: AbortSignal): Promise<DecodedAudio> {
  let p = memo.get(audio);
  if (!p) {
    p = decodeAudio(audio.bytes, {
      ...(audio.decoder && { ffmpegPath: audio.decoder.ffmpegPath, timeoutMs: audio.decoder.timeoutMs }),
      ...(signal && { signal }),
    });
    memo.set(audio, p);
    p.catch(() => memo.delete(audio));
  }
  return p;
}
