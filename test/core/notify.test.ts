// Every statement that ends a job announces it on ai_jobs_finished (inside the statement):
// a long-poll waiting on the job wakes at once, whichever path ended it. A job sent back
// to pending (retryable failure) is not announced.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { cancelByFilter } from '../../lib/jobs/admin.ts';
import { claimJobs } from '../../lib/jobs/claim.ts';
import { createJobs } from '../../lib/jobs/create.ts';
import { createJobEvents, type JobEvents } from '../../lib/jobs/events.ts';
import { completeJob, completeMany, failJob } from '../../lib/jobs/lease.ts';
import { reapExpiredLeases } from '../../lib/jobs/reap.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';

// Neon's WebSocket Pool cannot hold a LISTEN session; long-polls there re-read instead.
describe.each(DRIVERS.filter((d) => d !== 'neon'))('finished notifications on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  let events: JobEvents;
  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
    events = createJobEvents(db)!;
  });
  afterAll(async () => {
    await events?.close();
    await t?.cleanup();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
  });

  const claimed = async (n: number, maxAttempts = 3): Promise<JobRow[]> => {
    await createJobs(
      db,
      Array.from({ length: n }, (_, i) => ({
        owner_service: 's',
        owner_ref: `r/${i}`,
        task_type: 't',
        model_profile: 'm',
        input: {},
        max_attempts: maxAttempts,
      })),
    );
    return claimJobs(db, { workerId: 'w', limit: n, leaseMs: 60_000 });
  };
  const ref = (j: JobRow) => ({ id: j.id, workerId: 'w', leaseToken: j.lease_token! });

  /** Resolves with how long the waiter took to wake (or the full wait when never woken). */
  async function wakeTime(id: string, act: () => Promise<unknown>, waitMs = 4000): Promise<number> {
    const t0 = Date.now();
    const { woken } = await events.wait(id, waitMs);
    await act();
    await woken;
    return Date.now() - t0;
  }

  it('complete, completeMany, final fail, cancel and reap each wake their waiters', async () => {
    const [a, b, c, d, e] = await claimed(5, 1);
    expect(await wakeTime(a!.id, () => completeJob(db, ref(a!), {}))).toBeLessThan(1500);
    expect(await wakeTime(b!.id, () => completeMany(db, [{ ...ref(b!), result: {} }]))).toBeLessThan(1500);
    expect(await wakeTime(c!.id, () => failJob(db, ref(c!), { category: 'invalid_input' }))).toBeLessThan(
      1500,
    );
    expect(await wakeTime(d!.id, () => cancelByFilter(db, { ids: [d!.id] }))).toBeLessThan(1500);
    await db.query(`UPDATE ai_jobs SET lease_expires_at = now() - interval '1 s' WHERE id = $1`, [e!.id]);
    expect(await wakeTime(e!.id, () => reapExpiredLeases(db))).toBeLessThan(1500);
  });

  it('a batch of 450 completions wakes a waiter on each (ids split over several NOTIFYs)', async () => {
    const jobs = await claimed(450);
    const last = jobs[jobs.length - 1]!;
    const first = jobs[0]!;
    const t0 = Date.now();
    const w1 = await events.wait(first.id, 4000);
    const w2 = await events.wait(last.id, 4000);
    await completeMany(
      db,
      jobs.map((j) => ({ ...ref(j), result: {} })),
    );
    await Promise.all([w1.woken, w2.woken]);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('a retryable failure (back to pending) is not announced', async () => {
    const [a] = await claimed(1, 3);
    expect(
      await wakeTime(a!.id, () => failJob(db, ref(a!), { category: 'timeout' }), 600),
    ).toBeGreaterThanOrEqual(590);
  });
});
