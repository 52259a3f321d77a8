// Lease reaping and pruning, for the worker's built-in timer (so `npm start` needs no
// CronJob) and for scripts/reap-leases.ts (one run for a Kubernetes CronJob). Several
// workers reaping at once is safe: the core's reap and prune use SKIP LOCKED batches.
import type { Queryable } from '../lib/db/port.ts';
import { reapOnce } from '../lib/jobs/reap.ts';
import type { Logger, Metrics } from '../lib/telemetry/port.ts';
import { describeError } from './retry.ts';

export interface ReaperOptions {
  db: Queryable;
  intervalMs: number;
  retentionMs: number;
  /** Prune at most this often (default max(10 × interval, 10 min)): old rows are not urgent. */
  pruneEveryMs?: number;
  log: Logger;
  metrics: Metrics;
}

export interface Reaper {
  stop(): Promise<void>;
  readonly lastRunAt: string | null;
}

export function startReaper(opts: ReaperOptions): Reaper {
  const pruneEvery = opts.pruneEveryMs ?? Math.max(10 * opts.intervalMs, 10 * 60_000);
  let lastPrune = Number.NEGATIVE_INFINITY;
  let lastRunAt: number | null = null;
  let running: Promise<void> | undefined;
  let failures = 0;

  const tick = async () => {
    const prune = Date.now() - lastPrune >= pruneEvery;
    try {
      const r = await reapOnce(opts.db, prune ? { retentionMs: opts.retentionMs } : {});
      if (prune) lastPrune = Date.now();
      lastRunAt = Date.now();
      failures = 0;
      opts.metrics.leasesReaped(r.requeued, r.failed);
      if (r.requeued + r.failed + r.pruned > 0) opts.log.info({ ...r }, 'reaped expired leases');
    } catch (err) {
      // The runner reports outages; here one line per outage is enough.
      if (failures++ === 0) opts.log.warn({ err: describeError(err) }, 'lease reaper run failed');
    }
  };

  const run = () => {
    running ??= tick().finally(() => {
      running = undefined;
    });
  };
  // A worker that starts after a crash finds its predecessor's leases: reap at once.
  run();
  const timer = setInterval(run, opts.intervalMs);
  return {
    get lastRunAt() {
      return lastRunAt === null ? null : new Date(lastRunAt).toISOString();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
