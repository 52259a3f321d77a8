// The jobs repository contract, run on every available driver (PGlite always; pg and
// Neon when TEST_DATABASE_URL is set). Each transition, and each refusal.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { AppError } from '../../lib/errors.ts';
import { cancelByFilter, retryByFilter, retryJob } from '../../lib/jobs/admin.ts';
import { claimJobs } from '../../lib/jobs/claim.ts';
import { createJob, createJobs } from '../../lib/jobs/create.ts';
import {
  completeJob,
  completeMany,
  failJob,
  heartbeat,
  releaseJob,
  wasReplay,
} from '../../lib/jobs/lease.ts';
import { getJob, listJobs } from '../../lib/jobs/list.ts';
import { pruneFinished, reapExpiredLeases, reapOnce } from '../../lib/jobs/reap.ts';
import type { CreateJob } from '../../lib/jobs/schemas.ts';
import { jobStats } from '../../lib/jobs/stats.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';

const job = (over: Partial<CreateJob> = {}): CreateJob => ({
  owner_service: 'telephony',
  owner_ref: 'beeline/1',
  task_type: 'llm_chat',
  model_profile: 'qwen2.5-14b',
  input: { user: 'hi' },
  ...over,
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e.code;
    throw e;
  }
  return 'ok';
}

describe.each(DRIVERS)('jobs repository on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
  });

  const claimOne = async (workerId = 'w1', leaseMs = 60_000) => {
    const [j] = await claimJobs(db, { workerId, limit: 1, leaseMs });
    if (!j) throw new Error('nothing claimed');
    return j;
  };
  const ref = (j: { id: string; lease_token: string | null }, workerId = 'w1') => ({
    id: j.id,
    workerId,
    leaseToken: j.lease_token!,
  });

  it('creates a pending job with defaults and a time-ordered UUID v7 id', async () => {
    const a = await createJob(db, job());
    const b = await createJob(db, job());
    expect(a.outcome).toBe('created');
    expect(a.job).toMatchObject({
      status: 'pending',
      priority: 0,
      attempts: 0,
      max_attempts: 3,
      result: null,
    });
    expect(a.job.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(b.job.id > a.job.id).toBe(true);
    expect(a.job.created_at).toBeInstanceOf(Date);
  });

  it('idempotent create: same key + same job → existing; different job → conflict', async () => {
    const a = await createJob(db, job({ idempotency_key: 'k1', input: { a: 1, b: [1, 2] } }));
    const again = await createJob(
      db,
      job({ idempotency_key: 'k1', input: { b: [1, 2], a: 1 }, priority: 5 }),
    );
    expect(again).toMatchObject({ outcome: 'existing', job: { id: a.job.id } });
    expect(await code(createJob(db, job({ idempotency_key: 'k1', input: { a: 2 } })))).toBe(
      'idempotency_conflict',
    );
    // Keys are per owner_service.
    const other = await createJob(db, job({ idempotency_key: 'k1', owner_service: 'monitoring-tg' }));
    expect(other.outcome).toBe('created');
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_jobs');
    expect(rows[0]!.n).toBe(2);
  });

  it('batch create: outcomes in order, in-batch duplicates resolve to one job, conflicts roll back all', async () => {
    await createJob(db, job({ idempotency_key: 'old' }));
    const out = await createJobs(db, [
      job({ idempotency_key: 'n1' }),
      job({ idempotency_key: 'old' }),
      job(),
      job({ idempotency_key: 'n1' }),
    ]);
    expect(out.map((o) => o.outcome)).toEqual(['created', 'existing', 'created', 'existing']);
    expect(out[3]!.job.id).toBe(out[0]!.job.id);
    const before = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_jobs')).rows[0]!.n;
    let err: AppError | undefined;
    try {
      await createJobs(db, [
        job({ idempotency_key: 'fresh' }),
        job({ idempotency_key: 'old', input: { x: 1 } }),
      ]);
    } catch (e) {
      err = e as AppError;
    }
    expect(err?.code).toBe('idempotency_conflict');
    expect((err!.details as { items: { index: number }[] }).items.map((i) => i.index)).toEqual([1]);
    const after = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_jobs')).rows[0]!.n;
    expect(after).toBe(before);
  });

  it('claims by priority then run_after, only ready jobs, filtered by type and profile', async () => {
    const low = await createJob(db, job({ priority: 0 }));
    const high = await createJob(db, job({ priority: 10 }));
    await createJob(db, job({ priority: 100, run_after: new Date(Date.now() + 3_600_000).toISOString() }));
    await createJob(db, job({ priority: 50, task_type: 'transcribe', model_profile: 'whisperx' }));
    const claimed = await claimJobs(db, {
      workerId: 'w1',
      limit: 5,
      leaseMs: 60_000,
      taskTypes: ['llm_chat'],
    });
    expect(claimed.map((j) => j.id)).toEqual([high.job.id, low.job.id]);
    for (const j of claimed) {
      expect(j).toMatchObject({ status: 'running', worker_id: 'w1', attempts: 1 });
      expect(j.lease_token).toMatch(/^[0-9a-f-]{36}$/);
      expect(+j.lease_expires_at! - Date.now()).toBeGreaterThan(50_000);
    }
    expect(await claimJobs(db, { workerId: 'w2', limit: 5, leaseMs: 1000, modelProfiles: ['nope'] })).toEqual(
      [],
    );
    const t2 = await claimJobs(db, { workerId: 'w2', limit: 5, leaseMs: 1000, modelProfiles: ['whisperx'] });
    expect(t2).toHaveLength(1);
  });

  it('claim never hands out more than the limit', async () => {
    await createJobs(
      db,
      Array.from({ length: 30 }, () => job()),
    );
    expect(await claimJobs(db, { workerId: 'w', limit: 7, leaseMs: 60_000 })).toHaveLength(7);
  });

  it('heartbeat extends the lease; a wrong token or worker is lease_lost', async () => {
    await createJob(db, job());
    const j = await claimOne('w1', 5_000);
    const hb = await heartbeat(db, ref(j), 120_000);
    expect(+hb.lease_expires_at! - Date.now()).toBeGreaterThan(100_000);
    expect(await code(heartbeat(db, { ...ref(j), leaseToken: crypto.randomUUID() }, 1000))).toBe(
      'lease_lost',
    );
    expect(await code(heartbeat(db, ref(j, 'w2'), 1000))).toBe('lease_lost');
    expect(await code(heartbeat(db, { ...ref(j), id: crypto.randomUUID() }, 1000))).toBe('not_found');
  });

  it('heartbeat without a length extends by the lease last granted, not a default', async () => {
    await createJob(db, job());
    const j = await claimOne('w1', 7_000);
    const hb = await heartbeat(db, ref(j));
    expect(+hb.lease_expires_at! - +hb.updated_at).toBe(7_000);
    const longer = await heartbeat(db, ref(j), 60_000);
    expect(+longer.lease_expires_at! - +longer.updated_at).toBe(60_000);
    const again = await heartbeat(db, ref(j));
    expect(+again.lease_expires_at! - +again.updated_at).toBe(60_000);
  });

  it('complete stores the result once; a replay by the holder is answered, others are refused', async () => {
    await createJob(db, job());
    const j = await claimOne();
    const done = await completeJob(db, ref(j), { content: 'ok' });
    expect(done).toMatchObject({ status: 'completed', result: { content: 'ok' }, lease_expires_at: null });
    expect(done.finished_at).toBeInstanceOf(Date);
    expect(done.duration_ms).toBeGreaterThanOrEqual(0);
    // The same worker repeating the call (lost response) gets the job back, unchanged.
    const replay = await completeJob(db, ref(j), { content: 'different' });
    expect(replay.result).toEqual({ content: 'ok' });
    expect([wasReplay(done), wasReplay(replay)]).toEqual([false, true]);
    expect(await code(completeJob(db, ref(j, 'w2'), { content: 'x' }))).toBe('lease_lost');
    expect(await code(failJob(db, ref(j), { category: 'timeout' }))).toBe('lease_lost');
  });

  it('completeMany fences each row', async () => {
    await createJobs(db, [job(), job(), job()]);
    const cl = await claimJobs(db, { workerId: 'w1', limit: 3, leaseMs: 60_000 });
    const ok = await completeMany(db, [
      { ...ref(cl[0]!), result: { n: 0 } },
      { ...ref(cl[1]!), leaseToken: crypto.randomUUID(), result: { n: 1 } },
      { ...ref(cl[2]!), result: { n: 2 } },
    ]);
    expect([...ok].sort()).toEqual([cl[0]!.id, cl[2]!.id].sort());
    expect((await getJob(db, cl[1]!.id))!.status).toBe('running');
  });

  it('fail: retryable → pending with backoff until max_attempts, then failed; final → failed at once', async () => {
    await createJob(db, job({ max_attempts: 2 }));
    let j = await claimOne();
    const t0 = Date.now();
    const f1 = await failJob(db, ref(j), { category: 'provider_unavailable', message: 'conn refused' });
    expect(f1).toMatchObject({ status: 'pending', error_category: 'provider_unavailable', attempts: 1 });
    // First backoff: 2 s · jitter in [0.5, 1).
    const delay = +f1.run_after - t0;
    expect(delay).toBeGreaterThan(800);
    expect(delay).toBeLessThan(2_500);
    await db.query('UPDATE ai_jobs SET run_after = now()');
    j = await claimOne();
    expect(j.attempts).toBe(2);
    const f2 = await failJob(db, ref(j), { category: 'timeout' });
    expect(f2).toMatchObject({ status: 'failed', error_category: 'timeout' });
    expect(f2.finished_at).toBeInstanceOf(Date);

    await createJob(db, job());
    j = await claimOne();
    const f3 = await failJob(db, ref(j), { category: 'invalid_input', message: 'bad\u0000' });
    expect(f3).toMatchObject({ status: 'failed', attempts: 1, error_message: 'bad' });
  });

  it('fail is idempotent for its holder: a replay gets the same answer, for both outcomes', async () => {
    await createJob(db, job({ max_attempts: 3 }));
    let j = await claimOne();
    // Retryable → pending with backoff; the replay must not fail it again or move run_after.
    const first = await failJob(db, ref(j), { category: 'rate_limited', retryAfterMs: 60_000 });
    expect(first).toMatchObject({ status: 'pending', attempts: 1 });
    const again = await failJob(db, ref(j), { category: 'rate_limited', retryAfterMs: 60_000 });
    expect(again).toEqual(first);
    expect([wasReplay(first), wasReplay(again)]).toEqual([false, true]);
    // Anyone else, or the holder reporting something else, is refused.
    expect(await code(failJob(db, ref(j, 'w2'), { category: 'rate_limited' }))).toBe('lease_lost');
    expect(
      await code(failJob(db, { ...ref(j), leaseToken: crypto.randomUUID() }, { category: 'rate_limited' })),
    ).toBe('lease_lost');
    expect(await code(failJob(db, ref(j), { category: 'invalid_input' }))).toBe('lease_lost');
    expect(await code(completeJob(db, ref(j), {}))).toBe('lease_lost');

    // Once someone else holds the job, the old holder's replay is refused and changes nothing.
    await db.query('UPDATE ai_jobs SET run_after = now()');
    const j2 = await claimOne('w2');
    expect(await code(failJob(db, ref(j), { category: 'rate_limited' }))).toBe('lease_lost');
    expect((await getJob(db, j.id))!).toMatchObject({ status: 'running', worker_id: 'w2' });

    // Final → failed; replay answered with the same row.
    const last = await failJob(db, ref(j2, 'w2'), { category: 'invalid_input', message: 'bad' });
    expect(last).toMatchObject({ status: 'failed', error_category: 'invalid_input' });
    expect(await failJob(db, ref(j2, 'w2'), { category: 'invalid_input', message: 'bad' })).toEqual(last);
    expect(await code(failJob(db, ref(j2), { category: 'invalid_input' }))).toBe('lease_lost');

    // A retry by the caller revokes the lease: the replay is refused from then on.
    await retryJob(db, j.id);
    expect(await code(failJob(db, ref(j2, 'w2'), { category: 'invalid_input' }))).toBe('lease_lost');
    j = await claimOne();
    // A cancel keeps the token but changes the status: refused too.
    await failJob(db, ref(j), { category: 'timeout' });
    await cancelByFilter(db, { ids: [j.id] });
    expect(await code(failJob(db, ref(j), { category: 'timeout' }))).toBe('lease_lost');
  });

  it('a fail after the reaper ended the attempt is refused unless it reports the same outcome', async () => {
    await createJob(db, job());
    const j = await claimOne('w1', 5_000);
    await db.query(`UPDATE ai_jobs SET lease_expires_at = now() - interval '1 second'`);
    await reapExpiredLeases(db);
    // The reaper left it pending under w1's token: a different report is not a replay.
    expect(await code(failJob(db, ref(j), { category: 'invalid_input' }))).toBe('lease_lost');
    expect((await getJob(db, j.id))!).toMatchObject({ status: 'pending', error_category: 'timeout' });
    // `timeout` is exactly what the reaper recorded: answered, nothing written.
    const before = (await getJob(db, j.id))!;
    expect(await failJob(db, ref(j), { category: 'timeout', message: 'deadline' })).toEqual(before);
  });

  it('fail honours retry_after when longer than the backoff', async () => {
    await createJob(db, job());
    const j = await claimOne();
    const t0 = Date.now();
    const f = await failJob(db, ref(j), { category: 'rate_limited', retryAfterMs: 30_000 });
    expect(+f.run_after - t0).toBeGreaterThan(29_000);
    expect(+f.run_after - t0).toBeLessThan(32_000);
  });

  it('retry one: failed/running → pending with the lease revoked; other states refused', async () => {
    const c = await createJob(db, job());
    expect(await code(retryJob(db, c.job.id))).toBe('invalid_state');
    const j = await claimOne();
    const r = await retryJob(db, j.id);
    expect(r).toMatchObject({ status: 'pending', lease_token: null, attempts: 0, worker_id: null });
    // The old lease holder's late write is refused and the newer state survives.
    expect(await code(completeJob(db, ref(j), { late: true }))).toBe('lease_lost');
    const j2 = await claimOne('w2');
    expect(await code(completeJob(db, ref(j), { late: true }))).toBe('lease_lost');
    await completeJob(db, ref(j2, 'w2'), { fresh: true });
    expect((await getJob(db, j.id))!.result).toEqual({ fresh: true });
    expect(await code(retryJob(db, crypto.randomUUID()))).toBe('not_found');
  });

  it('include_cancelled brings a job cancelled by mistake back, by id and by filter; default retry does not', async () => {
    const a = await createJob(db, job({ idempotency_key: 'cancelled-by-mistake' }));
    const b = await createJob(db, job({ owner_ref: 'beeline/2' }));
    const c = await createJob(db, job({ owner_ref: 'beeline/3' }));
    await cancelByFilter(db, { ids: [a.job.id, b.job.id, c.job.id] });
    expect(await code(retryJob(db, a.job.id))).toBe('invalid_state');
    const back = await retryJob(db, a.job.id, { includeCancelled: true });
    expect(back).toMatchObject({
      status: 'pending',
      attempts: 0,
      error_category: null,
      error_message: null,
      finished_at: null,
      idempotency_key: 'cancelled-by-mistake',
    });
    // Its idempotency key names a live job again: a repeat create returns it.
    expect(await createJob(db, job({ idempotency_key: 'cancelled-by-mistake' }))).toMatchObject({
      outcome: 'existing',
      job: { id: a.job.id, status: 'pending' },
    });
    expect(await retryByFilter(db, { owner_service: 'telephony' })).toMatchObject({ count: 0 });
    expect(
      await retryByFilter(db, { owner_service: 'telephony', include_cancelled: true, dry_run: true }),
    ).toMatchObject({ count: 2, dry_run: true });
    const r = await retryByFilter(db, { owner_service: 'telephony', include_cancelled: true });
    expect(r).toMatchObject({ count: 2, ids: [b.job.id, c.job.id].sort() });
    expect((await getJob(db, c.job.id))!.status).toBe('pending');
    // A completed job stays completed whatever the switch says.
    const done = await claimOne();
    await completeJob(db, ref(done), {});
    expect(await code(retryJob(db, done.id, { includeCancelled: true }))).toBe('invalid_state');
  });

  it('retry and cancel by filter: refuse an empty filter, dry_run counts, limit and has_more', async () => {
    expect(await code(cancelByFilter(db, {}))).toBe('validation_error');
    await createJobs(
      db,
      Array.from({ length: 5 }, (_, i) => job({ owner_ref: `r${i}` })),
    );
    await createJob(db, job({ owner_service: 'monitoring-pf' }));
    const dry = await cancelByFilter(db, { owner_service: 'telephony', dry_run: true });
    expect(dry).toMatchObject({ count: 5, dry_run: true, has_more: false });
    expect(dry.ids).toHaveLength(5);
    expect(
      (await db.query<{ n: number }>(`SELECT count(*)::int n FROM ai_jobs WHERE status='cancelled'`)).rows[0]!
        .n,
    ).toBe(0);
    const part = await cancelByFilter(db, { owner_service: 'telephony', limit: 3 });
    expect(part).toMatchObject({ count: 3, has_more: true });
    const rest = await cancelByFilter(db, { owner_service: 'telephony', limit: 3 });
    expect(rest).toMatchObject({ count: 2, has_more: false });
    // Cancelled jobs are not retried by filter (only failed/running are).
    expect(await retryByFilter(db, { owner_service: 'telephony' })).toMatchObject({ count: 0 });
    expect(await cancelByFilter(db, { owner_service: 'telephony', status: ['completed'] })).toMatchObject({
      count: 0,
    });
    expect((await getJob(db, part.ids[0]!))!.status).toBe('cancelled');
  });

  it('cancel of a running job makes the worker lose its lease', async () => {
    await createJob(db, job());
    const j = await claimOne();
    expect(await cancelByFilter(db, { ids: [j.id] })).toMatchObject({ count: 1 });
    expect(await code(heartbeat(db, ref(j), 1000))).toBe('lease_lost');
    expect(await code(completeJob(db, ref(j), {}))).toBe('lease_lost');
    expect((await getJob(db, j.id))!.status).toBe('cancelled');
  });

  it('retry by filter on failed jobs by error_category', async () => {
    await createJobs(db, [job(), job()]);
    for (const j of await claimJobs(db, { workerId: 'w1', limit: 2, leaseMs: 60_000 }))
      await failJob(db, ref(j), { category: 'auth_error' });
    const r = await retryByFilter(db, { error_category: ['auth_error'] });
    expect(r.count).toBe(2);
    expect(await claimJobs(db, { workerId: 'w1', limit: 5, leaseMs: 60_000 })).toHaveLength(2);
  });

  it('reap: expired leases go back to pending, or fail with timeout after max_attempts; the stale worker is refused', async () => {
    await createJob(db, job({ max_attempts: 2 }));
    const j = await claimOne('w1', 1000);
    await db.query(`UPDATE ai_jobs SET lease_expires_at = now() - interval '1 second'`);
    const r1 = await reapExpiredLeases(db);
    expect(r1).toMatchObject({ requeued: 1, failed: 0 });
    const after = (await getJob(db, j.id))!;
    expect(after).toMatchObject({ status: 'pending', error_category: 'timeout' });
    expect(await code(completeJob(db, ref(j), { late: true }))).toBe('lease_lost');
    await db.query('UPDATE ai_jobs SET run_after = now()');
    const j2 = await claimOne('w2', 1000);
    // A live lease is not reaped.
    expect(await reapExpiredLeases(db)).toMatchObject({ requeued: 0, failed: 0 });
    await db.query(`UPDATE ai_jobs SET lease_expires_at = now() - interval '1 second'`);
    expect(await reapExpiredLeases(db)).toMatchObject({ requeued: 0, failed: 1 });
    expect((await getJob(db, j2.id))!).toMatchObject({ status: 'failed', error_category: 'timeout' });
  });

  it('release gives the job back with the attempt refunded', async () => {
    await createJob(db, job());
    const j = await claimOne();
    const r = await releaseJob(db, ref(j));
    expect(r).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await releaseJob(db, ref(j))).toBeNull();
  });

  it('prune deletes only terminal jobs older than the retention', async () => {
    await createJobs(db, [job(), job(), job()]);
    const [a, b] = await claimJobs(db, { workerId: 'w1', limit: 2, leaseMs: 60_000 });
    await completeJob(db, ref(a!), {});
    await completeJob(db, ref(b!), {});
    await db.query(`UPDATE ai_jobs SET finished_at = now() - interval '2 days' WHERE id = $1`, [a!.id]);
    expect(await pruneFinished(db, 86_400_000)).toBe(1);
    expect(await getJob(db, a!.id)).toBeNull();
    expect(await getJob(db, b!.id)).not.toBeNull();
  });

  it('list: filters, newest first, keyset pagination, malformed cursor refused', async () => {
    const made = await createJobs(
      db,
      Array.from({ length: 7 }, (_, i) => job({ owner_ref: i % 2 ? 'odd' : 'even' })),
    );
    const ids = made.map((m) => m.job.id).reverse();
    const p1 = await listJobs(db, { limit: 3 });
    expect(p1.jobs.map((j) => j.id)).toEqual(ids.slice(0, 3));
    const p2 = await listJobs(db, { limit: 3, cursor: p1.next_cursor! });
    expect(p2.jobs.map((j) => j.id)).toEqual(ids.slice(3, 6));
    const p3 = await listJobs(db, { limit: 3, cursor: p2.next_cursor! });
    expect(p3.jobs.map((j) => j.id)).toEqual(ids.slice(6));
    expect(p3.next_cursor).toBeNull();
    expect((await listJobs(db, { owner_service: 'telephony', owner_ref: 'odd' })).jobs).toHaveLength(3);
    expect((await listJobs(db, { status: ['running', 'failed'] })).jobs).toHaveLength(0);
    expect((await listJobs(db, { ids: [ids[0]!, ids[1]!] })).jobs).toHaveLength(2);
    expect((await listJobs(db, { owner_ref: "x' OR 1=1 --" })).jobs).toHaveLength(0);
    expect(await code(listJobs(db, { cursor: 'not-a-cursor' }))).toBe('validation_error');
  });

  it('list by several statuses merges one ordered branch per status, with pagination', async () => {
    await createJobs(
      db,
      Array.from({ length: 6 }, (_, i) => job({ owner_ref: `m/${i}` })),
    );
    const jobs = await claimJobs(db, { workerId: 'w1', limit: 4, leaseMs: 60_000 });
    await failJob(db, ref(jobs[0]!), { category: 'invalid_input' });
    await failJob(db, ref(jobs[1]!), { category: 'invalid_input' });
    await cancelByFilter(db, { ids: [jobs[2]!.id] });
    const want = [jobs[0]!.id, jobs[1]!.id, jobs[2]!.id].sort().reverse();
    const all = await listJobs(db, { status: ['failed', 'cancelled'] });
    expect(all.jobs.map((j) => j.id)).toEqual(want);
    const p1 = await listJobs(db, { status: ['cancelled', 'failed', 'failed'], limit: 2 });
    const p2 = await listJobs(db, { status: ['cancelled', 'failed'], limit: 2, cursor: p1.next_cursor! });
    expect([...p1.jobs, ...p2.jobs].map((j) => j.id)).toEqual(want);
    expect(p2.next_cursor).toBeNull();
    expect(
      (await listJobs(db, { status: ['failed', 'running'], owner_ref: 'm/0' })).jobs.length,
    ).toBeLessThanOrEqual(1);
  });

  it('stats: queue counts, per type, window counts, errors and durations', async () => {
    await createJobs(db, [job(), job(), job({ task_type: 'transcribe', model_profile: 'whisperx' }), job()]);
    const [a, b] = await claimJobs(db, {
      workerId: 'w1',
      limit: 2,
      leaseMs: 60_000,
      taskTypes: ['llm_chat'],
    });
    await completeJob(db, ref(a!), {});
    await failJob(db, ref(b!), { category: 'invalid_input' });
    await claimJobs(db, { workerId: 'w1', limit: 1, leaseMs: 60_000, taskTypes: ['llm_chat'] });
    const s = await jobStats(db);
    expect(s.queue).toMatchObject({ pending: 1, pending_ready: 1, running: 1, expired_leases: 0 });
    expect(s.queue.oldest_pending_age_ms).toBeGreaterThanOrEqual(0);
    expect(s.by_type).toEqual([
      { task_type: 'llm_chat', model_profile: 'qwen2.5-14b', pending: 0, running: 1 },
      { task_type: 'transcribe', model_profile: 'whisperx', pending: 1, running: 0 },
    ]);
    expect(s.finished).toEqual({ completed: 1, failed: 1, cancelled: 0 });
    expect(s.errors).toEqual([{ category: 'invalid_input', failed: 1, retrying: 0 }]);
    expect(s.durations.sample).toBe(1);
    expect(typeof s.total_estimate).toBe('number');
  });

  it('stats: the queue figures equal direct counts, for the admin and for one owner', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const mk = (owner: string, n: number, over: Partial<CreateJob> = {}) =>
      Array.from({ length: n }, (_, i) => job({ owner_service: owner, owner_ref: `${owner}/${i}`, ...over }));
    await createJobs(db, [
      ...mk('crm', 5),
      ...mk('crm', 3, { run_after: future }),
      ...mk('crm', 2, { task_type: 'transcribe_compare', model_profile: 'voxtral' }),
      ...mk('telephony', 4, { task_type: 'transcribe', model_profile: 'whisperx' }),
      ...mk('telephony', 2, { run_after: future }),
    ]);
    // Running, some with expired leases; pending retries carry the error that sent them back.
    const claimed = await claimJobs(db, {
      workerId: 'w1',
      limit: 6,
      leaseMs: 60_000,
      taskTypes: ['llm_chat', 'transcribe'],
    });
    expect(claimed.length).toBe(6);
    await db.query(
      `UPDATE ai_jobs SET lease_expires_at = now() - interval '1 minute' WHERE id = ANY($1::uuid[])`,
      [claimed.slice(0, 2).map((j) => j.id)],
    );
    await db.query(
      `UPDATE ai_jobs SET error_category = CASE WHEN owner_service = 'crm' THEN 'timeout' ELSE 'provider_error' END
       WHERE status = 'pending' AND run_after > now()`,
    );
    const direct = async (owner: string | null) => {
      const where = `task_type <> 'transcribe_compare' AND ($1::text IS NULL OR owner_service = $1)`;
      const r = await db.query<Record<string, number>>(
        `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
                count(*) FILTER (WHERE status = 'pending' AND run_after <= now())::int AS pending_ready,
                count(*) FILTER (WHERE status = 'running')::int AS running,
                count(*) FILTER (WHERE status = 'running' AND lease_expires_at < now())::int AS expired_leases
         FROM ai_jobs WHERE ${where}`,
        [owner],
      );
      const errs = await db.query<{ category: string; failed: number; retrying: number }>(
        `SELECT error_category AS category, 0 AS failed, count(*)::int AS retrying FROM ai_jobs
         WHERE status = 'pending' AND error_category IS NOT NULL AND ${where}
         GROUP BY 1 ORDER BY 3 DESC, 1`,
        [owner],
      );
      const types = await db.query<{
        task_type: string;
        model_profile: string;
        pending: number;
        running: number;
      }>(
        `SELECT task_type, model_profile, count(*) FILTER (WHERE status = 'pending')::int AS pending,
                count(*) FILTER (WHERE status = 'running')::int AS running
         FROM ai_jobs WHERE status IN ('pending', 'running')
           AND ($1::text IS NULL OR (owner_service = $1 AND task_type <> 'transcribe_compare'))
         GROUP BY 1, 2 ORDER BY 1, 2`,
        [owner],
      );
      return { queue: r.rows[0]!, errors: errs.rows, by_type: types.rows };
    };
    for (const owner of [null, 'crm', 'telephony']) {
      const s = await jobStats(db, 3_600_000, 100_000, owner);
      const want = await direct(owner);
      const { oldest_pending_age_ms, ...queue } = s.queue;
      expect(queue, String(owner)).toEqual(want.queue);
      expect(s.errors, String(owner)).toEqual(want.errors);
      expect(s.by_type, String(owner)).toEqual(want.by_type);
      expect(
        oldest_pending_age_ms === null ? want.queue.pending_ready : oldest_pending_age_ms,
      ).toBeGreaterThanOrEqual(0);
    }
    // Sanity: the mix exercises every figure.
    const all = await jobStats(db);
    expect(all.queue.expired_leases).toBe(2);
    expect(all.queue.pending_ready).toBeLessThan(all.queue.pending);
    expect(all.errors.map((e) => e.category).sort()).toEqual(['provider_error', 'timeout']);
    expect(all.by_type).toContainEqual({
      task_type: 'transcribe_compare',
      model_profile: 'voxtral',
      pending: 2,
      running: 0,
    });
  });

  it('stats.total_estimate counts (capped) before the first ANALYZE, then reads the estimate', async () => {
    const fresh = await freshDb(driver);
    try {
      const { rows } = await fresh.db.query<{ reltuples: number }>(
        `SELECT reltuples FROM pg_class WHERE oid = 'ai_jobs'::regclass`,
      );
      expect(rows[0]!.reltuples).toBeLessThanOrEqual(0); // never analyzed: unknown
      await createJobs(fresh.db, [job(), job(), job()]);
      expect((await jobStats(fresh.db)).total_estimate).toBe(3);
      // The stand-in count stops at its cap rather than reading a big table through.
      expect((await jobStats(fresh.db, 3_600_000, 2)).total_estimate).toBe(2);
      await fresh.db.query('ANALYZE ai_jobs');
      await createJobs(fresh.db, [job(), job()]);
      // After ANALYZE: the planner's figure (3 rows then), read for free, not a count.
      expect((await jobStats(fresh.db)).total_estimate).toBe(3);
    } finally {
      await fresh.cleanup();
    }
  });

  it('reapOnce: one run, one summary (reaped, failed, pruned, time on the given clock)', async () => {
    await createJobs(db, [job(), job({ max_attempts: 1 })]);
    await claimJobs(db, { workerId: 'w1', limit: 2, leaseMs: 60_000 });
    await db.query(`UPDATE ai_jobs SET lease_expires_at = now() - interval '1 second'`);
    let now = 0;
    const clock = { now: () => (now += 40), sleep: async () => {} };
    expect(await reapOnce(db, { clock })).toEqual({ requeued: 1, failed: 1, pruned: 0, duration_ms: 40 });
    await db.query(`UPDATE ai_jobs SET finished_at = now() - interval '2 days' WHERE status = 'failed'`);
    expect(await reapOnce(db, { retentionMs: 86_400_000, clock })).toMatchObject({ requeued: 0, pruned: 1 });
  });
});
