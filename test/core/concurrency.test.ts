// Contention on the real server (PGlite is a single connection, so these need
// TEST_DATABASE_URL): many claimers, many migrators, stale writers.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPg } from '../../lib/db/pg.ts';
import type { Db } from '../../lib/db/port.ts';
import type { AppError } from '../../lib/errors.ts';
import { retryJob } from '../../lib/jobs/admin.ts';
import { CONTROL_LOCK, claimJobs, GROUP_LOCK } from '../../lib/jobs/claim.ts';
import { createJobs } from '../../lib/jobs/create.ts';
import { completeJob, completeMany } from '../../lib/jobs/lease.ts';
import { reapExpiredLeases } from '../../lib/jobs/reap.ts';
import { pauseQueue, resumeQueue } from '../../lib/queues/control.ts';
import { queuePolicy } from '../../lib/queues/policy.ts';
import { createServerDatabase, freshDb, hasServer, type TestDb } from '../support/db.ts';

describe.skipIf(!hasServer)('concurrency on real PostgreSQL', () => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb('pg', { poolMax: 12 });
    db = t.db;
  });
  afterAll(async () => t?.cleanup());

  // 2,000 jobs are 80 claims of 25 racing over 8 connections. The size buys no more
  // proof than 10,000 did (a claim without FOR UPDATE SKIP LOCKED fails here at either
  // size, every time), at a fifth of the time.
  it('8 concurrent claimers over 2,000 jobs: each job claimed exactly once, none left', async () => {
    await db.query('DELETE FROM ai_jobs');
    const N = 2_000;
    for (let i = 0; i < N; i += 1000) {
      await createJobs(
        db,
        Array.from({ length: 1000 }, (_, k) => ({
          owner_service: 'bench',
          owner_ref: `r/${i + k}`,
          task_type: 'noop',
          model_profile: 'none',
          input: { n: i + k },
        })),
      );
    }
    const claimedBy = new Map<string, string>();
    const duplicates: string[] = [];
    const worker = async (w: string) => {
      for (;;) {
        const jobs = await claimJobs(db, { workerId: w, limit: 25, leaseMs: 60_000 });
        if (jobs.length === 0) return;
        for (const j of jobs) {
          if (claimedBy.has(j.id)) duplicates.push(j.id);
          claimedBy.set(j.id, w);
        }
        const ok = await completeMany(
          db,
          jobs.map((j) => ({ id: j.id, workerId: w, leaseToken: j.lease_token!, result: { by: w } })),
        );
        expect(ok.size).toBe(jobs.length);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => worker(`w${i}`)));
    expect(duplicates).toEqual([]);
    expect(claimedBy.size).toBe(N);
    const r = await db.query<{ status: string; n: number; max_attempts: number }>(
      'SELECT status, count(*)::int AS n, max(attempts) AS max_attempts FROM ai_jobs GROUP BY status',
    );
    expect(r.rows).toEqual([{ status: 'completed', n: N, max_attempts: 1 }]);
    // Every claimer got a share: SKIP LOCKED spreads the work instead of serialising it.
    expect(new Set(claimedBy.values()).size).toBe(8);
  }, 120_000);

  it('a stale worker cannot overwrite a job after a reap or a retry, under concurrent traffic', async () => {
    await db.query('DELETE FROM ai_jobs');
    await createJobs(
      db,
      Array.from({ length: 200 }, (_, k) => ({
        owner_service: 's',
        owner_ref: `r/${k}`,
        task_type: 'noop',
        model_profile: 'none',
        input: {},
      })),
    );
    const stale = await claimJobs(db, { workerId: 'stale', limit: 200, leaseMs: 60_000 });
    // Half are reaped (lease expired), half retried by a caller.
    const half = stale.slice(0, 100).map((j) => j.id);
    await db.query(
      `UPDATE ai_jobs SET lease_expires_at = now() - interval '1 s' WHERE id = ANY($1::uuid[])`,
      [half],
    );
    const [reaped] = await Promise.all([
      reapExpiredLeases(db),
      Promise.all(stale.slice(100).map((j) => retryJob(db, j.id))),
    ]);
    expect(reaped.requeued).toBe(100);
    await db.query('UPDATE ai_jobs SET run_after = now()');
    const fresh = await claimJobs(db, { workerId: 'fresh', limit: 200, leaseMs: 60_000 });
    expect(fresh).toHaveLength(200);
    // The stale worker's late writes race the fresh worker's completions.
    const results = await Promise.allSettled([
      ...stale.map((j) =>
        completeJob(db, { id: j.id, workerId: 'stale', leaseToken: j.lease_token! }, { from: 'stale' }),
      ),
      ...fresh.map((j) =>
        completeJob(db, { id: j.id, workerId: 'fresh', leaseToken: j.lease_token! }, { from: 'fresh' }),
      ),
    ]);
    const staleResults = results.slice(0, 200);
    expect(
      staleResults.every((r) => r.status === 'rejected' && (r.reason as AppError).code === 'lease_lost'),
    ).toBe(true);
    const rows = await db.query<{ from: string; n: number }>(
      `SELECT result->>'from' AS from, count(*)::int AS n FROM ai_jobs GROUP BY 1`,
    );
    expect(rows.rows).toEqual([{ from: 'fresh', n: 200 }]);
  }, 60_000);

  // 40 jobs through a limit of 3: every slot that frees is raced by the 20 claimers, and a
  // claim that takes its group lock shared instead of exclusive, or a STABLE
  // ai_claim_controls, passes the limit by 7 to 24 on every run (120 jobs proved no
  // more, in three times as long: the claims of a full group queue on its lock).
  it('20 claimers racing never lease past a profile limit (issue 11)', async () => {
    await db.query('DELETE FROM ai_jobs');
    const N = 40;
    const LIMIT = 3;
    await createJobs(
      db,
      Array.from({ length: N }, (_, k) => ({
        owner_service: k % 2 ? 'a' : 'b',
        owner_ref: `r/${k}`,
        task_type: 'transcribe',
        model_profile: 'whisperx',
        input: {},
      })),
    );
    const policy = queuePolicy({ PROFILE_LIMITS: { whisperx: LIMIT } });
    // Every claim records how many whisperx jobs were running right after it committed,
    // read on a separate connection: a snapshot of committed state, so any overshoot shows.
    let maxSeen = 0;
    let done = 0;
    const sampler = (async () => {
      while (done < N) {
        const r = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'running' AND model_profile = 'whisperx'`,
        );
        maxSeen = Math.max(maxSeen, r.rows[0]!.n);
      }
    })();
    const claimer = async (w: string) => {
      while (done < N) {
        const jobs = await claimJobs(db, { workerId: w, limit: 5, leaseMs: 60_000, policy });
        if (jobs.length === 0) {
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        expect(jobs.length).toBeLessThanOrEqual(LIMIT);
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        const ok = await completeMany(
          db,
          jobs.map((j) => ({ id: j.id, workerId: w, leaseToken: j.lease_token!, result: {} })),
        );
        done += ok.size;
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => claimer(`w${i}`)));
    await sampler;
    expect(maxSeen).toBeLessThanOrEqual(LIMIT);
    expect(maxSeen).toBe(LIMIT); // the limit was reached, not merely never approached
    const r = await db.query<{ n: number; attempts: number }>(
      `SELECT count(*)::int AS n, max(attempts) AS attempts FROM ai_jobs WHERE status = 'completed'`,
    );
    expect(r.rows[0]).toEqual({ n: N, attempts: 1 });
  }, 120_000);

  it('20 claimers filling a limit with headroom (shared, then exclusive at the edge) stop exactly at it', async () => {
    await db.query('DELETE FROM ai_jobs');
    await db.query('DELETE FROM ai_queues');
    const LIMIT = 300;
    await createJobs(
      db,
      Array.from({ length: 400 }, (_, k) => ({
        owner_service: k % 2 ? 'a' : 'b',
        owner_ref: `r/${k}`,
        task_type: 'llm_chat',
        model_profile: k % 3 ? 'qwen' : 'voxtral',
        input: {},
      })),
    );
    // A task-type limit; every claimer leases at most 1 (max_claim), so the group is held
    // shared while running + holders ≤ 300: with no pg_locks read at all while
    // running + (every backend) ≤ 300, then counting holders, then exclusively.
    const policy = { ...queuePolicy({ TASK_TYPE_LIMITS: { llm_chat: LIMIT } }), max_claim: 1 };
    let maxSeen = 0;
    let maxShared = 0;
    let stop = false;
    const sampler = (async () => {
      while (!stop) {
        const r = await db.query<{ n: number; shared: number }>(
          `SELECT (SELECT count(*)::int FROM ai_jobs WHERE status = 'running') AS n,
                  (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND classid = $1
                     AND objid::int = hashtext('task_type:llm_chat') AND mode = 'ShareLock' AND granted) AS shared`,
          [GROUP_LOCK],
        );
        maxSeen = Math.max(maxSeen, r.rows[0]!.n);
        maxShared = Math.max(maxShared, r.rows[0]!.shared);
      }
    })();
    // Claimers keep what they lease: the running count only grows, so any overshoot stays.
    const claimer = async (w: string) => {
      for (let empty = 0; empty < 5; ) {
        const jobs = await claimJobs(db, { workerId: w, limit: 1, leaseMs: 60_000, policy });
        empty = jobs.length ? 0 : empty + 1;
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => claimer(`w${i}`)));
    stop = true;
    await sampler;
    const r = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'running'`,
    );
    expect(r.rows[0]!.n).toBe(LIMIT);
    expect(maxSeen).toBeLessThanOrEqual(LIMIT);
    expect(maxShared).toBeGreaterThan(1); // claims did run side by side
  }, 120_000);

  it('a pause taken while 20 claimers race: no job of that profile is claimed after it returns', async () => {
    await db.query('DELETE FROM ai_jobs');
    await db.query('DELETE FROM ai_queues');
    await createJobs(
      db,
      Array.from({ length: 2000 }, (_, k) => ({
        owner_service: 's',
        owner_ref: `r/${k}`,
        task_type: 'llm_chat',
        model_profile: k % 2 ? 'qwen' : 'voxtral',
        input: {},
      })),
    );
    let stop = false;
    const claimer = async (w: string) => {
      while (!stop) {
        const jobs = await claimJobs(db, { workerId: w, limit: 2, leaseMs: 60_000 });
        if (jobs.length)
          await completeMany(
            db,
            jobs.map((j) => ({ id: j.id, workerId: w, leaseToken: j.lease_token!, result: {} })),
          );
      }
    };
    const claimers = Array.from({ length: 20 }, (_, i) => claimer(`w${i}`));
    await new Promise((r) => setTimeout(r, 200));
    await pauseQueue(db, { scope: 'model_profile', name: 'qwen' }, { reason: 'swap', by: 'test' });
    const taken = async () =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ai_jobs WHERE model_profile = 'qwen' AND status <> 'pending'`,
        )
      ).rows[0]!.n;
    const atPause = await taken();
    expect(atPause).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 400));
    const voxtralBefore = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE model_profile = 'voxtral' AND status <> 'pending'`,
    );
    expect(await taken()).toBe(atPause);
    expect(voxtralBefore.rows[0]!.n).toBeGreaterThan(atPause / 2); // the other profile kept flowing
    await resumeQueue(db, { scope: 'model_profile', name: 'qwen' });
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(claimers);
    expect(await taken()).toBeGreaterThan(atPause);
  }, 120_000);

  // The claim is one statement, and a statement's snapshot is taken before it runs: had it
  // read ai_queues or the running count with that snapshot, a claim that started while a
  // pause (or another claim of a limited group) held its lock would act on what it saw
  // before waiting. ai_claim_controls reads them after the lock, with a fresh snapshot.
  const waitingOnAdvisoryLock = async () => {
    for (let i = 0; i < 500; i++) {
      const r = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
      );
      if (r.rows[0]!.n > 0) return;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error('the claim never waited on the advisory lock');
  };

  it('a claim that waited behind a pause in progress sees the pause once it returns', async () => {
    await db.query('DELETE FROM ai_jobs');
    await db.query('DELETE FROM ai_queues');
    await createJobs(
      db,
      Array.from({ length: 4 }, (_, k) => ({
        owner_service: 's',
        owner_ref: `r/${k}`,
        task_type: 'llm_chat',
        model_profile: 'qwen',
        input: {},
      })),
    );
    let claim: Promise<unknown[]> | undefined;
    // pauseQueue's own steps, held open until the claim is queued behind them.
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, 0)', [CONTROL_LOCK]);
      await tx.query(`INSERT INTO ai_queues (scope, name, paused) VALUES ('model_profile', 'qwen', true)`);
      claim = claimJobs(db, { workerId: 'w', limit: 4, leaseMs: 60_000 });
      await waitingOnAdvisoryLock();
    });
    expect(await claim).toEqual([]);
    const r = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'pending'`,
    );
    expect(r.rows[0]!.n).toBe(4);
  }, 60_000);

  it('a claim that waited behind another claim of a limited group counts what that one leased', async () => {
    await db.query('DELETE FROM ai_jobs');
    await db.query('DELETE FROM ai_queues');
    await createJobs(
      db,
      Array.from({ length: 6 }, (_, k) => ({
        owner_service: 's',
        owner_ref: `r/${k}`,
        task_type: 'transcribe',
        model_profile: 'whisperx',
        input: {},
      })),
    );
    const policy = queuePolicy({ PROFILE_LIMITS: { whisperx: 2 } });
    let claim: Promise<unknown[]> | undefined;
    // Another claimer's transaction: it holds the group lock and leases 2 jobs.
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock_shared($1, 0)', [CONTROL_LOCK]);
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        GROUP_LOCK,
        'model_profile:whisperx',
      ]);
      await tx.query(
        `UPDATE ai_jobs SET status = 'running', lease_expires_at = now() + interval '1 minute', attempts = 1
         WHERE id IN (SELECT id FROM ai_jobs ORDER BY id LIMIT 2)`,
      );
      claim = claimJobs(db, { workerId: 'w', limit: 4, leaseMs: 60_000, policy });
      await waitingOnAdvisoryLock();
    });
    expect(await claim).toEqual([]);
    const r = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'running'`,
    );
    expect(r.rows[0]!.n).toBe(2);
  }, 60_000);

  it('a limit with headroom is shared: claims run side by side, and taken exclusively at its edge', async () => {
    await db.query('DELETE FROM ai_jobs');
    await db.query('DELETE FROM ai_queues');
    await createJobs(
      db,
      Array.from({ length: 30 }, (_, k) => ({
        owner_service: 's',
        owner_ref: `r/${k}`,
        task_type: 'transcribe',
        model_profile: 'whisperx',
        input: {},
      })),
    );
    // Every claimer leases at most 5 (max_claim); the limit is 12.
    const policy = { ...queuePolicy({ PROFILE_LIMITS: { whisperx: 12 } }), max_claim: 5 };
    const running = async () =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'running'`))
        .rows[0]!.n;
    let third: Promise<unknown[]> | undefined;
    await db.transaction(async (tx) => {
      // A claim in flight holding the group shared: 0 running + 1 × 5 ≤ 12.
      await tx.query('SELECT pg_advisory_xact_lock_shared($1, 0)', [CONTROL_LOCK]);
      await tx.query('SELECT pg_advisory_xact_lock_shared($1, hashtext($2))', [
        GROUP_LOCK,
        'model_profile:whisperx',
      ]);
      await tx.query(
        `UPDATE ai_jobs SET status = 'running', lease_expires_at = now() + interval '1 minute', attempts = 1
         WHERE id IN (SELECT id FROM ai_jobs ORDER BY id LIMIT 5)`,
      );
      // A second claim does not wait for it: 0 + 2 × 5 ≤ 12 (the 5 above are uncommitted).
      expect(await claimJobs(db, { workerId: 'b', limit: 5, leaseMs: 60_000, policy })).toHaveLength(5);
      // A third would pass the limit if both in flight took 5 (5 + 2 × 5 > 12): it waits
      // for the exclusive lock, i.e. for the transaction above to end.
      third = claimJobs(db, { workerId: 'c', limit: 5, leaseMs: 60_000, policy });
      await waitingOnAdvisoryLock();
    });
    // Then it sees the 10 running and takes what is left under the limit.
    expect(await third).toHaveLength(2);
    expect(await running()).toBe(12);
  }, 60_000);

  it('5 processes applying migrations at once apply each file exactly once', async () => {
    const { url, drop } = await createServerDatabase();
    try {
      const runs = await Promise.all(
        Array.from(
          { length: 5 },
          () =>
            new Promise<{ code: number | null; out: string }>((resolve) => {
              const p = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], {
                env: { ...process.env, DATABASE_URL: url },
                stdio: ['ignore', 'pipe', 'pipe'],
              });
              let out = '';
              p.stdout.on('data', (d) => (out += d));
              p.stderr.on('data', (d) => (out += d));
              p.on('close', (code) => resolve({ code, out }));
            }),
        ),
      );
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
      const applied = runs.flatMap((r) => JSON.parse(r.out.trim().split('\n').pop()!).applied as string[]);
      const { MIGRATIONS } = await import('../../lib/db/migrations.ts');
      // Across all five processes, each file was applied by exactly one of them.
      expect(applied.sort()).toEqual([...MIGRATIONS].sort());
      const check = openPg(url, { max: 1 });
      const rows = await check.query<{ name: string }>('SELECT name FROM ai_schema_migrations ORDER BY name');
      await check.close();
      expect(rows.rows.map((r) => r.name)).toEqual([...MIGRATIONS]);
    } finally {
      await drop();
    }
  }, 60_000);
});
