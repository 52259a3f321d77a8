// The worker as a real process on real PostgreSQL: killed with SIGKILL mid-job (the lease
// is reaped, another worker finishes the job, the dead worker's late write is refused) and
// stopped with SIGTERM mid-job (what can finish finishes, the rest returns to pending,
// exit code 0).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.ts';
import { completeJob } from '../../lib/jobs/lease.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';
import { CHAT_PATH, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { addJob, jobRow, waitFor, waitForStatus } from './helpers.ts';
import { spawnWorker, type WorkerProcess } from './processes.ts';

const MODEL = 'qwen2.5-14b';

describe.skipIf(!hasServer)('worker process signals (PostgreSQL)', () => {
  let t: TestDb;
  let llm: FakeOpenAI;
  let procs: WorkerProcess[] = [];

  beforeAll(async () => {
    t = await freshDb('pg');
    llm = await startFakeOpenAI({ models: [MODEL] });
  });
  afterAll(async () => {
    await llm?.close();
    await t?.cleanup();
  });
  beforeEach(async () => {
    await t.db.query('DELETE FROM ai_jobs');
    llm.reset();
  });
  afterEach(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    procs = [];
  });

  const worker = (id: string, env: Record<string, string> = {}) => {
    const p = spawnWorker({
      DATABASE_URL: t.url!,
      WORKER_ID: id,
      LLM_BASE_URL: llm.url,
      LLM_MODEL: MODEL,
      LLM_TIMEOUT: '30s',
      WORKER_POLL_INTERVAL: '200ms',
      ...env,
    });
    procs.push(p);
    return p;
  };

  it('SIGKILL mid-job: the lease is reaped, a second worker finishes, the late write is refused', async () => {
    llm.queue({ kind: 'hang' }); // worker A's call never answers
    llm.setBehaviour({ kind: 'answer', content: 'finished by B' });
    const job = await addJob(t.db, { model_profile: MODEL, input: { user: 'summarise' } });
    const a = worker('worker-a', { WORKER_LEASE_TIMEOUT: '5s', WORKER_REAP_INTERVAL: '1h' });
    await llm.waitForRequest((r) => r.path === CHAT_PATH, 10_000);
    const held = await jobRow(t.db, job.id);
    expect(held).toMatchObject({ status: 'running', worker_id: 'worker-a', attempts: 1 });

    expect(await a.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    worker('worker-b', { WORKER_LEASE_TIMEOUT: '5s', WORKER_REAP_INTERVAL: '250ms' });
    const done = await waitForStatus(t.db, job.id, 'completed', 25_000);
    expect(done).toMatchObject({ worker_id: 'worker-b', attempts: 2, error_category: null });
    expect(done.result).toMatchObject({ content: 'finished by B' });

    // Worker A "comes back" and writes with the lease token it held: refused, nothing changes.
    const late = completeJob(
      t.db,
      { id: job.id, workerId: 'worker-a', leaseToken: held.lease_token! },
      { content: 'stale' },
    );
    await expect(late).rejects.toBeInstanceOf(AppError);
    await expect(late).rejects.toMatchObject({ code: 'lease_lost' });
    expect((await jobRow(t.db, job.id)).result).toMatchObject({ content: 'finished by B' });
  });

  it('SIGTERM mid-job: the job that can finish finishes, the stuck one returns to pending, exit 0', async () => {
    llm.setBehaviour((req) => {
      const body = req.json as { messages: { content: string }[] };
      return body.messages[0]?.content === 'slow'
        ? { kind: 'answer', content: 'slow but done', delayMs: 600 }
        : { kind: 'hang' };
    });
    const slow = await addJob(t.db, { model_profile: MODEL, input: { user: 'slow' } });
    const stuck = await addJob(t.db, { model_profile: MODEL, input: { user: 'stuck' } });
    const w = worker('worker-t', { WORKER_SHUTDOWN_GRACE: '1500ms' });
    await waitFor(() => llm.requestsTo(CHAT_PATH).length >= 2, 'both calls to start', 10_000);

    const t0 = Date.now();
    expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(1_500 + 3_000);
    expect(await jobRow(t.db, slow.id)).toMatchObject({
      status: 'completed',
      result: { content: 'slow but done' },
    });
    expect(await jobRow(t.db, stuck.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      lease_expires_at: null,
      error_category: null,
    });
    expect(w.lines.some((l) => l.includes('released unfinished jobs'))).toBe(true);
  });
});
