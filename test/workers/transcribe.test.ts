// The transcription worker end to end on PGlite, against a loopback whisper-asr-webservice
// and two vLLM fakes (Qwen2-Audio, Voxtral): the A/B attempts, where the main segments
// come from, what the audio LLMs receive (field by field), failures keeping their
// attempts, and which model profiles are served.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { builtinHandlers } from '../../workers/handlers/index.ts';
import { startWorker, type WorkerHandle } from '../../workers/worker.ts';
import { freshDb, type TestDb } from '../support/db.ts';
import { makeWav, toBase64 } from '../support/fake-audio.ts';
import { CHAT_PATH, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { ASR_PATH, type FakeWhisperX, startFakeWhisperX } from '../support/fake-whisperx.ts';
import { addJob, testConfig, waitForStatus } from './helpers.ts';

const PROMPT = 'Transcribe verbatim, Russian.';
const QWEN_KEY = 'sk-qwen-audio-key-1111';
const SHARED_KEY = 'sk-audio-shared-key-2222';
const QWEN_MODEL = 'Qwen/Qwen2-Audio-7B-Instruct';
const VOXTRAL_MODEL = 'mistralai/Voxtral-Small-24B-2507';

describe('transcription worker', () => {
  let t: TestDb;
  let db: Db;
  let wx: FakeWhisperX;
  let qwen: FakeOpenAI;
  let voxtral: FakeOpenAI;
  let worker: WorkerHandle | undefined;
  const wav = makeWav({ seconds: 2 });
  const audio = toBase64(wav);

  beforeAll(async () => {
    t = await freshDb('pglite');
    db = t.db;
    [wx, qwen, voxtral] = await Promise.all([startFakeWhisperX(), startFakeOpenAI(), startFakeOpenAI()]);
  });
  afterAll(async () => {
    await Promise.all([wx?.close(), qwen?.close(), voxtral?.close()]);
    await t?.cleanup();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
    for (const f of [wx, qwen, voxtral]) f.reset();
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  const env = (over: Record<string, string> = {}) => ({
    TRANSCRIPTION_PROVIDERS: 'whisperx,qwen2-audio,voxtral-small',
    WHISPERX_URL: wx.url,
    QWEN_AUDIO_BASE_URL: qwen.url,
    VOXTRAL_BASE_URL: voxtral.url,
    QWEN_AUDIO_API_KEY: QWEN_KEY,
    AUDIO_LLM_API_KEY: SHARED_KEY,
    AUDIO_LLM_PROMPT: PROMPT,
    AUDIO_LLM_MAX_TOKENS: '1024',
    AUDIO_LLM_TIMEOUT: '1500ms',
    WHISPERX_TIMEOUT: '1500ms',
    ...over,
  });
  const start = async (over: Record<string, string> = {}) => {
    worker = await startWorker(testConfig(env(over)), { db, probe: false, reaper: false });
    return worker;
  };
  const transcribeJob = (
    over: { model_profile?: string; input?: Record<string, unknown>; max_attempts?: number } = {},
  ) =>
    addJob(db, {
      task_type: 'transcribe',
      model_profile: 'whisperx',
      input: { audio_base64: audio, mime_type: 'audio/wav', language: 'ru', call_id: 'beeline/42' },
      ...over,
    });

  it('whisperx failing: three attempts, segments from qwen2-audio, audio-LLM bodies as specified', async () => {
    wx.setBehaviour({ kind: 'error', status: 500, message: 'CUDA out of memory' });
    qwen.setBehaviour({ kind: 'answer', content: 'Алло, это тест.' });
    voxtral.setBehaviour({ kind: 'answer', content: 'Алло, это тест!' });
    const job = await transcribeJob();
    await start();
    const done = await waitForStatus(db, job.id, 'completed');
    const r = done.result as Record<string, unknown> & { attempts: Record<string, unknown>[] };

    expect(r).toMatchObject({
      text: 'Алло, это тест.',
      segments: [{ start: 0, end: 2, text: 'Алло, это тест.' }],
      language: 'ru',
      provider: 'qwen2-audio',
      model: QWEN_MODEL,
      duration_ms: expect.any(Number),
    });
    expect(r.attempts.map((a) => [a['provider'], a['status']])).toEqual([
      ['whisperx', 'failed'],
      ['qwen2-audio', 'completed'],
      ['voxtral-small', 'completed'],
    ]);
    expect(r.attempts[0]).toMatchObject({
      model: 'whisperx',
      text: '',
      segments: [],
      error: {
        category: 'provider_error',
        status: 500,
        message: expect.stringMatching(/CUDA out of memory/),
      },
    });
    expect(r.attempts[2]).toMatchObject({
      model: VOXTRAL_MODEL,
      text: 'Алло, это тест!',
      segments: [{ start: 0, end: 2, text: 'Алло, это тест!' }],
      error: null,
    });

    // WhisperX got the multipart upload once.
    const asr = wx.last(ASR_PATH)!;
    expect(asr.query).toMatchObject({ task: 'transcribe', output: 'json', language: 'ru' });
    expect(Buffer.compare(asr.files!['audio_file']!.bytes, Buffer.from(wav))).toBe(0);

    // The audio LLMs, field by field: no system message, the prompt as text, the audio as a data URL.
    for (const [fake, model, key] of [
      [qwen, QWEN_MODEL, QWEN_KEY],
      [voxtral, VOXTRAL_MODEL, SHARED_KEY],
    ] as const) {
      const reqs = fake.requestsTo(CHAT_PATH);
      expect(reqs).toHaveLength(1);
      const req = reqs[0]!;
      expect(req.headers.authorization).toBe(`Bearer ${key}`);
      const body = req.json as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['max_tokens', 'messages', 'model']);
      expect(body['model']).toBe(model);
      expect(body['max_tokens']).toBe(1024);
      const messages = body['messages'] as { role: string; content: Record<string, unknown>[] }[];
      expect(messages).toHaveLength(1);
      expect(messages[0]!.role).toBe('user');
      expect(messages[0]!.content).toHaveLength(2);
      expect(messages[0]!.content[0]).toEqual({ type: 'text', text: PROMPT });
      expect(messages[0]!.content[1]).toEqual({
        type: 'audio_url',
        audio_url: { url: `data:audio/wav;base64,${audio}` },
      });
      expect(req.body.toString()).not.toContain('beeline');
    }
  });

  it('every provider failing: the job fails with the most actionable category and keeps its attempts', async () => {
    wx.setBehaviour({ kind: 'error', status: 500 });
    qwen.setBehaviour({ kind: 'error', status: 503 });
    voxtral.setBehaviour({ kind: 'hang' });
    const job = await transcribeJob({ max_attempts: 1 });
    await start();
    const failed = await waitForStatus(db, job.id, 'failed');
    expect(failed.error_category).toBe('provider_unavailable');
    expect(failed.error_message).toMatch(/all transcription providers failed/);
    const attempts = (
      failed.result as { attempts: { provider: string; status: string; error: { category: string } }[] }
    ).attempts;
    expect(attempts.map((a) => [a.provider, a.status, a.error.category])).toEqual([
      ['whisperx', 'failed', 'provider_error'],
      ['qwen2-audio', 'failed', 'provider_unavailable'],
      ['voxtral-small', 'failed', 'timeout'],
    ]);
  });

  it('whisperx alone: diarized segments with speakers; a listed provider without a URL is a skipped attempt', async () => {
    wx.setBehaviour({
      kind: 'answer',
      segments: [
        { start: 0, end: 1.2, text: ' Алло.', speaker: 'SPEAKER_00' },
        { start: 1.2, end: 2, text: ' Здравствуйте.', speaker: 'SPEAKER_01' },
      ],
      text: null,
    });
    const job = await transcribeJob({
      input: { audio_base64: audio, mime_type: 'audio/wav', diarize: true },
    });
    await start({ TRANSCRIPTION_PROVIDERS: 'whisperx,voxtral-small', VOXTRAL_BASE_URL: '' });
    const done = await waitForStatus(db, job.id, 'completed');
    expect(done.result).toMatchObject({
      provider: 'whisperx',
      text: 'Алло. Здравствуйте.',
      segments: [
        { start: 0, end: 1.2, text: 'Алло.', speaker: 'SPEAKER_00' },
        { start: 1.2, end: 2, text: 'Здравствуйте.', speaker: 'SPEAKER_01' },
      ],
      attempts: [
        { provider: 'whisperx', status: 'completed' },
        {
          provider: 'voxtral-small',
          status: 'skipped',
          error: { message: expect.stringMatching(/VOXTRAL_BASE_URL/) },
        },
      ],
    });
    expect(wx.last(ASR_PATH)!.query['diarize']).toBe('true');
    expect(voxtral.requests).toHaveLength(0);
  });

  it('a provider-named profile runs that provider alone', async () => {
    voxtral.setBehaviour({ kind: 'answer', content: 'только voxtral' });
    const job = await transcribeJob({ model_profile: 'voxtral-small' });
    await start();
    const done = await waitForStatus(db, job.id, 'completed');
    expect(done.result).toMatchObject({ provider: 'voxtral-small', text: 'только voxtral' });
    expect((done.result as { attempts: unknown[] }).attempts).toHaveLength(1);
    expect(wx.requests).toHaveLength(0);
    expect(qwen.requests).toHaveLength(0);
  });

  it('serves a profile only when it can run, and says what is missing', () => {
    const none = builtinHandlers(testConfig({}));
    expect(none.handlers).toEqual([]);
    expect(none.disabled.map((d) => [d.name, d.reason])).toEqual([
      ['llm', 'LLM_BASE_URL is not set'],
      [
        'transcribe',
        expect.stringMatching(/no provider of TRANSCRIPTION_PROVIDERS \(whisperx\).*WHISPERX_URL/),
      ],
      ['transcribe:qwen2-audio', 'QWEN_AUDIO_BASE_URL is not set'],
      ['transcribe:voxtral-small', 'VOXTRAL_BASE_URL is not set'],
    ]);
    const some = builtinHandlers(
      testConfig({ WHISPERX_URL: 'http://wx:9000', QWEN_AUDIO_BASE_URL: 'http://q:8003' }),
    );
    expect(some.handlers.map((h) => [h.name, h.taskTypes, h.modelProfiles, h.provider])).toEqual([
      ['transcribe', ['transcribe'], ['whisperx'], 'transcription'],
      ['transcribe:qwen2-audio', ['transcribe'], ['qwen2-audio'], 'qwen2-audio'],
    ]);
  });
});
