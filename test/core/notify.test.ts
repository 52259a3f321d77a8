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
    // Start the LISTEN session and let it come up: until then waiters also wake to re-read
    // (lib/jobs/events.ts), which would blur what these tests show.
    await (await events.wait('00000000-0000-0000-0000-000000000000', 1)).woken;
    while (events.status.state !== 'listening') await new Promise((r) => setTimeout(r, 20));
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

  // No wall-clock bounds: a waiter is given far longer than any test runs (10 min), so
  // being woken at all proves the notification did it; "not announced" is shown by a
  // later announcement on the same session arriving while the first waiter still sleeps
  // (NOTIFYs are delivered in commit order).
  const LONG = 600_000;
  const woke = (p: Promise<void>) => {
    const state = { woken: false };
    void p.then(() => {
      state.woken = true;
    });
    return state;
  };

  /** Subscribes, runs `act`, and resolves once the waiter was woken. */
  async function wakes(id: string, act: () => Promise<unknown>): Promise<void> {
    const { woken } = await events.wait(id, LONG);
    await act();
    await woken;
  }

  it('complete, completeMany, final fail, cancel and reap each wake their waiters', async () => {
    const [a, b, c, d, e] = await claimed(5, 1);
    await wakes(a!.id, () => completeJob(db, ref(a!), {}));
    await wakes(b!.id, () => completeMany(db, [{ ...ref(b!), result: {} }]));
    await wakes(c!.id, () => failJob(db, ref(c!), { category: 'invalid_input' }));
    await wakes(d!.id, () => cancelByFilter(db, { ids: [d!.id] }));
    await db.query(`UPDATE ai_jobs SET lease_expires_at = now() - interval '1 s' WHERE id = $1`, [e!.id]);
    await wakes(e!.id, () => reapExpiredLeases(db));
  });

  it('a batch of 450 completions wakes a waiter on each (ids split over several NOTIFYs)', async () => {
    const jobs = await claimed(450);
    const w1 = await events.wait(jobs[0]!.id, LONG);
    const w2 = await events.wait(jobs[449]!.id, LONG);
    await completeMany(
      db,
      jobs.map((j) => ({ ...ref(j), result: {} })),
    );
    await Promise.all([w1.woken, w2.woken]);
  });

  it('a retryable failure (back to pending) is not announced', async () => {
    const [a, b] = await claimed(2, 3);
    const wa = woke((await events.wait(a!.id, LONG)).woken);
    await failJob(db, ref(a!), { category: 'timeout' });
    // b's completion is announced after a's failure committed: once b's waiter wakes,
    // any announcement of a would have been delivered already.
    await wakes(b!.id, () => completeJob(db, ref(b!), {}));
    expect(wa.woken).toBe(false);
    expect(
      (await db.query<{ status: string }>('SELECT status FROM ai_jobs WHERE id = $1', [a!.id])).rows[0],
    ).toEqual({
      status: 'pending',
    });
  });
});
