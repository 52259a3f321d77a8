// The executor: runs each claimed job in a slot, concurrently. It owns the table of slots
// in flight (keyed by lease token), takes and gives back capacity, records each provider
// outcome on its circuit, and hands the job's outcome to the OutcomeBatcher; when the
// batcher settles it, the slot leaves the table. A job whose lease was lost, or that was
// released at shutdown, is abandoned: nothing is written for it.

import type { Db } from '../lib/db/port.ts';
import type { FailureCategory } from '../lib/jobs/categories.ts';
import { type FailRequest, type LeaseRef, releaseJob } from '../lib/jobs/lease.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import { usageOfResult } from '../lib/jobs/usage.ts';
import { ProviderError, toProviderError } from '../lib/providers/errors.ts';
import type { JobLabels, Logger, Metrics } from '../lib/telemetry/port.ts';
import type { Capacity } from './capacity.ts';
import type { Circuits } from './circuit.ts';
import type { WorkerClock } from './clock.ts';
import { type Handler, providerOf } from './handler.ts';
import type { Outcome, OutcomeBatcher } from './outcomes.ts';
import { describeError } from './retry.ts';
import { Slot } from './slot.ts';
import type { InFlightJob, RunnerStats } from './status.ts';

export interface ExecutorDeps {
  db: Db;
  workerId: string;
  leaseMs: number;
  clock: WorkerClock;
  log: Logger;
  metrics: Metrics;
  stats: RunnerStats;
  capacity: Capacity;
  circuits: Circuits;
  outcomes: OutcomeBatcher;
  /** A slot was freed: claim again. */
  wake(): void;
}

export class Executor {
  /** Keyed by lease token: after a retry this worker may hold the same job again while the stale run is still being aborted. */
  readonly slots = new Map<string, Slot>();
  /** Writes stop being retried here (set by drain: shutdown leaves a bounded window). */
  drainDeadline = Number.POSITIVE_INFINITY;
  draining = false;
  private readonly idle = new Waiters();
  private readonly gone = new Waiters();
  private readonly debug: boolean;

  constructor(private readonly d: ExecutorDeps) {
    // Whether a per-job debug line is worth building (pino can say; other loggers are asked anyway).
    const log = d.log as Logger & { isLevelEnabled?: (level: string) => boolean };
    this.debug = typeof log.isLevelEnabled === 'function' ? log.isLevelEnabled('debug') : true;
  }

  /** Jobs whose handler is still running. */
  get running(): number {
    return this.d.capacity.inUse;
  }

  launch(job: JobRow, handler: Handler | undefined, sentAt: number, claimedAt: number): void {
    const { d } = this;
    if (!handler || this.draining) {
      // A claim racing with shutdown (or, impossibly, a job no handler takes): give it back untouched.
      const ref: LeaseRef = { id: job.id, workerId: d.workerId, leaseToken: job.lease_token! };
      void releaseJob(d.db, ref).then(
        () => {},
        (err) => d.log.warn({ job_id: job.id, err: describeError(err) }, 'could not release a job'),
      );
      return;
    }
    const circuit = d.circuits.of(handler);
    const slot = new Slot(
      job,
      handler,
      circuit,
      d.workerId,
      claimedAt,
      sentAt,
      d.leaseMs,
      d.metrics,
      d.log,
      this.onSettled,
    );
    this.slots.set(slot.leaseToken, slot);
    d.capacity.take(handler.pool);
    d.stats.counters.claimed++;
    circuit.onClaimed(1);
    void this.execute(slot);
  }

  private async execute(slot: Slot): Promise<void> {
    const { d } = this;
    const { job, handler } = slot;
    const provider = slot.circuit.provider;
    const t0 = performance.now();
    let result: Record<string, unknown> | undefined;
    let failure: { error: ProviderError; raw: unknown } | undefined;
    try {
      // The slot is the JobContext (signal and log are created on first read).
      const out = await handler.run(job, slot);
      if (!out || typeof out !== 'object' || Array.isArray(out)) {
        throw new Error(`handler ${handler.name} returned no result object`);
      }
      result = out;
    } catch (err) {
      failure = { error: toProviderError(err, provider), raw: err };
    }

    const abandoned = slot.lost || slot.released;
    slot.phase = 'finishing';
    slot.finishingSince = d.clock.now();
    d.capacity.give(handler.pool);
    if (!abandoned) {
      const category = failure ? reportedCategory(failure.error) : null;
      d.metrics.providerCall(provider, category ?? 'ok', (performance.now() - t0) / 1000);
      d.circuits.record(slot.circuit, category);
    }
    if (this.running === 0) this.idle.fire();
    d.wake();

    if (abandoned) {
      d.log.info(
        slot.fields({ reason: slot.lost ? 'lease_lost' : 'released' }),
        'job abandoned; nothing written',
      );
      this.forget(slot);
      return;
    }
    slot.giveUpAt = Math.min(slot.leaseUntil, this.drainDeadline);
    if (result) slot.result = result;
    else slot.failure = this.failureOf(slot, failure!.error, failure!.raw);
    // Settled by the batcher through onSettled, synchronously from its flush: no promise per job.
    d.outcomes.add(slot);
  }

  private failureOf(slot: Slot, error: ProviderError, raw: unknown): FailRequest {
    const req: FailRequest = {
      category: reportedCategory(error),
      message: error.message,
      ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
    };
    const extra = slot.handler.failureResult?.(raw);
    if (extra) req.result = extra;
    return req;
  }

  /** The batcher's answer for one slot (called synchronously from its flush; must not throw). */
  private readonly onSettled = (slot: Slot, outcome: Outcome): void => {
    try {
      if (outcome.kind === 'unstorable' && slot.result) {
        // PostgreSQL refused the result itself (e.g. a NUL in text): record an invalid_output failure instead.
        const error = new ProviderError({
          category: 'invalid_output',
          provider: providerOf(slot.handler),
          message: `the result could not be stored: ${outcome.message}`,
        });
        slot.result = undefined;
        slot.failure = this.failureOf(slot, error, error);
        this.d.outcomes.add(slot);
        return;
      }
      this.report(slot, outcome);
    } catch (err) {
      this.d.log.error({ job_id: slot.job.id, err: describeError(err) }, 'recording a job outcome failed');
    }
    this.forget(slot);
  };

  private report(slot: Slot, outcome: Outcome): void {
    const { d } = this;
    const failure = slot.failure;
    switch (outcome.kind) {
      case 'completed': {
        const ms = d.clock.now() - slot.claimedAt;
        d.stats.counters.completed++;
        d.metrics.jobCompleted(this.labels(slot), ms);
        d.metrics.jobUsage(slot.job, usageOfResult(slot.result ?? null, ms));
        if (this.debug) d.log.debug(slot.fields({ duration_ms: ms }), 'job completed');
        return;
      }
      case 'failed': {
        const category = failure!.category;
        const final = outcome.row.status === 'failed';
        d.stats.countFailed(category);
        d.metrics.jobFailed(this.labels(slot), category, final);
        // A final failure still spent worker time (counted as GET /api/v1/usage counts it).
        if (final)
          d.metrics.jobUsage(
            slot.job,
            usageOfResult(failure!.result ?? null, d.clock.now() - slot.claimedAt),
          );
        d.stats.lastError = {
          at: new Date(d.clock.now()).toISOString(),
          source: `job ${slot.job.id}`,
          message: failure!.message ?? category,
        };
        d.log.warn(
          slot.fields({
            category,
            final,
            ...(!final && { retry_at: new Date(outcome.row.run_after).toISOString() }),
            error: failure!.message,
          }),
          final ? 'job failed' : 'job attempt failed; it will be retried',
        );
        return;
      }
      case 'lost':
        d.stats.counters.lease_lost++;
        d.log.warn(
          slot.fields({ status: outcome.status, ...(failure && { category: failure.category }) }),
          failure
            ? 'failure not recorded: the lease was lost'
            : 'completion refused: the lease was lost; result discarded',
        );
        return;
      case 'unstorable':
      case 'gave_up':
        d.stats.counters.write_gave_up++;
        d.log.error(
          slot.fields({ err: outcome.message }),
          `${failure ? 'failure' : 'completion'} not written; the lease will expire and the job re-run`,
        );
    }
  }

  /** The slot's outcome is written (or given up): it leaves the table; drain may be waiting for that. */
  private forget(slot: Slot): void {
    this.slots.delete(slot.leaseToken);
    if (this.slots.size === 0) this.gone.fire();
  }

  /** Until no handler runs, at most `ms` (0: not at all). */
  waitIdle(ms: number): Promise<void> {
    return this.running === 0 || ms <= 0 ? Promise.resolve() : this.idle.wait(this.d.clock, ms);
  }

  /** Until every slot's outcome is settled (aborted handlers unwound, writes landed), at most `ms`. */
  waitSlotsGone(ms: number): Promise<void> {
    return this.slots.size === 0 || ms <= 0 ? Promise.resolve() : this.gone.wait(this.d.clock, ms);
  }

  inFlight(now: number): InFlightJob[] {
    return [...this.slots.values()].map((s) => ({
      id: s.job.id,
      task_type: s.job.task_type,
      model_profile: s.job.model_profile,
      handler: s.handler.name,
      attempt: s.job.attempts,
      age_ms: now - s.claimedAt,
      phase: s.phase,
    }));
  }

  /** Metrics label objects, one per (task_type, model_profile) seen (the last one is memoised). */
  private lastLabels: JobLabels | undefined;
  private readonly labelCache = new Map<string, Map<string, JobLabels>>();
  private labels(slot: Slot): JobLabels {
    const { task_type, model_profile } = slot.job;
    const last = this.lastLabels;
    if (last && last.task_type === task_type && last.model_profile === model_profile) return last;
    let byProfile = this.labelCache.get(task_type);
    if (!byProfile) {
      byProfile = new Map();
      this.labelCache.set(task_type, byProfile);
    }
    let l = byProfile.get(model_profile);
    if (!l) {
      l = { task_type, model_profile };
      byProfile.set(model_profile, l);
    }
    this.lastLabels = l;
    return l;
  }
}

/** Callers waiting for a condition, each at most its own time. */
class Waiters {
  private list: (() => void)[] = [];

  wait(clock: WorkerClock, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = clock.setTimeout(resolve, ms);
      this.list.push(() => {
        clock.clearTimeout(t);
        resolve();
      });
    });
  }

  fire(): void {
    if (this.list.length === 0) return;
    const list = this.list;
    this.list = [];
    for (const w of list) w();
  }
}

/** `cancelled` is ours to decide (lease lost, shutdown); a handler raising it unasked is a bug. */
function reportedCategory(error: ProviderError): FailureCategory {
  return error.category === 'cancelled' ? 'internal' : error.category;
}
