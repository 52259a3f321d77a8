// A worker SIGKILLed in the middle of a transcription comparison, as real processes on
// real PostgreSQL: the transcript was already delivered; the comparison's lease expires,
// the reaper puts it back, a second worker runs it and fills in the parent's attempt. The
// transcript's status and updated_at never move.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobRow } from '../../lib/jobs/row.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';
import { makeWav, toBase64 } from '../support/fake-audio.ts';
import { CHAT_PATH, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { type FakeWhisperX, startFakeWhisperX } from '../support/fake-whisperx.ts';
import { addJob, jobRow, waitFor, waitForStatus } from './helpers.ts';
import { spawnWorker, type WorkerProcess } from './processes.ts';

type Result = { comparison: string; attempts: Record<string, unknown>[] };

describe.skipIf(!hasServer)('comparison survives a worker crash (PostgreSQL)', () => {
  let t: TestDb;
  let wx: FakeWhisperX;
  let qwen: FakeOpenAI;
  let procs: WorkerProcess[] = [];

  beforeAll(async () => {
    t = await freshDb('pg');
    [wx, qwen] = await Promise.all([startFakeWhisperX(), startFakeOpenAI()]);
  });
  afterAll(async () => {
    await Promise.all([wx?.close(), qwen?.close()]);
    await t?.cleanup();
  });
  beforeEach(async () => {
    await t.db.query('DELETE FROM ai_jobs');
    wx.reset();
    qwen.reset();
  });
  afterEach(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    procs = [];
  });

  const worker = (id: string, env: Record<string, string>) => {
    const p = spawnWorker({
      DATABASE_URL: t.url!,
      WORKER_ID: id,
      TRANSCRIPTION_PROVIDERS: 'whisperx,qwen2-audio',
      WHISPERX_URL: wx.url,
      QWEN_AUDIO_BASE_URL: qwen.url,
      AUDIO_LLM_TIMEOUT: '60s',
      WORKER_POLL_INTERVAL: '200ms',
      WORKER_LEASE_TIMEOUT: '5s', // the shortest the configuration accepts
      ...env,
    });
    procs.push(p);
    return p;
  };
  const comparisonJob = async () =>
    (
      await t.db.query<JobRow & { parent_id: string }>(
        `SELECT * FROM ai_jobs WHERE task_type = 'transcribe_compare'`,
      )
    ).rows[0];

  it('SIGKILL mid-comparison: reaped, re-run by another worker, the attempt filled in once', async () => {
    wx.setBehaviour({ kind: 'answer', segments: [{ start: 0, end: 1, text: ' Алло, это тест.' }] });
    qwen.queue({ kind: 'hang' }); // worker A's comparison call never answers
    qwen.setBehaviour({ kind: 'answer', content: 'Алло, это тест.' });
    const job = await addJob(t.db, {
      task_type: 'transcribe',
      model_profile: 'whisperx',
      input: { audio_base64: toBase64(makeWav({ seconds: 1 })), mime_type: 'audio/wav' },
    });

    const a = worker('worker-a', { WORKER_REAP_INTERVAL: '1h' });
    await qwen.waitForRequest((r) => r.path === CHAT_PATH, 20_000);
    const delivered = await waitForStatus(t.db, job.id, 'completed');
    expect(delivered.result as Result).toMatchObject({
      comparison: 'pending',
      attempts: [{ status: 'completed' }, { status: 'pending' }],
    });
    expect(await comparisonJob()).toMatchObject({ status: 'running', worker_id: 'worker-a', attempts: 1 });

    expect(await a.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });

    // Worker B reaps the expired lease and runs the comparison again.
    worker('worker-b', { WORKER_REAP_INTERVAL: '300ms' });
    const compared = await waitFor(
      async () => {
        const row = await jobRow(t.db, job.id);
        return (row.result as Result).comparison === 'complete' ? row : undefined;
      },
      'the comparison to complete after the reap',
      30_000,
    );
    expect((compared.result as Result).attempts[1]).toMatchObject({
      provider: 'qwen2-audio',
      status: 'completed',
      text: 'Алло, это тест.',
      agreement: { whisperx: 1 },
    });
    expect((compared.result as Result).attempts[0]).toMatchObject({ agreement: { 'qwen2-audio': 1 } });
    const cmp = await waitFor(
      async () => {
        const c = await comparisonJob();
        return c?.status === 'completed' ? c : undefined;
      },
      'the comparison job to complete',
      10_000,
    );
    expect(cmp).toMatchObject({ worker_id: 'worker-b', attempts: 2, parent_id: job.id });
    expect(qwen.requestsTo(CHAT_PATH)).toHaveLength(2);
    // The transcript was never reopened.
    expect(compared).toMatchObject({
      status: 'completed',
      finished_at: delivered.finished_at,
      updated_at: delivered.updated_at,
    });
  });
});
