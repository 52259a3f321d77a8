// The LLM worker end to end: startWorker with the built-in handlers against a loopback
// vLLM/OpenAI fake. Every provider outcome lands in its category (and status), retries
// happen with backoff, nothing stays running, a lost lease aborts the HTTP call.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { retryJob } from '../../lib/jobs/admin.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import { startWorker, type WorkerHandle } from '../../workers/worker.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';
import { CHAT_PATH, type ChatAnswer, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import type { BehaviourOf, RecordedRequest } from '../support/fake-server.ts';
import { addJob, countByStatus, testConfig, waitFor, waitForStatus } from './helpers.ts';

const MODEL = 'qwen2.5-14b';
const KEY = 'sk-test-llm-key-0123456789';
const WORKER_DRIVERS = DRIVERS.filter((d) => d !== 'neon');

/** The `case:<name>` marker a test puts in the user message picks the fake's behaviour. */
function marker(req: RecordedRequest): string {
  const body = req.json as { messages?: { role: string; content: unknown }[] } | undefined;
  const user = body?.messages?.find((m) => m.role === 'user')?.content;
  return (typeof user === 'string' ? /case:(\w+)/.exec(user)?.[1] : undefined) ?? 'ok';
}

describe.each(WORKER_DRIVERS)('LLM worker on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  let llm: FakeOpenAI;
  let worker: WorkerHandle | undefined;
  const calls = new Map<string, number>();

  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
    llm = await startFakeOpenAI({ models: [MODEL], apiKey: KEY });
  });
  afterAll(async () => {
    await llm?.close();
    await t?.cleanup();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
    llm.reset();
    calls.clear();
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  const start = async (env: Record<string, string> = {}) => {
    const config = testConfig({
      LLM_BASE_URL: llm.url,
      LLM_API_KEY: KEY,
      LLM_MODEL: MODEL,
      // Short enough for the hang case, long enough for a loaded CI machine (PGlite shares
      // the event loop; with two test files at once on 2 CPUs an answer took over 1.5 s).
      LLM_TIMEOUT: '2500ms',
      WORKER_CLAIM_LIMIT: '8',
      ...env,
    });
    worker = await startWorker(config, { db, probe: false, reaper: false });
    return worker;
  };

  it('completes a chat job with content, model, usage, duration_ms and finish_reason, sending only chat fields', async () => {
    llm.setBehaviour({
      kind: 'answer',
      content: '{"label":"spam"}',
      model: 'qwen2.5-14b-instruct-awq',
      finish_reason: 'stop',
      usage: { prompt_tokens: 30, completion_tokens: 7 },
    });
    const job = await addJob(db, {
      task_type: 'call_analysis',
      model_profile: MODEL,
      input: {
        system: 'Answer as JSON.',
        user: 'Classify this call',
        max_tokens: 64,
        temperature: 0.2,
        response_format: 'json',
        call_id: 'beeline/123',
        customer_phone: '+79990001122',
      },
    });
    await start();
    const done = await waitForStatus(db, job.id, 'completed');
    expect(done.result).toEqual({
      content: '{"label":"spam"}',
      model: 'qwen2.5-14b-instruct-awq',
      usage: { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37 },
      duration_ms: expect.any(Number),
      finish_reason: 'stop',
    });
    const req = llm.last(CHAT_PATH)!;
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.json).toEqual({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Answer as JSON.' },
        { role: 'user', content: 'Classify this call' },
      ],
      max_tokens: 64,
      temperature: 0.2,
      response_format: { type: 'json_object' },
    });
    // Domain metadata stays in the job; it never reaches the provider.
    expect(req.body.toString()).not.toMatch(/beeline|7999/);
  });

  it('puts every provider outcome in its category; retryable ones go back to pending with backoff', async () => {
    const behaviours: Record<string, BehaviourOf<ChatAnswer>> = {
      rate: { kind: 'rate_limited', retryAfter: 3 },
      e500: { kind: 'error', status: 500, message: 'engine died' },
      empty: { kind: 'empty' },
      e503: { kind: 'error', status: 503 },
      hang: { kind: 'hang' },
      garbage: { kind: 'garbage' },
      context: { kind: 'context_length' },
      bad: { kind: 'error', status: 400, message: 'temperature out of range' },
      drop: { kind: 'drop' },
    };
    llm.setBehaviour((req) => {
      const m = marker(req);
      calls.set(m, (calls.get(m) ?? 0) + 1);
      // e500 answers on its second attempt: the retry after backoff must complete it.
      if (m === 'e500' && calls.get(m)! > 1) return { kind: 'answer', content: 'recovered' };
      return behaviours[m] ?? { kind: 'answer' };
    });
    const ids: Record<string, string> = {};
    for (const m of Object.keys(behaviours)) {
      ids[m] = (await addJob(db, { model_profile: MODEL, input: { user: `case:${m}` } })).id;
    }
    await start();
    // Each job's first outcome, seen before its backoff lets the worker retry it (≥ 1 s).
    const rows = new Map<string, JobRow>();
    await waitFor(
      async () => {
        for (const j of (await db.query<JobRow>('SELECT * FROM ai_jobs')).rows) {
          if (j.attempts === 1 && j.status !== 'running' && !rows.has(j.id)) rows.set(j.id, j);
        }
        return rows.size === Object.keys(behaviours).length;
      },
      'every job to be attempted once',
      10_000,
      // Well inside the ≥ 1 s backoff; polling faster only crowds PGlite's event loop.
      50,
    );
    const row = (m: string) => rows.get(ids[m]!)!;
    const expected: Record<string, [JobRow['status'], string]> = {
      rate: ['pending', 'rate_limited'],
      e500: ['pending', 'provider_error'],
      empty: ['pending', 'provider_error'],
      e503: ['pending', 'provider_unavailable'],
      hang: ['pending', 'timeout'],
      garbage: ['pending', 'invalid_output'],
      context: ['failed', 'context_length_exceeded'],
      bad: ['failed', 'invalid_input'],
      drop: ['pending', 'provider_unavailable'],
    };
    for (const [m, [status, category]] of Object.entries(expected)) {
      expect({ m, status: row(m).status, category: row(m).error_category }).toEqual({ m, status, category });
    }
    // Retry-After is a floor for the next attempt; other retryable failures back off ≥ 1 s.
    expect(+row('rate').run_after - +row('rate').updated_at).toBeGreaterThanOrEqual(2_900);
    for (const m of ['e500', 'empty', 'e503', 'hang', 'garbage', 'drop']) {
      expect(+row(m).run_after - +row(m).updated_at).toBeGreaterThanOrEqual(900);
    }
    expect(row('context').error_message).toMatch(/maximum context length/);
    expect(row('bad').error_message).toMatch(/temperature out of range/);

    // The worker itself retries e500 once its backoff has passed (no poke from the test).
    // Backoff 1-2 s, then a poll: the bound only stops a test that would hang.
    const retried = await waitForStatus(db, ids['e500']!, 'completed', 10_000);
    expect(retried).toMatchObject({ attempts: 2, error_category: null });
    expect(retried.result).toMatchObject({ content: 'recovered' });
    // Nothing stays running: after a stop, whatever was mid-retry finished or was released.
    await worker!.stop();
    expect((await countByStatus(db)).running).toBeUndefined();
  });

  it('aborts the provider call when a heartbeat finds the lease lost, and writes nothing for it', async () => {
    llm.queue({ kind: 'hang' }); // first call hangs (until aborted); later ones answer
    const job = await addJob(db, { model_profile: MODEL, input: { user: 'case:ok' } });
    // The shortest lease the configuration allows (5 s): heartbeats every ~1.7 s.
    const w = await start({ LLM_TIMEOUT: '30s', WORKER_LEASE_TIMEOUT: '5s' });
    await llm.waitForRequest((r) => r.path === CHAT_PATH);
    await retryJob(db, job.id); // operator retry mid-run: the running lease is revoked
    const done = await waitForStatus(db, job.id, 'completed', 10_000);
    expect(done.attempts).toBe(1); // the retry reset attempts; only the fresh run counted
    // The hung call was aborted long before its 30 s deadline.
    await waitFor(() => w.status().in_flight.length === 0, 'the aborted call to leave', 5_000);
    expect(llm.requestsTo(CHAT_PATH)).toHaveLength(2);
    expect(w.status().counters).toMatchObject({ completed: 1, lease_lost: 1, failed: {} });
  });

  it('is not registered without LLM_BASE_URL, and says why', async () => {
    const job = await addJob(db, { model_profile: MODEL });
    const config = testConfig({ LLM_MODEL: MODEL });
    worker = await startWorker(config, { db, probe: false, reaper: false });
    expect(worker.status().handlers).toContainEqual(
      expect.objectContaining({ name: 'llm', enabled: false, reason: 'LLM_BASE_URL is not set' }),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await countByStatus(db)).pending).toBe(1);
    expect(job.status).toBe('pending');
  });
});
