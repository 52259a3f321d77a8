// Per-handler slots (issue 11): the built-in worker gives LLM and transcription jobs each
// their own limit within WORKER_CLAIM_LIMIT, so a transcription never waits behind a
// backlog of LLM jobs. Real database, real loopback vLLM and WhisperX servers; the LLM
// server holds every chat call until the test ends, so the LLM slots stay occupied.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { poolLimits } from '../../workers/capacity.ts';
import { startWorker, type WorkerHandle } from '../../workers/worker.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';
import { makeWav, toBase64 } from '../support/fake-audio.ts';
import { CHAT_PATH, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { ASR_PATH, type FakeWhisperX, startFakeWhisperX } from '../support/fake-whisperx.ts';
import { addJob, countByStatus, testConfig, waitFor, waitForStatus } from './helpers.ts';

const WORKER_DRIVERS = DRIVERS.filter((d) => d !== 'neon');
const MODEL = 'qwen2.5-14b';

describe('poolLimits', () => {
  const both = new Set(['llm', 'transcribe']);
  it('splits the default total 3 + 1, and gives a lone pool the whole total', () => {
    expect(poolLimits(4, {}, both)).toEqual({ limits: { llm: 3, transcribe: 1 }, overcommitted: false });
    expect(poolLimits(16, {}, both)).toEqual({ limits: { llm: 12, transcribe: 4 }, overcommitted: false });
    expect(poolLimits(4, {}, new Set(['llm']))).toEqual({ limits: { llm: 4 }, overcommitted: false });
    // Comparisons first take their own slot out of the total; transcripts keep theirs.
    expect(poolLimits(4, {}, new Set(['llm', 'transcribe', 'compare']))).toEqual({
      limits: { compare: 1, llm: 2, transcribe: 1 },
      overcommitted: false,
    });
    expect(poolLimits(4, { compare: 2 }, new Set(['transcribe', 'compare']))).toEqual({
      limits: { compare: 2, transcribe: 2 },
      overcommitted: false,
    });
    expect(poolLimits(500, {}, new Set())).toEqual({ limits: {}, overcommitted: false });
  });
  it('gives the unset pool what the set one leaves, and says when the limits overcommit the total', () => {
    expect(poolLimits(6, { llm: 4 }, both).limits).toEqual({ llm: 4, transcribe: 2 });
    expect(poolLimits(6, { transcribe: 1 }, both).limits).toEqual({ llm: 5, transcribe: 1 });
    expect(poolLimits(4, { llm: 4 }, both)).toEqual({
      limits: { llm: 4, transcribe: 1 },
      overcommitted: true,
    });
    expect(poolLimits(1, {}, both)).toEqual({ limits: { llm: 1, transcribe: 1 }, overcommitted: true });
  });
});

describe.each(WORKER_DRIVERS)('per-handler slots on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  let llm: FakeOpenAI;
  let wx: FakeWhisperX;
  let worker: WorkerHandle | undefined;
  const audio = toBase64(makeWav({ seconds: 1 }));

  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
    [llm, wx] = await Promise.all([startFakeOpenAI({ models: [MODEL] }), startFakeWhisperX()]);
  });
  afterAll(async () => {
    await Promise.all([llm?.close(), wx?.close()]);
    await t?.cleanup();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
    llm.reset();
    wx.reset();
    llm.setBehaviour({ kind: 'hang' }); // LLM calls hold their slots until shutdown aborts them
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  const start = async (env: Record<string, string>) => {
    worker = await startWorker(
      testConfig({
        LLM_BASE_URL: llm.url,
        LLM_MODEL: MODEL,
        WHISPERX_URL: wx.url,
        WORKER_SHUTDOWN_GRACE: '0s',
        ...env,
      }),
      { db, probe: false, reaper: false },
    );
    return worker;
  };
  const llmJobs = (n: number) =>
    Promise.all(Array.from({ length: n }, () => addJob(db, { task_type: 'llm_chat', model_profile: MODEL })));
  const transcribeJob = () =>
    addJob(db, {
      task_type: 'transcribe',
      model_profile: 'whisperx',
      input: { audio_base64: audio, mime_type: 'audio/wav' },
    });

  it('a transcription created after 4 long LLM jobs fill the LLM slots runs at once', async () => {
    const w = await start({
      WORKER_CLAIM_LIMIT: '5',
      WORKER_LLM_CONCURRENCY: '4',
      WORKER_TRANSCRIBE_CONCURRENCY: '1',
    });
    await llmJobs(5);
    await waitFor(
      () => llm.requests.filter((r) => r.path === CHAT_PATH).length >= 4,
      '4 LLM calls in flight',
    );
    const job = await transcribeJob();
    const done = await waitForStatus(db, job.id, 'completed');
    expect(done.result).toMatchObject({ provider: 'whisperx' });
    expect(wx.requests.filter((r) => r.path === ASR_PATH)).toHaveLength(1);
    // The LLM jobs are still holding their slots; the fifth still waits for one of them.
    expect(await countByStatus(db)).toEqual({ running: 4, pending: 1, completed: 1 });
    expect(llm.requests.filter((r) => r.path === CHAT_PATH)).toHaveLength(4);
    expect(w.status().slots).toEqual({
      total: { limit: 5, running: 4 },
      pools: { llm: { limit: 4, running: 4 }, transcribe: { limit: 1, running: 0 } },
    });
  });

  it('with the defaults (4 = 3 LLM + 1 transcription) four queued LLM jobs leave audio a slot', async () => {
    const w = await start({});
    await llmJobs(4);
    await waitFor(
      () => llm.requests.filter((r) => r.path === CHAT_PATH).length >= 3,
      '3 LLM calls in flight',
    );
    const job = await transcribeJob();
    await waitForStatus(db, job.id, 'completed');
    expect(await countByStatus(db)).toEqual({ running: 3, pending: 1, completed: 1 });
    expect(w.status().slots.pools).toEqual({
      llm: { limit: 3, running: 3 },
      transcribe: { limit: 1, running: 0 },
    });
  });
});
