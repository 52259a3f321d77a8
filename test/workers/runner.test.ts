// The generic runner with in-process handlers, on PGlite always and on real PostgreSQL
// when TEST_DATABASE_URL is set: batching, the claim limit, NOTIFY
// wake-ups, claim filtering, lost leases, failure mapping, the circuit breaker, drain.
// The runner's time is a manual clock: polls, heartbeats, cool-downs and the drain grace
// happen when the test advances it, never by sleeping.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { cancelByFilter, retryJob } from '../../lib/jobs/admin.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import { ProviderError } from '../../lib/providers/errors.ts';
import { systemClock } from '../../workers/clock.ts';
import type { Handler } from '../../workers/handler.ts';
import { everyMsFor } from '../../workers/heartbeats.ts';
import { Runner, type RunnerOptions } from '../../workers/runner.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';
import { addJob, countByStatus, jobRow, waitFor, waitForStatus } from './helpers.ts';
import { ManualClock } from './manual-clock.ts';

const noop = (name = 'noop', over: Partial<Handler> = {}): Handler => ({
  name,
  taskTypes: ['noop'],
  modelProfiles: [],
  run: async () => ({ ok: true }),
  ...over,
});

/** A Db that counts the statements whose text matches each pattern. */
function counting(db: Db, patterns: Record<string, RegExp>) {
  const counts: Record<string, number> = Object.fromEntries(Object.keys(patterns).map((k) => [k, 0]));
  const wrapped: Db = {
    ...db,
    // Counted when sent, so a count seen is a statement issued (its answer may still be on the way).
    query: (text, params) => {
      for (const [k, re] of Object.entries(patterns)) if (re.test(text)) counts[k]!++;
      return db.query(text, params);
    },
  };
  return { db: wrapped, counts };
}

const CLAIM_SQL = /FOR UPDATE SKIP LOCKED/;
const HEARTBEAT_SQL = /lease_ms = coalesce\(\$4::integer, lease_ms\)/;

const insertMany = (db: Db, n: number, taskType = 'noop') =>
  db.query(
    `INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input)
     SELECT 'bench', 'r/' || g, $2, 'any', '{}'::jsonb FROM generate_series(1, $1::int) g`,
    [n, taskType],
  );

// The worker is a long-lived Node process: it runs on pg (or PGlite in dev), never on the
// Neon WebSocket driver, which exists for edge functions and has no LISTEN.
const WORKER_DRIVERS = DRIVERS.filter((d) => d !== 'neon');

describe.each(WORKER_DRIVERS)('runner on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  let runners: Runner[] = [];
  let n = 0;
  let clock: ManualClock;

  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
    clock = new ManualClock();
  });
  afterEach(async () => {
    let done = false;
    const drained = Promise.all(runners.map((r) => r.drain(0))).finally(() => {
      done = true;
    });
    // A handler that ignores its abort holds the drain for the write window: run it out.
    for (let i = 0; i < 50 && !done; i++) {
      await new Promise((res) => setTimeout(res, 10));
      await clock.advance(100);
    }
    await drained;
    runners = [];
  });

  const start = async (handlers: Handler[], over: Partial<RunnerOptions> = {}, dbOverride?: Db) => {
    const r = new Runner({
      db: dbOverride ?? db,
      workerId: `${driver}-w${++n}`,
      handlers,
      claimLimit: 4,
      pollIntervalMs: 100,
      leaseMs: 30_000,
      // Time-driven waits come from the manual clock; these two are a few ms of folding
      // that would otherwise need the clock moved after every NOTIFY and every outcome.
      notifyDebounceMs: 0,
      completeDelayMs: 0,
      clock,
      ...over,
    });
    runners.push(r);
    await r.start();
    return r;
  };

  it('completes no-op jobs in batched writes without exceeding the claim limit', async () => {
    await insertMany(db, 300);
    const c = counting(db, { batches: /jsonb_to_recordset/ });
    let active = 0;
    let peak = 0;
    const r = await start(
      [
        noop('noop', {
          run: async () => {
            peak = Math.max(peak, ++active);
            await new Promise((res) => setImmediate(res));
            active--;
            return { ok: true };
          },
        }),
      ],
      // Not time-driven: the production clock and batching window, as the worker ships.
      { claimLimit: 50, clock: systemClock, completeDelayMs: 2, notifyDebounceMs: 5 },
      c.db,
    );
    await waitFor(async () => (await countByStatus(db)).completed === 300, '300 completions', 15_000);
    expect(peak).toBeLessThanOrEqual(50);
    expect(c.counts['batches']).toBeGreaterThan(0);
    expect(c.counts['batches']).toBeLessThan(100); // group commit: far fewer statements than jobs
    // The runner counts a completion once its batch's commit has answered, which can be
    // after the test sees the rows: wait for the count, then check it is exact.
    await waitFor(() => r.status().counters.completed >= 300, 'the runner to count 300 completions');
    expect(r.status().counters).toMatchObject({ claimed: 300, completed: 300, lease_lost: 0 });
    const row = (await db.query<JobRow>('SELECT * FROM ai_jobs LIMIT 1')).rows[0]!;
    expect(row.result).toEqual({ ok: true });
    expect(row.lease_expires_at).toBeNull();
  });

  it('wakes on NOTIFY: an idle worker whose poll never comes starts a new job', async () => {
    const c = counting(db, { claims: CLAIM_SQL });
    const r = await start([noop()], { pollIntervalMs: 10_000 }, c.db);
    await waitFor(() => r.status().listen.state === 'listening', 'LISTEN');
    await waitFor(() => r.status().last_claim_at, 'the first (empty) claim');
    const before = c.counts['claims']!;
    // The clock stands still: no poll can fire, only the NOTIFY can wake the runner.
    const job = await addJob(db, { task_type: 'noop' });
    await waitForStatus(db, job.id, 'completed');
    expect(c.counts['claims']).toBeGreaterThan(before);
    await waitFor(() => r.status().counters.completed >= 1, 'the runner to count the completion');
    expect(r.status().counters.completed).toBe(1);
  });

  it('claims only the task_type × model_profile pairs its handlers serve', async () => {
    const llm = noop('llm', { taskTypes: ['llm_chat'], modelProfiles: ['qwen'] });
    const asr = noop('asr', { taskTypes: ['transcribe'], modelProfiles: ['whisperx'] });
    const wrong = await Promise.all([
      addJob(db, { task_type: 'llm_chat', model_profile: 'whisperx' }),
      addJob(db, { task_type: 'transcribe', model_profile: 'qwen' }),
      addJob(db, { task_type: 'other', model_profile: 'qwen' }),
    ]);
    const right = await Promise.all([
      addJob(db, { task_type: 'llm_chat', model_profile: 'qwen' }),
      addJob(db, { task_type: 'transcribe', model_profile: 'whisperx' }),
    ]);
    const c = counting(db, { claims: CLAIM_SQL });
    const r = await start([llm, asr], {}, c.db);
    for (const j of right) await waitForStatus(db, j.id, 'completed');
    // Several polls, each a full claim round (one query per handler group).
    // A NOTIFY-driven round may still be running when the clock moves, and then schedules
    // its next poll after the advance: keep advancing until a full round has been seen.
    for (let i = 0; i < 3; i++) {
      const before = c.counts['claims']!;
      for (let k = 0; k < 100 && !(c.counts['claims']! >= before + 2 && !r.inFlight); k++) {
        await clock.advance(100);
        await new Promise((res) => setTimeout(res, 20));
      }
      await waitFor(() => c.counts['claims']! >= before + 2 && !r.inFlight, `poll ${i + 1}`);
    }
    for (const j of wrong) expect((await jobRow(db, j.id)).status).toBe('pending');
  });

  it('aborts a job whose lease was lost (retried elsewhere) and writes nothing for it', async () => {
    let calls = 0;
    let abortReason: unknown;
    const handler = noop('slow', {
      run: async (_job, { signal }) => {
        if (++calls > 1) return { fresh: true };
        // Ignores the abort on purpose: even a stale result must not be written.
        await new Promise((res) => signal.addEventListener('abort', res, { once: true }));
        abortReason = signal.reason;
        return { stale: true };
      },
    });
    const r = await start([handler]);
    const job = await addJob(db, { task_type: 'noop' });
    const running = await waitForStatus(db, job.id, 'running');
    await retryJob(db, job.id); // an operator's retry revokes the lease mid-run
    await clock.advance(r.heartbeatEveryMs); // the next heartbeat learns it
    await waitFor(() => abortReason, 'the abort from the heartbeat');
    expect(String(abortReason)).toMatch(/lease lost/);
    const done = await waitForStatus(db, job.id, 'completed');
    expect(done.result).toEqual({ fresh: true });
    expect(done.lease_token).not.toBe(running.lease_token);
    expect(r.status().counters.lease_lost).toBe(1);
    await waitFor(() => r.status().counters.completed >= 1, 'the runner to count the completion');
    expect(r.status().counters.completed).toBe(1);
  });

  it('aborts a job cancelled by the caller mid-run; the cancellation stands', async () => {
    let aborted = false;
    const r = await start([
      noop('waits', {
        run: (_job, { signal }) =>
          new Promise((_, reject) =>
            signal.addEventListener(
              'abort',
              () => {
                aborted = true;
                reject(signal.reason);
              },
              { once: true },
            ),
          ),
      }),
    ]);
    const job = await addJob(db, { task_type: 'noop' });
    await waitForStatus(db, job.id, 'running');
    expect((await cancelByFilter(db, { ids: [job.id] })).count).toBe(1);
    await clock.advance(r.heartbeatEveryMs);
    await waitFor(() => aborted, 'the abort');
    await waitFor(() => r.status().in_flight.length === 0, 'the job to leave');
    expect(await jobRow(db, job.id)).toMatchObject({ status: 'cancelled', error_category: 'cancelled' });
    expect(r.status().counters).toMatchObject({ lease_lost: 1, failed: {}, completed: 0 });
  });

  it('maps handler errors to failJob: category, Retry-After, internal for crashes, failure results', async () => {
    const handler = noop('p', {
      run: async (job) => {
        const kind = (job.input as { kind: string }).kind;
        if (kind === 'rate')
          throw new ProviderError({
            category: 'rate_limited',
            provider: 'p',
            message: 'slow down',
            retryAfterMs: 5_000,
          });
        if (kind === 'final')
          throw Object.assign(
            new ProviderError({ category: 'invalid_input', provider: 'p', message: 'bad audio' }),
            {
              attempts: [{ provider: 'p', status: 'failed' }],
            },
          );
        throw new TypeError('boom in the handler');
      },
      failureResult: (err) =>
        err instanceof ProviderError && 'attempts' in err ? { attempts: err.attempts } : undefined,
    });
    const rate = await addJob(db, { task_type: 'noop', input: { kind: 'rate' } });
    const final = await addJob(db, { task_type: 'noop', input: { kind: 'final' } });
    const crash = await addJob(db, { task_type: 'noop', input: { kind: 'crash' } });
    const r = await start([handler]);
    await waitFor(
      () => r.status().counters.claimed >= 3 && r.status().in_flight.length === 0,
      'three outcomes',
    );

    const rr = await jobRow(db, rate.id);
    expect(rr).toMatchObject({ status: 'pending', error_category: 'rate_limited', attempts: 1 });
    expect(+rr.run_after - +rr.updated_at).toBeGreaterThanOrEqual(4_900);
    const fr = await jobRow(db, final.id);
    expect(fr).toMatchObject({
      status: 'failed',
      error_category: 'invalid_input',
      error_message: 'bad audio',
    });
    expect(fr.result).toEqual({ attempts: [{ provider: 'p', status: 'failed' }] });
    const cr = await jobRow(db, crash.id);
    expect(cr).toMatchObject({ status: 'pending', error_category: 'internal' });
    expect(cr.error_message).toMatch(/boom in the handler/);
    expect(r.status().counters.failed).toEqual({ rate_limited: 1, invalid_input: 1, internal: 1 });
  });

  it('opens the circuit after consecutive provider failures, stops claiming, probes after the cool-down', async () => {
    let down = true;
    const handler = noop('flaky', {
      provider: 'flaky-provider',
      run: async () => {
        if (down)
          throw new ProviderError({ category: 'provider_unavailable', provider: 'x', message: 'refused' });
        return { ok: true };
      },
    });
    const jobs = [];
    for (let i = 0; i < 4; i++) jobs.push(await addJob(db, { task_type: 'noop', max_attempts: 1 }));
    const c = counting(db, { claims: CLAIM_SQL });
    const r = await start([handler], { claimLimit: 1, circuit: { threshold: 2, cooldownMs: 30_000 } }, c.db);
    await waitFor(() => r.status().circuits['flaky-provider']?.state === 'open', 'the circuit to open');
    await waitFor(() => r.status().in_flight.length === 0, 'the second failure to be written');
    down = false;
    const claims = c.counts['claims'];
    // Polls all through the cool-down (every 100 ms) claim nothing for the open circuit.
    await clock.advance(29_999);
    expect(c.counts['claims']).toBe(claims);
    expect(await countByStatus(db)).toEqual({ failed: 2, pending: 2 });
    // The cool-down ends: one probe job, it succeeds, the circuit closes and the rest follow.
    await clock.advance(10);
    for (const j of jobs.slice(2)) await waitForStatus(db, j.id, 'completed');
    expect(r.status().circuits['flaky-provider']).toMatchObject({ state: 'closed', opens: 1 });
  });

  it('drain lets jobs finish within the grace period', async () => {
    let finish!: () => void;
    const finishing = new Promise<void>((res) => (finish = res));
    const r = await start([
      noop('slow', {
        run: async () => {
          await finishing;
          return { done: true };
        },
      }),
    ]);
    for (let i = 0; i < 3; i++) await addJob(db, { task_type: 'noop' });
    await waitFor(() => r.inFlight === 3, 'three jobs in flight');
    const drained = r.drain(2_000);
    await clock.advance(1_999); // inside the grace period: nothing is released
    finish();
    expect(await drained).toEqual({ finished: 3, released: 0 });
    expect(await countByStatus(db)).toEqual({ completed: 3 });
  });

  it('drain releases what cannot finish: back to pending, attempt refunded, nothing recorded', async () => {
    const r = await start([
      noop('stuck', {
        run: (_job, { signal }) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
          ),
      }),
    ]);
    const a = await addJob(db, { task_type: 'noop' });
    const b = await addJob(db, { task_type: 'noop' });
    await waitFor(() => r.inFlight === 2, 'two jobs in flight');
    let done = false;
    const drained = r.drain(200).finally(() => {
      done = true;
    });
    await clock.advance(199);
    expect(done).toBe(false); // the grace period is still running
    expect(await countByStatus(db)).toEqual({ running: 2 });
    await clock.advance(1); // the grace period ends: abort and release
    expect(await drained).toEqual({ finished: 0, released: 2 });
    for (const j of [a, b]) {
      expect(await jobRow(db, j.id)).toMatchObject({
        status: 'pending',
        attempts: 0,
        lease_expires_at: null,
        error_category: null,
      });
    }
    expect(r.status().counters).toMatchObject({ released: 2, failed: {} });
  });

  it('turns a result PostgreSQL cannot store into an invalid_output failure, not a stuck batch', async () => {
    const r = await start([
      noop('nul', {
        run: async (job) => ((job.input as { bad?: boolean }).bad ? { text: 'a\u0000b' } : { text: 'fine' }),
      }),
    ]);
    const bad = await addJob(db, { task_type: 'noop', input: { bad: true }, max_attempts: 1 });
    const good = await addJob(db, { task_type: 'noop', input: {} });
    await waitForStatus(db, good.id, 'completed');
    const row = await waitForStatus(db, bad.id, 'failed');
    expect(row.error_category).toBe('invalid_output');
    await waitFor(() => r.status().counters.completed >= 1, 'the runner to count the completion');
    expect(r.status().counters.completed).toBe(1);
  });
  it('beats every lease/3: none before it is due, one per job when it is, and the lease moves', async () => {
    const c = counting(db, { beats: HEARTBEAT_SQL });
    let release!: () => void;
    const held = new Promise<void>((res) => (release = res));
    const r = await start(
      [
        noop('held', {
          run: async () => {
            await held;
            return { ok: true };
          },
        }),
      ],
      { leaseMs: 30_000 },
      c.db,
    );
    expect(r.heartbeatEveryMs).toBe(10_000);
    const a = await addJob(db, { task_type: 'noop' });
    const b = await addJob(db, { task_type: 'noop' });
    await waitFor(() => r.inFlight === 2, 'two jobs in flight');
    const leaseAt = async (id: string) => +(await jobRow(db, id)).lease_expires_at!;
    const first = await leaseAt(a.id);

    await clock.advance(9_999);
    expect(c.counts['beats']).toBe(0);
    await clock.advance(1); // lease/3 since the claim
    await waitFor(() => c.counts['beats'] === 2, 'one heartbeat per job');
    await waitFor(async () => (await leaseAt(a.id)) > first, 'the lease to be extended');
    // Both beats answered (a slot whose beat is still in flight is not beaten again).
    await new Promise((res) => setTimeout(res, 200));
    await clock.advance(9_999);
    expect(c.counts['beats']).toBe(2);
    await clock.advance(1);
    await waitFor(() => c.counts['beats'] === 4, 'the second round of heartbeats');
    release();
    for (const j of [a, b]) await waitForStatus(db, j.id, 'completed');
  });

  it('caps the heartbeat gap at 30 s whatever the lease', () => {
    expect(everyMsFor(15 * 60_000)).toBe(30_000);
    expect(everyMsFor(30_000)).toBe(10_000);
    expect(everyMsFor(60)).toBe(50);
  });
});
