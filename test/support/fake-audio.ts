// Generated audio for tests: PCM WAV files of any length and layout (no fixtures on disk),
// plus config helpers shared by provider tests.

export interface WavSpec {
  seconds: number;
  sampleRate?: number;
  channels?: number;
  /** 8, 16, 24 or 32 (PCM). */
  bits?: 8 | 16 | 24 | 32;
  /** Chunks written between fmt and data (e.g. LIST with an odd size, to test padding). */
  extraChunks?: { id: string; payload: Uint8Array }[];
  /** Write WAVE_FORMAT_EXTENSIBLE instead of plain PCM. */
  extensible?: boolean;
  /** Overwrite the data chunk size (0 or 0xFFFFFFFF as streaming writers do). */
  dataSizeOverride?: number;
}

/** A PCM WAV whose sample k of channel c is (k + c) mod 2^bits, so chunks can be checked by content. */
export function makeWav(spec: WavSpec): Uint8Array {
  const sampleRate = spec.sampleRate ?? 16000;
  const channels = spec.channels ?? 1;
  const bits = spec.bits ?? 16;
  const bytesPerSample = bits / 8;
  const blockAlign = channels * bytesPerSample;
  const frames = Math.round(spec.seconds * sampleRate);
  const fmtSize = spec.extensible ? 40 : 16;
  const extras = spec.extraChunks ?? [];
  const extraBytes = extras.reduce((n, c) => n + 8 + c.payload.byteLength + (c.payload.byteLength % 2), 0);
  const dataSize = frames * blockAlign;
  const total = 12 + 8 + fmtSize + extraBytes + 8 + dataSize;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  v.setUint32(4, total - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, spec.extensible ? 0xfffe : 1, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, bits, true);
  if (spec.extensible) {
    v.setUint16(36, 22, true); // cbSize
    v.setUint16(38, bits, true); // valid bits
    v.setUint32(40, 0, true); // channel mask
    v.setUint16(44, 1, true); // subformat GUID starts with 0x0001 = PCM
    out.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 46);
  }
  let pos = 20 + fmtSize;
  for (const c of extras) {
    put(pos, c.id);
    v.setUint32(pos + 4, c.payload.byteLength, true);
    out.set(c.payload, pos + 8);
    pos += 8 + c.payload.byteLength + (c.payload.byteLength % 2);
  }
  put(pos, 'data');
  v.setUint32(pos + 4, spec.dataSizeOverride ?? dataSize, true);
  pos += 8;
  const mask = 2 ** bits;
  for (let k = 0; k < frames; k++) {
    for (let c = 0; c < channels; c++) {
      let value = (k + c) % mask;
      for (let b = 0; b < bytesPerSample; b++) {
        out[pos++] = value & 0xff;
        value = Math.floor(value / 256);
      }
    }
  }
  return out;
}

/** Base64 of bytes, as a caller would put it in `audio_base64`. */
export const toBase64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
