// Long-poll: read a job, and if it is not terminal yet wait until it is or the time is
// up. With a JobWaiter (LISTEN ai_jobs_finished) the reader wakes at once; without one
// (edge drivers cannot LISTEN) it re-reads with a backoff from 50 ms to 1 s.
import type { Clock } from '../clock.ts';
import type { Queryable } from '../db/port.ts';
import { getJob } from './list.ts';
import type { JobRow } from './row.ts';
import { isTerminal } from './transitions.ts';

/**
 * Subscribes to job `id`; resolves once the subscription is live, with `woken` that
 * settles when the job may have changed state (a notification), after `ms`, or on abort.
 */
export type JobWaiter = (id: string, ms: number, signal?: AbortSignal) => Promise<{ woken: Promise<void> }>;

export async function waitForTerminal(
  deps: { db: Queryable; clock: Clock; waitForJob?: JobWaiter },
  id: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<JobRow | null> {
  const deadline = deps.clock.now() + waitMs;
  let job = await getJob(deps.db, id);
  let pause = 50;
  while (job && !isTerminal(job.status) && !signal?.aborted) {
    const left = deadline - deps.clock.now();
    if (left <= 0) break;
    if (deps.waitForJob) {
      // Subscribe first, then re-read, so a finish between the two reads is not missed.
      const { woken } = await deps.waitForJob(id, left, signal);
      job = await getJob(deps.db, id);
      if (!job || isTerminal(job.status)) break;
      await woken;
    } else {
      await deps.clock.sleep(Math.min(pause, left), signal);
      pause = Math.min(pause * 2, 1000);
    }
    job = await getJob(deps.db, id);
  }
  return job;
}
