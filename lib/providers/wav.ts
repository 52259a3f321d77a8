// WAV (RIFF/PCM) header parsing and splitting into standalone ≤ N-second WAV files.
// Qwen2-Audio silently cuts clips after 30 s, so long calls are split here; WAV is the
// one container that can be cut on frame boundaries without a codec. Pure functions.

export class WavError extends Error {
  override readonly name = 'WavError';
}

export interface WavInfo {
  /** 1 PCM, 3 IEEE float, 6 A-law, 7 µ-law (WAVE_FORMAT_EXTENSIBLE resolved to its subformat). */
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Bytes per frame (all channels of one sample instant). */
  blockAlign: number;
  /** The fmt chunk's payload, copied verbatim into split files. */
  fmt: Uint8Array;
  dataOffset: number;
  dataLength: number;
  frames: number;
  durationSec: number;
}

export interface WavChunk {
  /** A complete WAV file. */
  bytes: Uint8Array;
  offsetSec: number;
  durationSec: number;
}

const SPLITTABLE_FORMATS = new Set([1, 3, 6, 7]);
const EXTENSIBLE = 0xfffe;

const ascii = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);

/** RIFF....WAVE magic; the declared MIME type is not trusted. */
export function isWav(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 12 && ascii(bytes, 0) === 'RIFF' && ascii(bytes, 8) === 'WAVE';
}

/** Parses the header; throws WavError for anything that is not a frame-splittable WAV. */
export function parseWav(bytes: Uint8Array): WavInfo {
  if (!isWav(bytes)) throw new WavError('not a RIFF/WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Uint8Array | undefined;
  let pos = 12;
  while (pos + 8 <= bytes.byteLength) {
    const id = ascii(bytes, pos);
    let size = view.getUint32(pos + 4, true);
    const start = pos + 8;
    const remaining = bytes.byteLength - start;
    if (id === 'fmt ') {
      if (size < 16 || size > remaining) throw new WavError('truncated fmt chunk');
      fmt = bytes.subarray(start, start + size);
    } else if (id === 'data') {
      if (!fmt) throw new WavError('data chunk before fmt chunk');
      // Streaming writers leave the size 0 or 0xFFFFFFFF: the data is the rest of the file.
      if (size === 0 || size > remaining) size = remaining;
      return describe(fmt, start, size);
    }
    // Chunks are word-aligned: odd sizes carry a pad byte (LIST, bext, JUNK, fact…).
    pos = start + size + (size % 2);
  }
  throw new WavError(fmt ? 'no data chunk' : 'no fmt chunk');
}

function describe(fmt: Uint8Array, dataOffset: number, dataLength: number): WavInfo {
  const v = new DataView(fmt.buffer, fmt.byteOffset, fmt.byteLength);
  let format = v.getUint16(0, true);
  const channels = v.getUint16(2, true);
  const sampleRate = v.getUint32(4, true);
  const blockAlign = v.getUint16(12, true);
  const bitsPerSample = v.getUint16(14, true);
  if (format === EXTENSIBLE) {
    if (fmt.byteLength < 26) throw new WavError('truncated WAVE_FORMAT_EXTENSIBLE header');
    format = v.getUint16(24, true); // first two bytes of the subformat GUID
  }
  if (!SPLITTABLE_FORMATS.has(format)) {
    throw new WavError(
      `unsupported WAV encoding (format 0x${format.toString(16)}); only PCM, float, A-law and µ-law`,
    );
  }
  if (channels === 0 || sampleRate === 0 || blockAlign === 0) throw new WavError('invalid fmt chunk');
  const frames = Math.floor(dataLength / blockAlign);
  return {
    format,
    channels,
    sampleRate,
    bitsPerSample,
    blockAlign,
    fmt,
    dataOffset,
    dataLength: frames * blockAlign,
    frames,
    durationSec: frames / sampleRate,
  };
}

/** Builds a minimal WAV file: RIFF header, the given fmt payload, one data chunk. */
export function buildWav(fmt: Uint8Array, data: Uint8Array): Uint8Array {
  const fmtPad = fmt.byteLength % 2;
  const dataPad = data.byteLength % 2;
  const total = 12 + 8 + fmt.byteLength + fmtPad + 8 + data.byteLength + dataPad;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  v.setUint32(4, total - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, fmt.byteLength, true);
  out.set(fmt, 20);
  const dataAt = 20 + fmt.byteLength + fmtPad;
  put(dataAt, 'data');
  v.setUint32(dataAt + 4, data.byteLength, true);
  out.set(data, dataAt + 8);
  return out;
}

/**
 * Splits into standalone WAV files of at most `maxSec` seconds each. Chunks are equal
 * in length (not 30 s + a 0.2 s tail) because a very short clip makes audio models
 * hallucinate. Audio that already fits comes back as one chunk holding the original bytes.
 */
export function splitWav(bytes: Uint8Array, maxSec = 30): WavChunk[] {
  const info = parseWav(bytes);
  const maxFrames = Math.floor(maxSec * info.sampleRate);
  if (maxFrames <= 0) throw new WavError('chunk length too small');
  if (info.frames <= maxFrames) return [{ bytes, offsetSec: 0, durationSec: info.durationSec }];
  const count = Math.ceil(info.frames / maxFrames);
  const perChunk = Math.ceil(info.frames / count);
  const chunks: WavChunk[] = [];
  for (let first = 0; first < info.frames; first += perChunk) {
    const frames = Math.min(perChunk, info.frames - first);
    const from = info.dataOffset + first * info.blockAlign;
    const data = bytes.subarray(from, from + frames * info.blockAlign);
    chunks.push({
      bytes: buildWav(info.fmt, data),
      offsetSec: first / info.sampleRate,
      durationSec: frames / info.sampleRate,
    });
  }
  return chunks;
}
