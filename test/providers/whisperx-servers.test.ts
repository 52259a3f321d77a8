// WhisperX as people run it: the three server contracts (chosen by config or detected
// from /openapi.json once), several instances with one that is down, and split_channels.
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeHttpPools } from '../../lib/providers/http.ts';
import type { AudioInput } from '../../lib/providers/types.ts';
import {
  INSTANCE_CIRCUIT,
  resetWhisperXInstances,
  transcribeWhisperX,
  whisperxInstances,
} from '../../lib/providers/whisperx.ts';
import { makeWav } from '../support/fake-audio.ts';
import { stereoWav } from '../support/fake-speech.ts';
import {
  ASR_PATH,
  FASTAPI_SUBMIT_PATH,
  type FakeWhisperX,
  OPENAI_TRANSCRIPTIONS_PATH,
  startFakeWhisperX,
} from '../support/fake-whisperx.ts';
import { failure } from '../support/provider-failure.ts';

const audio: AudioInput = {
  bytes: makeWav({ seconds: 1, sampleRate: 8000 }),
  mimeType: 'audio/wav',
  filename: 'call.wav',
  language: 'ru',
};
const SEGMENTS = [
  { start: 0, end: 1.5, text: ' Добрый день.' },
  { start: 1.5, end: 3, text: ' Слушаю вас.' },
];
const fakes: FakeWhisperX[] = [];
const start = async (o: Parameters<typeof startFakeWhisperX>[0] = {}) => {
  const f = await startFakeWhisperX(o);
  f.setBehaviour({ kind: 'answer', segments: SEGMENTS });
  fakes.push(f);
  return f;
};

/** A loopback port nothing listens on (connect refused). */
async function deadUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as { port: number }).port;
  await new Promise((ok) => srv.close(ok));
  return `http://127.0.0.1:${port}`;
}

beforeEach(() => resetWhisperXInstances());
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});
afterAll(() => closeHttpPools());

const expected = {
  text: 'Добрый день. Слушаю вас.',
  segments: SEGMENTS.map((s) => ({ ...s, text: s.text.trim() })),
  language: 'ru',
};

describe('server styles', () => {
  it('whisperX-FastAPI: submits `file`, polls the task until completed', async () => {
    const wx = await start({ style: 'fastapi', pollsBeforeDone: 2 });
    const t = await transcribeWhisperX(audio, {
      url: wx.url,
      timeoutMs: 5000,
      api: 'fastapi',
      pollIntervalMs: 10,
    });
    expect(t).toMatchObject(expected);
    const submit = wx.last(FASTAPI_SUBMIT_PATH)!;
    expect(submit.query['language']).toBe('ru');
    expect(Buffer.from(submit.files!['file']!.bytes).equals(Buffer.from(audio.bytes))).toBe(true);
    expect(wx.requests.filter((r) => r.path.startsWith('/task/'))).toHaveLength(3);
  });

  it('whisperX-FastAPI: a failed task is provider_error with its reason; a task past the deadline is timeout', async () => {
    const wx = await start({ style: 'fastapi', pollsBeforeDone: 0 });
    wx.setBehaviour({ kind: 'answer', text: 'FAIL' });
    const e = await failure(
      transcribeWhisperX(audio, { url: wx.url, timeoutMs: 5000, api: 'fastapi', pollIntervalMs: 10 }),
    );
    expect([e.category, e.message]).toEqual(['provider_error', 'whisperX task failed: CUDA out of memory']);
    const slow = await start({ style: 'fastapi', pollsBeforeDone: 1_000_000 });
    const t = await failure(
      transcribeWhisperX(audio, { url: slow.url, timeoutMs: 300, api: 'fastapi', pollIntervalMs: 20 }),
    );
    expect(t.category).toBe('timeout');
  });

  it('OpenAI-compatible: multipart file/model/response_format=verbose_json on /v1/audio/transcriptions', async () => {
    const wx = await start({ style: 'openai' });
    const t = await transcribeWhisperX(audio, {
      url: `${wx.url}/v1`,
      timeoutMs: 5000,
      api: 'openai',
      openaiModel: 'Systran/faster-whisper-large-v3',
    });
    expect(t).toMatchObject(expected);
    const req = wx.last(OPENAI_TRANSCRIPTIONS_PATH)!;
    expect(req.fields).toMatchObject({
      model: 'Systran/faster-whisper-large-v3',
      response_format: 'verbose_json',
      language: 'ru',
    });
    expect(req.files!['file']!.bytes.byteLength).toBe(audio.bytes.byteLength);
  });

  it.each(['asr', 'fastapi', 'openai'] as const)(
    'auto detects %s from /openapi.json once per instance',
    async (style) => {
      const wx = await start({ style, pollsBeforeDone: 0 });
      for (let i = 0; i < 3; i++) {
        expect(
          await transcribeWhisperX(audio, { url: wx.url, timeoutMs: 5000, pollIntervalMs: 10 }),
        ).toMatchObject(expected);
      }
      expect(wx.requestsTo('/openapi.json')).toHaveLength(1);
      expect(whisperxInstances(wx.url)[0]!.style).toBe(style);
    },
  );

  it('the configured style wins over detection (no probe); the wrong one is the server 404', async () => {
    const wx = await start({ style: 'openai' });
    const e = await failure(transcribeWhisperX(audio, { url: wx.url, timeoutMs: 5000, api: 'asr' }));
    expect(e.status).toBe(404);
    expect(wx.requestsTo('/openapi.json')).toHaveLength(0);
  });
});

describe('several instances', () => {
  it('spreads calls round-robin over WHISPERX_URL=a,b', async () => {
    const [a, b] = [await start(), await start()];
    for (let i = 0; i < 4; i++)
      await transcribeWhisperX(audio, { url: `${a.url},${b.url}`, timeoutMs: 5000, api: 'asr' });
    expect([a.requestsTo(ASR_PATH).length, b.requestsTo(ASR_PATH).length]).toEqual([2, 2]);
  });

  it('skips an instance that is down within the same call, and opens its circuit', async () => {
    const dead = await deadUrl();
    const b = await start();
    const url = `${dead},${b.url}`;
    for (let i = 0; i < 4; i++) {
      expect(await transcribeWhisperX(audio, { url, timeoutMs: 5000, api: 'asr' })).toMatchObject(expected);
    }
    expect(b.requestsTo(ASR_PATH)).toHaveLength(4);
    const [deadState] = whisperxInstances(url);
    expect(deadState!.state).toBe('open');
    expect(deadState!.consecutive_failures).toBe(INSTANCE_CIRCUIT.threshold);
  });

  it('every instance down is provider_unavailable (retryable)', async () => {
    const e = await failure(
      transcribeWhisperX(audio, {
        url: `${await deadUrl()},${await deadUrl()}`,
        timeoutMs: 2000,
        api: 'asr',
      }),
    );
    expect(e.category).toBe('provider_unavailable');
    expect(e.retryable).toBe(true);
  });

  it('a 4xx from one instance is not retried on the other (the audio would get the same answer)', async () => {
    const [a, b] = [await start(), await start()];
    a.setBehaviour({ kind: 'error', status: 422, message: 'bad audio' });
    b.setBehaviour({ kind: 'error', status: 422, message: 'bad audio' });
    await failure(transcribeWhisperX(audio, { url: `${a.url},${b.url}`, timeoutMs: 2000, api: 'asr' }));
    expect(a.requestsTo(ASR_PATH).length + b.requestsTo(ASR_PATH).length).toBe(1);
  });
});

describe('split_channels', () => {
  it('sends each channel as 16 kHz mono WAV and labels segments by channel', async () => {
    const wx = await start();
    wx.setBehaviour((req) => {
      const name = req.files!['audio_file']!.filename;
      return {
        kind: 'answer',
        segments: [{ start: name === 'channel-0.wav' ? 0.5 : 0.2, end: 1, text: ` ${name}` }],
      };
    });
    const left = new Int16Array(16000).fill(1000);
    const right = new Int16Array(16000).fill(-1000);
    const t = await transcribeWhisperX(
      { bytes: stereoWav(left, right), mimeType: 'audio/wav', filename: 'call.wav', splitChannels: true },
      { url: wx.url, timeoutMs: 5000, api: 'asr', diarize: true },
    );
    expect(t.segments).toEqual([
      { start: 0.2, end: 1, text: 'channel-1.wav', speaker: 'SPEAKER_01' },
      { start: 0.5, end: 1, text: 'channel-0.wav', speaker: 'SPEAKER_00' },
    ]);
    for (const r of wx.requestsTo(ASR_PATH)) {
      const wav = r.files!['audio_file']!.bytes;
      expect([wav.readUInt16LE(22), wav.readUInt32LE(24)]).toEqual([1, 16000]);
      expect(r.query['diarize']).toBeUndefined(); // the channel is the speaker
    }
  });
});
