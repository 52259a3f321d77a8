// Queue control at claim time (issue 11) and the claim's own lease rules (issue 10,
// defects 1 and 2): rows in PostgreSQL after each claim, on PGlite and the real server.
// The races (20 claimers against a limit, a pause during claims) are in concurrency.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { AppError } from '../../lib/errors.ts';
import { claimJobs, claimWithReap } from '../../lib/jobs/claim.ts';
import { createJobs } from '../../lib/jobs/create.ts';
import { completeJob, heartbeat } from '../../lib/jobs/lease.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import type { CreateJob } from '../../lib/jobs/schemas.ts';
import { listQueues, pauseQueue, resumeQueue, setQueueLimits } from '../../lib/queues/control.ts';
import { EMPTY_POLICY, queuePolicy } from '../../lib/queues/policy.ts';
import { isServed, listWorkers, unservedBacklog } from '../../lib/queues/workers.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';

const job = (over: Partial<CreateJob> = {}): CreateJob => ({
  owner_service: 'telephony',
  owner_ref: 'r',
  task_type: 'transcribe',
  model_profile: 'whisperx',
  input: {},
  ...over,
});

async function errorOf(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe.each(DRIVERS.filter((d) => d !== 'neon'))('queue control at claim on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
    await db.query('DELETE FROM ai_queues');
    await db.query('DELETE FROM ai_workers');
  });

  const add = (n: number, over: Partial<CreateJob> = {}) =>
    createJobs(
      db,
      Array.from({ length: n }, (_, i) =>
        job({ owner_ref: `${over.owner_service ?? 'telephony'}/${i}`, ...over }),
      ),
    );
  const complete = (j: JobRow, result: Record<string, unknown> = {}) =>
    completeJob(db, { id: j.id, workerId: j.worker_id!, leaseToken: j.lease_token! }, result);
  const secondsLeft = (j: JobRow) => (+new Date(j.lease_expires_at!) - Date.now()) / 1000;

  describe('issue 10 defect 1: the lease length chosen at claim is the job’s', () => {
    it('a heartbeat without a length extends by the claimed 5 s, not a default', async () => {
      await add(1);
      const [j] = await claimJobs(db, { workerId: 'w', limit: 1, leaseMs: 5_000 });
      expect(j!.lease_ms).toBe(5_000);
      const hb = await heartbeat(db, { id: j!.id, workerId: 'w', leaseToken: j!.lease_token! });
      expect(secondsLeft(hb)).toBeGreaterThan(3);
      expect(secondsLeft(hb)).toBeLessThan(6);
      // A heartbeat naming a length still wins.
      const longer = await heartbeat(db, { id: j!.id, workerId: 'w', leaseToken: j!.lease_token! }, 60_000);
      expect(secondsLeft(longer)).toBeGreaterThan(55);
    });
  });

  describe('issue 10 defect 2: claim takes over expired leases by the reaper’s rules', () => {
    it('an expired attempt ends as timeout with backoff; the stale holder is fenced out', async () => {
      await add(1);
      const [stale] = await claimJobs(db, { workerId: 'dead', limit: 1, leaseMs: 5_000 });
      await db.query(`UPDATE ai_jobs SET lease_expires_at = now() - interval '1 second'`);
      // No reaper runs: the next claim (any worker) frees it.
      const r = await claimWithReap(db, { workerId: 'alive', limit: 1, leaseMs: 5_000 });
      expect(r.reaped).toBe(1);
      expect(r.jobs).toEqual([]); // backoff: not claimable in the same breath
      const row = (await db.query<JobRow>('SELECT * FROM ai_jobs')).rows[0]!;
      expect(row).toMatchObject({
        status: 'pending',
        attempts: 1,
        error_category: 'timeout',
        lease_expires_at: null,
      });
      // Backoff of the first attempt: 2 s × jitter 0.5..1, from the moment it was reaped.
      expect(+row.run_after - +row.updated_at).toBeGreaterThanOrEqual(999);
      expect((await errorOf(complete(stale!))).code).toBe('lease_lost');
      await db.query('UPDATE ai_jobs SET run_after = now()');
      const [again] = await claimJobs(db, { workerId: 'alive', limit: 1, leaseMs: 5_000 });
      expect(again).toMatchObject({ id: stale!.id, attempts: 2, worker_id: 'alive' });
    });

    it('at max_attempts the expired job fails', async () => {
      await createJobs(db, [job({ max_attempts: 1 })]);
      await claimJobs(db, { workerId: 'dead', limit: 1, leaseMs: 5_000 });
      await db.query(`UPDATE ai_jobs SET lease_expires_at = now() - interval '1 second'`);
      expect((await claimWithReap(db, { workerId: 'alive', limit: 1, leaseMs: 5_000 })).reaped).toBe(1);
      const row = (await db.query<JobRow>('SELECT * FROM ai_jobs')).rows[0]!;
      expect(row).toMatchObject({ status: 'failed', error_category: 'timeout' });
      expect(row.finished_at).not.toBeNull();
    });
  });

  describe('limits', () => {
    it('a configured profile limit caps running jobs; a finished one frees its slot', async () => {
      await add(5);
      await add(3, { task_type: 'llm_chat', model_profile: 'qwen' });
      const p = queuePolicy({ PROFILE_LIMITS: { whisperx: 2 } });
      const first = await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p });
      expect(first.filter((j) => j.model_profile === 'whisperx')).toHaveLength(2);
      expect(first.filter((j) => j.model_profile === 'qwen')).toHaveLength(3); // unlimited
      expect(await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p })).toEqual([]);
      await complete(first.find((j) => j.model_profile === 'whisperx')!);
      const next = await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p });
      expect(next.map((j) => j.model_profile)).toEqual(['whisperx']);
    });

    it('a task_type limit applies across profiles', async () => {
      await add(3, { model_profile: 'a' });
      await add(3, { model_profile: 'b' });
      const p = queuePolicy({ TASK_TYPE_LIMITS: { transcribe: 4 } });
      expect(await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p })).toHaveLength(4);
    });

    it('a run-time limit wins over the configuration until cleared', async () => {
      await add(6);
      const p = queuePolicy({ PROFILE_LIMITS: { whisperx: 1 } });
      await setQueueLimits(db, { scope: 'model_profile', name: 'whisperx' }, { limit: 3 });
      expect(await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p })).toHaveLength(3);
      await db.query(
        `UPDATE ai_jobs SET status = 'pending', lease_expires_at = NULL WHERE status = 'running'`,
      );
      await setQueueLimits(db, { scope: 'model_profile', name: 'whisperx' }, { limit: null });
      expect(await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p })).toHaveLength(1);
      const [q] = (await listQueues(db, p, 60_000)).filter((x) => x.name === 'whisperx');
      expect(q).toMatchObject({ limit: 1, limit_source: 'config', running: 1, backlog: 5 });
    });

    it('a run-time limit alone (no configuration) is enforced too', async () => {
      await add(4);
      await setQueueLimits(db, { scope: 'model_profile', name: 'whisperx' }, { limit: 0 });
      expect(await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000 })).toEqual([]);
    });
  });

  describe('pause and resume', () => {
    it('paused jobs stay pending in order; other profiles still flow; resume restores the order', async () => {
      await add(3);
      await add(2, { task_type: 'llm_chat', model_profile: 'qwen' });
      const before = (
        await db.query<{ id: string }>(`SELECT id FROM ai_jobs WHERE model_profile = 'whisperx' ORDER BY id`)
      ).rows;
      await pauseQueue(db, { scope: 'model_profile', name: 'whisperx' }, { reason: 'swap', by: 'sre' });
      const got = await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000 });
      expect(got.map((j) => j.model_profile)).toEqual(['qwen', 'qwen']);
      const [q] = (await listQueues(db, EMPTY_POLICY, 60_000)).filter((x) => x.name === 'whisperx');
      expect(q).toMatchObject({
        state: 'paused',
        backlog: 3,
        paused: { reason: 'swap', by: 'sre', drain: true },
      });
      await resumeQueue(db, { scope: 'model_profile', name: 'whisperx' });
      const after = await claimJobs(db, { workerId: 'w', limit: 1, leaseMs: 60_000 });
      expect(after[0]!.id).toBe(before[0]!.id);
    });

    it('pausing a task_type stops it on every profile', async () => {
      await add(2, { model_profile: 'a' });
      await add(2, { task_type: 'llm_chat', model_profile: 'a' });
      await pauseQueue(db, { scope: 'task_type', name: 'transcribe' }, {});
      const got = await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000 });
      expect(got.map((j) => j.task_type)).toEqual(['llm_chat', 'llm_chat']);
    });

    it('drain (default): a running job keeps heartbeating; drain false: released at the next heartbeat', async () => {
      await add(2);
      const [a, b] = await claimJobs(db, { workerId: 'w', limit: 2, leaseMs: 60_000 });
      await pauseQueue(db, { scope: 'model_profile', name: 'whisperx' }, { drain: true });
      await heartbeat(db, { id: a!.id, workerId: 'w', leaseToken: a!.lease_token! });
      await pauseQueue(db, { scope: 'model_profile', name: 'whisperx' }, { drain: false });
      const e = await errorOf(heartbeat(db, { id: b!.id, workerId: 'w', leaseToken: b!.lease_token! }));
      expect(e.code).toBe('lease_lost');
      expect(e.details).toMatchObject({ reason: 'paused', status: 'pending' });
      const row = (await db.query<JobRow>('SELECT * FROM ai_jobs WHERE id = $1', [b!.id])).rows[0]!;
      expect(row).toMatchObject({ status: 'pending', attempts: 0, lease_expires_at: null });
      expect(+row.run_after).toBe(+b!.run_after); // keeps its place in line
      expect((await errorOf(complete(b!))).code).toBe('lease_lost');
    });
  });

  describe('fairness between owner_services', () => {
    it('a later caller gets every other slot instead of waiting behind a 40-job backlog', async () => {
      await add(40, { owner_service: 'bulk' });
      await add(4, { owner_service: 'small' });
      const order: string[] = [];
      for (let i = 0; i < 8; i++) {
        const [j] = await claimJobs(db, { workerId: 'w', limit: 1, leaseMs: 60_000 });
        order.push(j!.owner_service);
      }
      expect(order).toEqual(['bulk', 'small', 'bulk', 'small', 'bulk', 'small', 'bulk', 'small']);
    });

    it('slots already held count: the owner holding fewer is served first', async () => {
      await add(10, { owner_service: 'bulk' });
      await claimJobs(db, { workerId: 'w', limit: 5, leaseMs: 60_000 }); // bulk holds 5
      await add(3, { owner_service: 'small' });
      const got = await claimJobs(db, { workerId: 'w', limit: 3, leaseMs: 60_000 });
      expect(got.map((j) => j.owner_service)).toEqual(['small', 'small', 'small']);
    });

    it('weights share slots in proportion; priority orders inside one caller', async () => {
      await add(20, { owner_service: 'heavy' });
      await add(20, { owner_service: 'light' });
      await createJobs(db, [job({ owner_service: 'light', owner_ref: 'urgent', priority: 50 })]);
      const p = queuePolicy({ OWNER_WEIGHTS: { heavy: 3 } });
      const got = await claimJobs(db, { workerId: 'w', limit: 8, leaseMs: 60_000, policy: p });
      const n = (o: string) => got.filter((j) => j.owner_service === o).length;
      expect([n('heavy'), n('light')]).toEqual([6, 2]);
      expect(got.some((j) => j.owner_ref === 'urgent')).toBe(true);
    });

    it('a priority ceiling stops one caller from jumping the others', async () => {
      await createJobs(db, [
        job({ owner_service: 'loud', owner_ref: 'x', priority: 1000 }),
        job({ owner_service: 'quiet', owner_ref: 'y', priority: 10 }),
      ]);
      const p = queuePolicy({ OWNER_MAX_PRIORITY: { loud: 0 } });
      const [first] = await claimJobs(db, { workerId: 'w', limit: 1, leaseMs: 60_000, policy: p });
      expect(first!.owner_service).toBe('quiet');
      await db.query(
        `UPDATE ai_jobs SET status = 'pending', lease_expires_at = NULL WHERE status = 'running'`,
      );
      const [unbounded] = await claimJobs(db, { workerId: 'w', limit: 1, leaseMs: 60_000 });
      expect(unbounded!.owner_service).toBe('loud');
    });
  });

  describe('token-aware admission', () => {
    const llm = (ref: string, maxTokens: number): CreateJob =>
      job({
        owner_ref: ref,
        task_type: 'llm_chat',
        model_profile: 'qwen',
        input: { user: 'x'.repeat(400), max_tokens: maxTokens },
      });

    it('reserves prompt/4 + max_tokens, stops at the budget, settles with reported usage', async () => {
      await createJobs(db, [llm('a', 300), llm('b', 300), llm('c', 300), llm('d', 300)]);
      const p = queuePolicy({ PROFILE_TOKEN_BUDGETS: { qwen: 1000 } });
      const got = await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p });
      expect(got.map((j) => j.token_cost)).toEqual([400, 400]); // 400 chars / 4 + 300
      expect(await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p })).toEqual([]);
      const [q] = (await listQueues(db, p, 60_000)).filter((x) => x.name === 'qwen');
      expect(q).toMatchObject({ token_budget: 1000, reserved_tokens: 800, running: 2 });
      const done = await complete(got[0]!, {
        usage: { prompt_tokens: 90, completion_tokens: 41, total_tokens: 131 },
      });
      expect(done.tokens_used).toBe(131);
      expect(await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p })).toHaveLength(1);
    });

    it('TOKEN_ESTIMATE_QUANTILE: reserves prompt + the learned share of max_tokens once 20 answers completed', async () => {
      const p = queuePolicy({ PROFILE_TOKEN_BUDGETS: { qwen: 1000 }, TOKEN_ESTIMATE_QUANTILE: 0.5 });
      // Answers that used half their max_tokens (reserved with a large budget, so settled).
      const answered = async (n: number, from: number) => {
        await createJobs(
          db,
          Array.from({ length: n }, (_, i) => llm(`done-${from + i}`, 300)),
        );
        const wide = queuePolicy({ PROFILE_TOKEN_BUDGETS: { qwen: 1_000_000 } });
        for (const j of await claimJobs(db, { workerId: 'w', limit: n, leaseMs: 60_000, policy: wide }))
          await complete(j, { usage: { prompt_tokens: 100, completion_tokens: 150, total_tokens: 250 } });
      };
      await answered(19, 0);
      await createJobs(db, [llm('a', 300), llm('b', 300), llm('c', 300), llm('d', 300)]);
      // 19 answers: not enough to learn from; the worst case, 400 chars / 4 + 300.
      let got = await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p });
      expect(got.map((j) => j.token_cost)).toEqual([400, 400]);
      for (const j of got)
        await db.query(`UPDATE ai_jobs SET status = 'pending', lease_expires_at = NULL WHERE id = $1`, [
          j.id,
        ]);
      await answered(1, 19);
      // 20 answers used a median 0.5 of max_tokens: 100 + 150 each, four fit in 1000.
      got = await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p });
      expect(got.map((j) => j.token_cost)).toEqual([250, 250, 250, 250]);
    });

    it('a job larger than the whole budget still runs, alone', async () => {
      await createJobs(db, [llm('big', 5000), llm('small', 10)]);
      const p = queuePolicy({ PROFILE_TOKEN_BUDGETS: { qwen: 1000 } });
      const got = await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, policy: p });
      expect(got.map((j) => j.owner_ref)).toEqual(['big']);
    });
  });

  describe('workers registry and unserved work', () => {
    it('a claim registers what the worker serves; unserved backlog is reported', async () => {
      await add(2);
      await add(3, { task_type: 'tg_analysis', model_profile: 'qwen' });
      expect(await isServed(db, 'transcribe', 'whisperx', 60_000)).toBe(false);
      await claimJobs(db, {
        workerId: 'gpu-1',
        limit: 1,
        leaseMs: 60_000,
        taskTypes: ['transcribe'],
        modelProfiles: ['whisperx'],
        workerVersion: '1.2.3',
      });
      expect(await isServed(db, 'transcribe', 'whisperx', 60_000)).toBe(true);
      expect(await isServed(db, 'transcribe', 'qwen', 60_000)).toBe(false);
      const [w] = await listWorkers(db, 60_000);
      expect(w).toMatchObject({
        worker_id: 'gpu-1',
        version: '1.2.3',
        live: true,
        serves: [{ task_types: ['transcribe'], model_profiles: ['whisperx'] }],
      });
      expect(await unservedBacklog(db, 60_000)).toEqual([
        { task_type: 'tg_analysis', model_profile: 'qwen', pending: 3 },
      ]);
      // Silent past the window: no longer live, its work unserved again.
      await db.query(`UPDATE ai_workers SET last_seen = now() - interval '10 minutes'`);
      expect((await listWorkers(db, 60_000))[0]!.live).toBe(false);
      expect(await isServed(db, 'transcribe', 'whisperx', 60_000)).toBe(false);
    });
  });
});
