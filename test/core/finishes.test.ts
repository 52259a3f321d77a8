// The per-minute rollup of finished jobs (migration 013) against a direct count over
// ai_jobs, after a workload that finishes, re-opens and deletes jobs on every path the
// repository has; and its readers (stats, throughput, usage) against the same rows.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../lib/db/port.ts';
import { cancelByFilter, retryByFilter, retryJob } from '../../lib/jobs/admin.ts';
import { claimJobs } from '../../lib/jobs/claim.ts';
import { createJobs } from '../../lib/jobs/create.ts';
import { failMany } from '../../lib/jobs/fail-many.ts';
import { FINISH_ROLLUP_RETENTION_MS, pruneFinishRollup } from '../../lib/jobs/finishes.ts';
import { completeJob, completeMany, failJob } from '../../lib/jobs/lease.ts';
import { pruneFinished, reapExpiredLeases } from '../../lib/jobs/reap.ts';
import type { CreateJob } from '../../lib/jobs/schemas.ts';
import { jobStats } from '../../lib/jobs/stats.ts';
import { usageByOwner, usageLive } from '../../lib/jobs/usage.ts';
import { throughput } from '../../lib/ops/overview.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';

const job = (i: number, over: Partial<CreateJob> = {}): CreateJob => ({
  owner_service: ['telephony', 'crm'][i % 2]!,
  owner_ref: `r/${i}`,
  task_type: i % 3 === 0 ? 'transcribe' : 'llm_chat',
  model_profile: i % 3 === 0 ? 'whisperx' : 'qwen2.5-14b',
  input: { user: 'hi' },
  ...over,
});

// Per minute × kind: the rollup summed over shards vs the rows (zero groups left out).
const ROLLED = `
SELECT minute, owner_service, task_type, model_profile, status, error_category,
       sum(jobs)::int AS jobs, sum(duration_jobs)::int AS duration_jobs, sum(duration_sum_ms)::bigint AS duration_sum_ms,
       sum(prompt_tokens)::float8 AS prompt_tokens, sum(audio_seconds)::float8 AS audio_seconds
FROM ai_job_finishes GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(jobs) <> 0 ORDER BY 1, 2, 3, 4, 5, 6`;
const COUNTED = `
SELECT date_bin('1 minute', finished_at, timestamptz '2000-01-01 00:00:00+00') AS minute, owner_service, task_type,
       model_profile, status, coalesce(error_category, '') AS error_category, count(*)::int AS jobs,
       count(duration_ms)::int AS duration_jobs, coalesce(sum(duration_ms), 0)::bigint AS duration_sum_ms,
       coalesce(sum(ai_result_prompt_tokens(result)), 0)::float8 AS prompt_tokens,
       coalesce(sum(ai_result_audio_seconds(result)), 0)::float8 AS audio_seconds
FROM ai_jobs WHERE finished_at >= now() - interval '8 days'
GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`;

async function expectRollupMatches(db: Queryable) {
  const rolled = (await db.query(ROLLED)).rows;
  const counted = (await db.query(COUNTED)).rows;
  expect(rolled.length).toBeGreaterThan(0);
  expect(rolled).toEqual(counted);
}

/** stats' window figures counted straight from the rows. */
async function directStats(db: Queryable, owner: string | null) {
  const r = await db.query<{ status: string; category: string | null; n: number }>(
    `SELECT status, error_category AS category, count(*)::int AS n FROM ai_jobs
     WHERE finished_at > now() - interval '1 hour' AND task_type <> 'transcribe_compare'
       AND ($1::text IS NULL OR owner_service = $1)
     GROUP BY 1, 2`,
    [owner],
  );
  const n = (s: string) => r.rows.filter((x) => x.status === s).reduce((a, x) => a + x.n, 0);
  const failed = new Map<string, number>();
  for (const x of r.rows)
    if (x.status === 'failed') failed.set(x.category!, (failed.get(x.category!) ?? 0) + x.n);
  return { finished: { completed: n('completed'), failed: n('failed'), cancelled: n('cancelled') }, failed };
}

describe.each(DRIVERS)('finish rollup on %s', (driver) => {
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

  const claim = async (limit: number, workerId = 'w1', leaseMs = 60_000) =>
    (await claimJobs(db, { workerId, limit, leaseMs })).map((j) => ({
      id: j.id,
      leaseToken: j.lease_token!,
      workerId,
      task_type: j.task_type,
    }));

  it('equals a direct count after complete, fail, cancel, retry, reap, prune and back-dating', async () => {
    await createJobs(
      db,
      Array.from({ length: 40 }, (_, i) => job(i)),
    );
    // complete (one and many), with usage in the result
    const a = await claim(12);
    await completeJob(db, a[0]!, { usage: { prompt_tokens: 7, completion_tokens: 2 } });
    await completeMany(
      db,
      a
        .slice(1, 8)
        .map((x, i) => ({ ...x, result: { usage: { prompt_tokens: i }, audio_duration_sec: 1.5 } })),
    );
    // fail: final (failed), retryable (back to pending: not finished), many
    await failJob(db, a[8]!, { category: 'invalid_input' });
    await failJob(db, a[9]!, { category: 'provider_unavailable' });
    await failMany(db, [
      { ...a[10]!, failure: { category: 'invalid_input' } },
      { ...a[11]!, failure: { category: 'timeout' } },
    ]);
    // cancel by filter: pending and running ones
    const b = await claim(4, 'w2');
    await cancelByFilter(db, { owner_service: 'crm', task_type: ['llm_chat'] });
    await cancelByFilter(db, { ids: [b[1]!.id] });
    // reap: expired leases, requeued and given up (attempts at max)
    await db.query(
      `UPDATE ai_jobs SET lease_expires_at = now() - interval '1 s' WHERE id = ANY($1::uuid[])`,
      [[b[2]!.id, b[3]!.id]],
    );
    await db.query('UPDATE ai_jobs SET attempts = max_attempts WHERE id = $1', [b[3]!.id]);
    const reaped = await reapExpiredLeases(db);
    expect(reaped).toMatchObject({ requeued: 1, failed: 1 });
    await expectRollupMatches(db);

    // retry takes finishes back out: one failed job, then by filter (cancelled included)
    await retryJob(db, a[8]!.id);
    await retryByFilter(db, { status: ['cancelled'], include_cancelled: true, limit: 2 });
    await expectRollupMatches(db);
    // … and a retried job that finishes again counts once, in its new minute
    await db.query('UPDATE ai_jobs SET run_after = now()');
    const c = await claim(50, 'w3');
    await completeMany(
      db,
      c.map((x) => ({ ...x, result: {} })),
    );
    await expectRollupMatches(db);

    // a finished row changed afterwards (a comparison filling in the parent's attempts),
    // back-dated (as tests do), or deleted (prune) moves or leaves its minute
    const done = (await db.query<{ id: string }>(`SELECT id FROM ai_jobs WHERE status = 'completed' LIMIT 3`))
      .rows;
    await db.query(
      `UPDATE ai_jobs SET result = '{"attempts": [{"audio_duration_sec": 4}, {"audio_duration_sec": 9}]}' WHERE id = $1`,
      [done[0]!.id],
    );
    await db.query(`UPDATE ai_jobs SET finished_at = now() - interval '2 days' WHERE id = ANY($1::uuid[])`, [
      [done[1]!.id, done[2]!.id],
    ]);
    await expectRollupMatches(db);
    expect(await pruneFinished(db, 86_400_000)).toBe(2);
    await expectRollupMatches(db);

    // a row inserted already finished (a restore) counts too
    await db.query(
      `INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input, status, finished_at, duration_ms)
       VALUES ('crm', 'restored', 'llm_chat', 'qwen2.5-14b', '{}', 'completed', now() - interval '30 minutes', 1234)`,
    );
    await expectRollupMatches(db);

    // the readers give what counting the rows gives
    for (const owner of [null, 'crm', 'telephony']) {
      const s = await jobStats(db, 3_600_000, undefined, owner);
      const want = await directStats(db, owner);
      expect(s.finished).toEqual(want.finished);
      expect(new Map(s.errors.filter((e) => e.failed > 0).map((e) => [e.category, e.failed]))).toEqual(
        want.failed,
      );
    }
    const until = new Date();
    for (const since of [new Date(until.getTime() - 3_600_000), new Date(until.getTime() - 3 * 86_400_000)]) {
      expect(await usageByOwner(db, { since, until })).toEqual(await usageLive(db, { since, until }));
      const q = { since, until, owner_service: 'crm' };
      expect(await usageByOwner(db, q)).toEqual(await usageLive(db, q));
    }
    const chart = await throughput(db, 300_000, 12);
    const total = (await directStats(db, null)).finished;
    const compares = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE finished_at > now() - interval '55 minutes' AND status = 'completed'`,
    );
    expect(chart.reduce((n, x) => n + x.completed, 0)).toBe(compares.rows[0]!.n);
    expect(chart.reduce((n, x) => n + x.failed, 0)).toBe(total.failed);

    // TRUNCATE empties it
    await db.exec('TRUNCATE ai_jobs CASCADE');
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_job_finishes')).rows[0]!.n).toBe(
      0,
    );
  });

  it('stats counts the window edge exactly: whole minutes from the rollup, the rest from the rows', async () => {
    // Finished 59 min 50 s ago … 30 s ago, one job every 10 s: the window's first minute is ragged.
    await db.query(
      `INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input, status, finished_at, duration_ms)
       SELECT 'crm', 'e/' || s, 'llm_chat', 'qwen2.5-14b', '{}', 'completed', now() - make_interval(secs => s), 10
       FROM generate_series(30, 3590, 10) s`,
    );
    for (const windowMs of [3_600_000, 1_800_000, 95_000, 61_000]) {
      const s = await jobStats(db, windowMs);
      const want = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ai_jobs WHERE finished_at > now() - make_interval(secs => $1::float8 / 1000)`,
        [windowMs],
      );
      expect(s.finished.completed).toBe(want.rows[0]!.n);
    }
  });

  it('prunes minutes past the retention in bounded batches', async () => {
    await db.query('DELETE FROM ai_job_finishes'); // earlier tests' minutes, netted to 0
    await db.query(
      `INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input, status, finished_at)
       SELECT 'crm', 'p/' || m, 'llm_chat', 'qwen2.5-14b', '{}', 'cancelled', now() - make_interval(hours => m)
       FROM generate_series(1, 12) m`,
    );
    expect(await pruneFinishRollup(db, 6.5 * 3_600_000, 2)).toBe(6);
    const left = await db.query<{ n: number }>('SELECT sum(jobs)::int AS n FROM ai_job_finishes');
    expect(left.rows[0]!.n).toBe(6);
    expect(FINISH_ROLLUP_RETENTION_MS).toBeGreaterThan(7 * 86_400_000); // the longest window read
    // This test's retention is shorter than the delete trigger's 8 days: leave nothing behind.
    await db.exec('DELETE FROM ai_jobs; DELETE FROM ai_job_finishes;');
  });

  it.runIf(driver === 'pg')(
    'two transactions finishing the same kind of job in the same minute never wait',
    async () => {
      await createJobs(
        db,
        Array.from({ length: 6 }, (_, i) => job(1, { owner_ref: `c/${i}` })),
      );
      const jobs = await claim(6);
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let firstDone!: () => void;
      const firstWrote = new Promise<void>((r) => {
        firstDone = r;
      });
      // The first transaction finishes three jobs and stays open; the second finishes three of
      // the same kind meanwhile. Sharing a rollup row it would wait for the first's row lock
      // (lock_timeout makes that an error instead of a hang).
      const first = db.transaction(async (tx) => {
        await completeMany(
          tx,
          jobs.slice(0, 3).map((x) => ({ ...x, result: {} })),
        );
        firstDone();
        await held;
      });
      await firstWrote;
      await db.transaction(async (tx) => {
        await tx.query(`SET LOCAL lock_timeout = '2s'`);
        await completeMany(
          tx,
          jobs.slice(3).map((x) => ({ ...x, result: {} })),
        );
      });
      release();
      await first;
      const shards = await db.query<{ n: number }>(
        `SELECT count(DISTINCT shard)::int AS n FROM ai_job_finishes WHERE status = 'completed'`,
      );
      expect(shards.rows[0]!.n).toBe(2);
      await expectRollupMatches(db);
      expect((await jobStats(db)).finished.completed).toBe(6);
    },
  );
});
