// WAV parsing and splitting, on WAVs generated in the test.
import { describe, expect, it } from 'vitest';
import { buildWav, isWav, parseWav, splitWav, WavError } from '../../lib/providers/wav.ts';
import { makeWav } from '../support/fake-audio.ts';

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

describe('parseWav', () => {
  it('reads a plain PCM header', () => {
    const info = parseWav(makeWav({ seconds: 2, sampleRate: 8000, channels: 2, bits: 16 }));
    expect(info).toMatchObject({
      format: 1,
      channels: 2,
      sampleRate: 8000,
      bitsPerSample: 16,
      blockAlign: 4,
    });
    expect(info.frames).toBe(16000);
    expect(info.durationSec).toBe(2);
    expect(info.dataOffset).toBe(44);
  });

  it('skips extra chunks, including odd-sized ones with their pad byte', () => {
    const wav = makeWav({
      seconds: 1,
      sampleRate: 8000,
      extraChunks: [
        { id: 'LIST', payload: new Uint8Array(13).fill(65) },
        { id: 'JUNK', payload: new Uint8Array(4) },
      ],
    });
    const info = parseWav(wav);
    expect(info.dataOffset).toBe(44 + 8 + 14 + 8 + 4);
    expect(info.frames).toBe(8000);
  });

  it('resolves WAVE_FORMAT_EXTENSIBLE to its PCM subformat', () => {
    const info = parseWav(makeWav({ seconds: 0.5, sampleRate: 16000, extensible: true }));
    expect(info.format).toBe(1);
    expect(info.fmt.byteLength).toBe(40);
    expect(info.durationSec).toBe(0.5);
  });

  it('takes the rest of the file when the data size is 0 or 0xFFFFFFFF (streamed WAVs)', () => {
    expect(parseWav(makeWav({ seconds: 1, sampleRate: 8000, dataSizeOverride: 0xffffffff })).frames).toBe(
      8000,
    );
    expect(parseWav(makeWav({ seconds: 1, sampleRate: 8000, dataSizeOverride: 0 })).frames).toBe(8000);
  });

  it('rejects what it cannot split', () => {
    expect(isWav(new TextEncoder().encode('ID3\u0004 not a wav'))).toBe(false);
    expect(() => parseWav(new Uint8Array(10))).toThrow(WavError);
    const mp3InWav = makeWav({ seconds: 0.1 });
    new DataView(mp3InWav.buffer).setUint16(20, 0x55, true);
    expect(() => parseWav(mp3InWav)).toThrow(/unsupported WAV encoding/);
    expect(() => parseWav(makeWav({ seconds: 1 }).subarray(0, 30))).toThrow(WavError);
  });
});

describe('splitWav', () => {
  it('returns short audio unchanged as one chunk', () => {
    const wav = makeWav({ seconds: 12, sampleRate: 8000 });
    const chunks = splitWav(wav, 30);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.bytes).toBe(wav);
    expect(chunks[0]).toMatchObject({ offsetSec: 0, durationSec: 12 });
  });

  it('splits 75 s into three equal standalone WAVs with offsets, losing no sample', () => {
    const sampleRate = 8000;
    const wav = makeWav({
      seconds: 75,
      sampleRate,
      channels: 2,
      extraChunks: [{ id: 'LIST', payload: new Uint8Array(7) }],
    });
    const original = parseWav(wav);
    const chunks = splitWav(wav, 30);
    expect(chunks).toHaveLength(3);
    expect(chunks.map((c) => c.durationSec)).toEqual([25, 25, 25]);
    expect(chunks.map((c) => c.offsetSec)).toEqual([0, 25, 50]);

    let frame = 0;
    for (const c of chunks) {
      const info = parseWav(c.bytes);
      expect(info).toMatchObject({ format: 1, channels: 2, sampleRate, bitsPerSample: 16, blockAlign: 4 });
      expect(info.durationSec).toBeLessThanOrEqual(30);
      expect(info.durationSec).toBeCloseTo(c.durationSec, 9);
      // RIFF size covers the whole file; data starts right after a 16-byte fmt chunk.
      expect(u32(c.bytes, 4)).toBe(c.bytes.byteLength - 8);
      expect(info.dataOffset).toBe(44);
      // Content continuity: the first frame of each chunk is the next frame of the original.
      const first = new DataView(c.bytes.buffer, c.bytes.byteOffset + info.dataOffset).getUint16(0, true);
      expect(first).toBe(frame % 65536);
      frame += info.frames;
    }
    expect(frame).toBe(original.frames);
  });

  it('keeps every chunk at most maxSec for awkward lengths and sample rates', () => {
    for (const [seconds, rate] of [
      [30.001, 16000],
      [61, 22050],
      [90, 44100],
      [119.99, 8000],
    ] as const) {
      const wav = makeWav({ seconds, sampleRate: rate, bits: 8 });
      const chunks = splitWav(wav, 30);
      expect(chunks.length).toBe(Math.ceil(parseWav(wav).frames / (30 * rate)));
      let expectedOffset = 0;
      for (const c of chunks) {
        expect(c.durationSec).toBeLessThanOrEqual(30);
        expect(c.offsetSec).toBeCloseTo(expectedOffset, 9);
        expect(parseWav(c.bytes).durationSec).toBeCloseTo(c.durationSec, 9);
        expectedOffset += c.durationSec;
      }
      expect(expectedOffset).toBeCloseTo(parseWav(wav).durationSec, 6);
    }
  });

  it('copies an extensible fmt chunk verbatim', () => {
    const chunks = splitWav(makeWav({ seconds: 40, sampleRate: 8000, extensible: true }), 30);
    expect(chunks).toHaveLength(2);
    for (const c of chunks) expect(parseWav(c.bytes).fmt.byteLength).toBe(40);
  });

  it('buildWav pads odd data to a word boundary', () => {
    const fmt = parseWav(makeWav({ seconds: 0.01, sampleRate: 8000, bits: 8 })).fmt;
    const wav = buildWav(fmt, new Uint8Array(3));
    expect(wav.byteLength % 2).toBe(0);
    expect(parseWav(wav).frames).toBe(3);
  });
});
