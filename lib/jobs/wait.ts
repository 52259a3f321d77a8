// Long-poll: read a job, and if it is not terminal yet wait until it is or the time is
// up. With a notifier (LISTEN ai_jobs_finished) the reader wakes at once; without one
// (edge drivers cannot LISTEN) it re-reads with a backoff from 50 ms to 1 s.
import type { Deps } from '../http/deps.ts';
import { getJob } from './list.ts';
import { isTerminal, type JobRow } from './row.ts';

export async function waitForTerminal(
  deps: Pick<Deps, 'db' | 'clock' | 'waitForJob'>,
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
