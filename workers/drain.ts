// Graceful shutdown of a runner: stop claiming and listening, give jobs in flight `graceMs`
// to finish, then abort and release the rest (back to pending, attempt refunded), let
// aborted handlers unwind and queued outcomes land within a short write window, and stop
// the heartbeats last (a job still finishing keeps its lease until its write lands).
import type { Db } from '../lib/db/port.ts';
import { releaseJob } from '../lib/jobs/lease.ts';
import type { Logger } from '../lib/telemetry/port.ts';
import type { WorkerClock } from './clock.ts';
import type { Executor } from './executor.ts';
import type { Heartbeats } from './heartbeats.ts';
import type { OutcomeBatcher } from './outcomes.ts';
import type { Producer } from './producer.ts';
import { describeError } from './retry.ts';
import type { RunnerStats } from './status.ts';

/** After the grace period, how long aborted jobs' releases and queued writes may still take. */
export const WRITE_WINDOW_MS = 3_000;

export interface DrainParts {
  db: Db;
  clock: WorkerClock;
  log: Logger;
  stats: RunnerStats;
  producer: Producer;
  listener: { stop(): Promise<void> };
  executor: Executor;
  outcomes: OutcomeBatcher;
  heartbeats: Heartbeats;
}

export async function drain(p: DrainParts, graceMs: number): Promise<{ finished: number; released: number }> {
  const { executor, clock, log } = p;
  executor.draining = true;
  executor.drainDeadline = clock.now() + graceMs + WRITE_WINDOW_MS;
  p.producer.stop();
  // The grace period starts now, not after the LISTEN session has closed.
  const atStart = executor.running;
  const idle = executor.waitIdle(graceMs);
  if (atStart > 0)
    log.info({ in_flight: atStart, grace_ms: graceMs }, 'draining: waiting for jobs in flight');
  await p.listener.stop();
  await idle;
  const stuck = [...executor.slots.values()].filter((s) => s.phase === 'running' && !s.lost);
  for (const s of stuck) {
    s.released = true;
    s.abort(new Error('worker shutting down'));
  }
  const released = (
    await Promise.all(
      stuck.map((s) =>
        releaseJob(p.db, s).then(
          (row) => (row ? 1 : 0),
          (err) => {
            log.warn(
              { job_id: s.job.id, err: describeError(err) },
              'could not release a job; its lease will expire and it will be reaped',
            );
            return 0;
          },
        ),
      ),
    )
  ).reduce((a: number, b: number) => a + b, 0);
  p.stats.counters.released += released;
  if (stuck.length > 0) log.warn({ released, aborted: stuck.length }, 'released unfinished jobs');
  // Let aborted handlers unwind and queued writes land, within the write window.
  await executor.waitSlotsGone(Math.max(0, executor.drainDeadline - clock.now()));
  await p.outcomes.drain(executor.drainDeadline);
  p.heartbeats.stop();
  return { finished: atStart - stuck.length, released };
}
