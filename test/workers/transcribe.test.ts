// The transcription worker end to end on PGlite (and PostgreSQL when TEST_DATABASE_URL is
// set), against a loopback whisper-asr-webservice and two vLLM fakes (Qwen2-Audio,
// Voxtral): the A/B attempts, where the main segments come from, what the audio LLMs
// receive (field by field), failures keeping their attempts, which model profiles are
// served, and the deferred comparison: the transcript delivered with the first provider's
// latency while slow comparison providers fill in their attempts afterwards.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { listJobs } from '../../lib/jobs/list.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import { agreement } from '../../lib/transcripts/wer.ts';
import { builtinHandlers } from '../../workers/handlers/index.ts';
import { startWorker, type WorkerHandle } from '../../workers/worker.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';
import { makeWav, toBase64 } from '../support/fake-audio.ts';
import { CHAT_PATH, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { ASR_PATH, type FakeWhisperX, startFakeWhisperX } from '../support/fake-whisperx.ts';
import { addJob, jobRow, testConfig, waitFor, waitForStatus } from './helpers.ts';

const PROMPT = 'Transcribe verbatim, Russian.';
const QWEN_KEY = 'sk-qwen-audio-key-1111';
const SHARED_KEY = 'sk-audio-shared-key-2222';
const QWEN_MODEL = 'Qwen/Qwen2-Audio-7B-Instruct';
const VOXTRAL_MODEL = 'mistralai/Voxtral-Small-24B-2507';

type Attempt = Record<string, unknown> & { provider: string; status: string; text: string };
type Result = Record<string, unknown> & { attempts: Attempt[]; comparison: string };
const resultOf = (row: JobRow) => row.result as Result;
/** A comparison provider far slower than the first one (the benchmark has the distribution). */
const SLOW_MS = 3_000;

describe.each(hasServer ? (['pglite', 'pg'] as const) : (['pglite'] as const))(
  'transcription worker on %s',
  (driver) => {
    let t: TestDb;
    let db: Db;
    let wx: FakeWhisperX;
    let qwen: FakeOpenAI;
    let voxtral: FakeOpenAI;
    let worker: WorkerHandle | undefined;
    const wav = makeWav({ seconds: 2 });
    const audio = toBase64(wav);

    beforeAll(async () => {
      t = await freshDb(driver);
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
    const comparisonJobs = async () =>
      (
        await db.query<JobRow & { parent_id: string }>(
          `SELECT * FROM ai_jobs WHERE task_type = 'transcribe_compare' ORDER BY model_profile`,
        )
      ).rows;
    const settledComparisons = () =>
      waitFor(async () => {
        const kids = await comparisonJobs();
        return kids.every((k) => k.status === 'completed' || k.status === 'failed') ? kids : undefined;
      }, 'the comparison jobs to end');
    const transcribeJob = (
      over: {
        model_profile?: string;
        input?: Record<string, unknown>;
        max_attempts?: number;
        priority?: number;
      } = {},
    ) =>
      addJob(db, {
        task_type: 'transcribe',
        model_profile: 'whisperx',
        input: { audio_base64: audio, mime_type: 'audio/wav', language: 'ru', call_id: 'beeline/42' },
        ...over,
      });

    it('compare "inline": whisperx failing, three attempts, segments from qwen2-audio, audio-LLM bodies as specified', async () => {
      wx.setBehaviour({ kind: 'error', status: 500, message: 'CUDA out of memory' });
      qwen.setBehaviour({ kind: 'answer', content: 'Алло, это тест.' });
      voxtral.setBehaviour({ kind: 'answer', content: 'Алло, это тест!' });
      const job = await transcribeJob({
        input: {
          audio_base64: audio,
          mime_type: 'audio/wav',
          language: 'ru',
          call_id: 'beeline/42',
          compare: 'inline',
        },
      });
      // Generous timeouts: nothing here hangs, and a loaded machine must not turn an answer into a timeout.
      await start({ AUDIO_LLM_TIMEOUT: '20s', WHISPERX_TIMEOUT: '20s' });
      const done = await waitForStatus(db, job.id, 'completed', 15_000);
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
      // Inline: compared before completion, every completed pair's agreement stored both ways.
      expect(r['comparison']).toBe('complete');
      for (const i of [1, 2]) {
        const a = r.attempts[i]!;
        expect(a).toMatchObject({ audio_duration_sec: 2, word_count: 3 });
        expect(a['rtf']).toBeCloseTo((a['duration_ms'] as number) / 1000 / 2, 3);
      }
      expect(r.attempts[1]!['agreement']).toEqual({ 'voxtral-small': 1 });
      expect(r.attempts[2]!['agreement']).toEqual({ 'qwen2-audio': 1 });
      expect(r.attempts[0]!['agreement']).toBeUndefined();
      expect(await comparisonJobs()).toEqual([]);

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
      const done = await waitForStatus(db, job.id, 'completed', 15_000);
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
      const done = await waitForStatus(db, job.id, 'completed', 15_000);
      expect(done.result).toMatchObject({ provider: 'voxtral-small', text: 'только voxtral' });
      expect((done.result as { attempts: unknown[] }).attempts).toHaveLength(1);
      expect(wx.requests).toHaveLength(0);
      expect(qwen.requests).toHaveLength(0);
    });

    it('deferred (default): delivered with whisperx latency; slow comparisons fill in their attempts afterwards', async () => {
      wx.setBehaviour({ kind: 'answer', segments: [{ start: 0, end: 2, text: ' Алло, это тест.' }] });
      qwen.setBehaviour({ kind: 'answer', content: 'Алло, это тест, да.', delayMs: SLOW_MS });
      voxtral.setBehaviour({ kind: 'answer', content: 'Алло тест.', delayMs: SLOW_MS });
      const job = await transcribeJob({ priority: 3 });
      await start({ AUDIO_LLM_TIMEOUT: '20s' });
      const done = await waitForStatus(db, job.id, 'completed', 15_000);
      const first = resultOf(done);
      // Completed before either comparison provider could answer.
      expect(done.duration_ms!).toBeLessThan(SLOW_MS);
      expect(first).toMatchObject({ provider: 'whisperx', text: 'Алло, это тест.', comparison: 'pending' });
      expect(first.attempts.map((a) => [a.provider, a.status])).toEqual([
        ['whisperx', 'completed'],
        ['qwen2-audio', 'pending'],
        ['voxtral-small', 'pending'],
      ]);
      expect(first.attempts[0]).toMatchObject({ audio_duration_sec: 2, word_count: 3, agreement: {} });

      const compared = await waitFor(
        async () => {
          const row = await jobRow(db, job.id);
          return resultOf(row).comparison === 'complete' ? row : undefined;
        },
        'the comparison to complete',
        10_000,
      );
      const r = resultOf(compared);
      const [w, q, v] = ['Алло, это тест.', 'Алло, это тест, да.', 'Алло тест.'];
      expect(r.attempts.map((a) => [a.provider, a.status, a.text, a['agreement']])).toEqual([
        ['whisperx', 'completed', w, { 'qwen2-audio': agreement(w, q), 'voxtral-small': agreement(w, v) }],
        ['qwen2-audio', 'completed', q, { whisperx: agreement(q, w), 'voxtral-small': agreement(q, v) }],
        ['voxtral-small', 'completed', v, { whisperx: agreement(v, w), 'qwen2-audio': agreement(v, q) }],
      ]);
      expect(r.attempts[1]!['agreement']).toEqual({ whisperx: 0.6667, 'voxtral-small': 0 });
      for (const a of r.attempts.slice(1)) {
        expect(a['duration_ms']).toBeGreaterThanOrEqual(SLOW_MS);
        expect(a['audio_duration_sec']).toBe(2);
        expect(a['rtf']).toBeCloseTo((a['duration_ms'] as number) / 2000, 3);
      }
      // The transcript itself never moved: same text, status, finish time, updated_at.
      expect(compared).toMatchObject({
        status: 'completed',
        finished_at: done.finished_at,
        updated_at: done.updated_at,
        duration_ms: done.duration_ms,
      });
      expect(r).toMatchObject({ text: first.text, segments: first.segments, provider: 'whisperx' });

      // The comparisons were jobs of their own, below every caller priority, now completed.
      const kids = await settledComparisons();
      expect(
        kids.map((k) => [k.model_profile, k.status, k.parent_id, k.priority, k.result?.['outcome']]),
      ).toEqual([
        ['qwen2-audio', 'completed', job.id, 3 - 2001, 'recorded'],
        ['voxtral-small', 'completed', job.id, 3 - 2001, 'recorded'],
      ]);
      // Each comparison provider got the parent's audio once.
      for (const fake of [qwen, voxtral]) {
        const reqs = fake.requestsTo(CHAT_PATH);
        expect(reqs).toHaveLength(1);
        const content = (reqs[0]!.json as { messages: { content: Record<string, unknown>[] }[] }).messages[0]!
          .content;
        expect(content[1]).toEqual({
          type: 'audio_url',
          audio_url: { url: `data:audio/wav;base64,${audio}` },
        });
      }
      // And the caller sees only the transcript.
      const mine = await listJobs(db, { owner_service: 'test' });
      expect(mine.jobs.map((j) => j.id)).toEqual([job.id]);
    });

    it('a comparison failing for good marks its attempt failed; a retryable one is retried; the transcript stays as delivered', async () => {
      wx.setBehaviour({ kind: 'answer', segments: [{ start: 0, end: 2, text: ' Алло.' }] });
      qwen.queue({ kind: 'error', status: 503, message: 'warming up' });
      qwen.setBehaviour({ kind: 'answer', content: 'Алло.' });
      voxtral.setBehaviour({ kind: 'error', status: 400, message: 'audio format not supported' });
      const job = await transcribeJob({ max_attempts: 3 });
      await start();
      const done = await waitForStatus(db, job.id, 'completed', 15_000);
      const compared = await waitFor(
        async () => {
          const row = await jobRow(db, job.id);
          return resultOf(row).comparison === 'complete' ? row : undefined;
        },
        'the comparison to complete',
        10_000,
      );
      const r = resultOf(compared);
      expect(r.attempts[1]).toMatchObject({ status: 'completed', text: 'Алло.', agreement: { whisperx: 1 } });
      expect(r.attempts[2]).toMatchObject({
        status: 'failed',
        text: '',
        error: { category: 'invalid_input', message: expect.stringMatching(/audio format not supported/) },
      });
      expect(r.attempts[0]!['agreement']).toEqual({ 'qwen2-audio': 1 });
      const kids = await settledComparisons();
      expect(kids.map((k) => [k.model_profile, k.status, k.attempts])).toEqual([
        ['qwen2-audio', 'completed', 2],
        ['voxtral-small', 'failed', 1],
      ]);
      expect(qwen.requestsTo(CHAT_PATH)).toHaveLength(2);
      expect(compared).toMatchObject({ status: 'completed', updated_at: done.updated_at });
    });

    it('sampling: TRANSCRIPTION_COMPARE_SAMPLE=0 skips comparisons; compare_sample per job overrides it; bad values are invalid_input', async () => {
      wx.setBehaviour({ kind: 'answer', segments: [{ start: 0, end: 2, text: ' Алло.' }] });
      qwen.setBehaviour({ kind: 'answer', content: 'Алло.' });
      voxtral.setBehaviour({ kind: 'answer', content: 'Алло.' });
      const base = { audio_base64: audio, mime_type: 'audio/wav' };
      const skipped = await transcribeJob({ input: base });
      const sampled = await transcribeJob({ input: { ...base, compare_sample: 1 } });
      const bad = await transcribeJob({ input: { ...base, compare: 'later' }, max_attempts: 1 });
      const badSample = await transcribeJob({ input: { ...base, compare_sample: 2 }, max_attempts: 1 });
      await start({ TRANSCRIPTION_COMPARE_SAMPLE: '0' });

      const s = resultOf(await waitForStatus(db, skipped.id, 'completed'));
      expect(s.comparison).toBe('skipped');
      expect(s.attempts.map((a) => [a.provider, a.status, a['error']])).toEqual([
        ['whisperx', 'completed', null],
        ['qwen2-audio', 'skipped', null],
        ['voxtral-small', 'skipped', null],
      ]);
      await waitFor(
        async () => resultOf(await jobRow(db, sampled.id))?.comparison === 'complete',
        'the sampled job to be compared',
        10_000,
      );
      expect((await comparisonJobs()).map((k) => k.parent_id)).toEqual([sampled.id, sampled.id]);
      // Only the sampled job reached the comparison providers.
      expect(qwen.requestsTo(CHAT_PATH)).toHaveLength(1);
      expect(voxtral.requestsTo(CHAT_PATH)).toHaveLength(1);

      for (const [id, msg] of [
        [bad.id, /compare must be "deferred" \(default\) or "inline"/],
        [badSample.id, /compare_sample must be a number from 0 to 1/],
      ] as const) {
        const failed = await waitForStatus(db, id, 'failed');
        expect(failed.error_category).toBe('invalid_input');
        expect(failed.error_message).toMatch(msg);
      }
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
      // Comparison handlers: one per provider after the first that has a URL, sharing its circuit.
      const chain = { WHISPERX_URL: 'http://wx:9000', QWEN_AUDIO_BASE_URL: 'http://q:8003' };
      const compare = builtinHandlers(
        testConfig({ ...chain, TRANSCRIPTION_PROVIDERS: 'whisperx,qwen2-audio,voxtral-small' }),
        db,
      );
      expect(
        compare.handlers
          .filter((h) => h.taskTypes.includes('transcribe_compare'))
          .map((h) => [h.name, h.modelProfiles, h.provider]),
      ).toEqual([['compare:qwen2-audio', ['qwen2-audio'], 'qwen2-audio']]);
      expect(compare.disabled.find((d) => d.name === 'compare:voxtral-small')?.reason).toBe(
        'VOXTRAL_BASE_URL is not set',
      );
    });
  },
);
