// The producer: decides when to claim and claims. Wake-ups: start, every poll interval, a
// NOTIFY for a served task type (folded over a few ms), a job finishing (claim the freed
// slot at once), a circuit's cool-down ending, the end of a claim-error backoff. All
// wake-ups within one event-loop turn make one claim round; a round issues one claim per
// group of handlers (claim-plan.ts), each for at most what the group's slot pool and the
// worker's total have free; handlers whose provider circuit is open are skipped. The
// claimed jobs go to the executor. A failed claim backs off exponentially.

import type { Db } from '../lib/db/port.ts';
import { claimJobs } from '../lib/jobs/claim.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import type { QueuePolicy } from '../lib/queues/policy.ts';
import type { Logger, Metrics } from '../lib/telemetry/port.ts';
import type { Capacity } from './capacity.ts';
import type { Circuits } from './circuit.ts';
import { type ClaimGroup, pickHandler, planClaims } from './claim-plan.ts';
import type { TimerId, WorkerClock } from './clock.ts';
import type { DbHealth } from './db-health.ts';
import type { Handler } from './handler.ts';
import { Backoff, describeError } from './retry.ts';
import type { RunnerStats } from './status.ts';

export interface ProducerDeps {
  db: Db;
  workerId: string;
  handlers: readonly Handler[];
  leaseMs: number;
  pollIntervalMs: number;
  /** NOTIFYs arriving within this window cause one claim (0: claim on each). */
  notifyDebounceMs: number;
  clock: WorkerClock;
  log: Logger;
  metrics: Metrics;
  stats: RunnerStats;
  health: DbHealth;
  capacity: Capacity;
  circuits: Circuits;
  /** Queue limits, budgets and fairness weights from the configuration (issue 11). */
  policy?: QueuePolicy;
  /** Reported in GET /api/v1/workers. */
  version?: string;
  launch(job: JobRow, handler: Handler | undefined, sentAt: number, claimedAt: number): void;
}

export class Producer {
  private readonly served: ReadonlySet<string>;
  private readonly backoff = new Backoff(200, 10_000);
  private readonly timers = new Set<TimerId>();
  private started = false;
  private stopped = false;
  private pumpScheduled = false;
  private claiming = false;
  private pumpAgain = false;
  private rotation = 0;
  private pollTimer: TimerId | undefined;
  private backoffTimer: TimerId | undefined;
  private notifyTimer: TimerId | undefined;

  constructor(private readonly d: ProducerDeps) {
    this.served = new Set(d.handlers.flatMap((h) => h.taskTypes));
  }

  start(): void {
    this.started = true;
    this.wake();
  }

  /** Stops claiming for good (drain); a claim already sent still lands (the executor releases it). */
  stop(): void {
    this.stopped = true;
    for (const t of [this.pollTimer, this.backoffTimer, this.notifyTimer, ...this.timers])
      this.d.clock.clearTimeout(t);
    this.timers.clear();
  }

  /** Claims as soon as possible (coalesced: all wake-ups within one event-loop turn make one claim). */
  wake = (): void => {
    if (this.pumpScheduled || this.stopped || !this.started) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  };

  /** Claims after `ms` (a circuit's cool-down). */
  wakeIn = (ms: number): void => {
    if (this.stopped) return;
    const t = this.d.clock.setTimeout(() => {
      this.timers.delete(t);
      this.wake();
    }, ms);
    this.timers.add(t);
  };

  /** A NOTIFY payload (a task type) from the LISTEN session. */
  onNotify = (taskType: string): void => {
    if (!this.served.has(taskType) || this.stopped || this.notifyTimer) return;
    if (this.d.notifyDebounceMs <= 0) {
      this.wake();
      return;
    }
    this.notifyTimer = this.d.clock.setTimeout(() => {
      this.notifyTimer = undefined;
      this.wake();
    }, this.d.notifyDebounceMs);
  };

  private async pump(): Promise<void> {
    if (this.claiming) {
      this.pumpAgain = true;
      return;
    }
    if (this.stopped || this.backoffTimer) return;
    this.claiming = true;
    try {
      do {
        this.pumpAgain = false;
        await this.round();
      } while (this.pumpAgain && !this.stopped && !this.backoffTimer);
    } catch (err) {
      // round() catches database errors itself; anything here is a bug worth seeing.
      this.d.log.error({ err: describeError(err) }, 'claim loop error');
    } finally {
      this.claiming = false;
      this.schedulePoll();
    }
  }

  private schedulePoll(): void {
    this.d.clock.clearTimeout(this.pollTimer);
    if (this.stopped) return;
    this.pollTimer = this.d.clock.setTimeout(this.wake, this.d.pollIntervalMs);
  }

  private async round(): Promise<void> {
    const { capacity, circuits } = this.d;
    const groups = planClaims(this.d.handlers, (h) => circuits.of(h).allowance());
    if (groups.length === 0) return;
    const first = this.rotation++ % groups.length;
    for (let i = 0; i < groups.length; i++) {
      if (capacity.free(undefined) <= 0 || this.stopped) return;
      const group = groups[(first + i) % groups.length]!;
      // A half-open probe may already have been taken by a handler sharing the circuit.
      const max = Math.min(group.max, ...group.handlers.map((h) => circuits.of(h).allowance()));
      // A full pool (its own limit) leaves the others free to claim.
      const limit = Math.min(capacity.free(group.pool), max);
      if (limit <= 0) continue;
      if (!(await this.claim(group, limit))) return;
    }
  }

  /** One claim query; false when the database failed (the round stops and backs off). */
  private async claim(group: ClaimGroup, limit: number): Promise<boolean> {
    const { d } = this;
    const sentAt = d.clock.now();
    let jobs: JobRow[];
    try {
      jobs = await claimJobs(d.db, {
        workerId: d.workerId,
        limit,
        leaseMs: d.leaseMs,
        taskTypes: group.taskTypes,
        modelProfiles: group.modelProfiles,
        policy: d.policy,
        workerVersion: d.version,
      });
    } catch (err) {
      this.failed(err);
      return false;
    }
    d.health.ok();
    this.backoff.reset();
    const now = d.clock.now();
    d.stats.lastClaimAt = now;
    d.metrics.claimBatch(jobs.length);
    if (jobs.length > 0) d.stats.lastJobClaimedAt = now;
    // A claim is usually all one (task_type, model_profile): pick the handler once per run of equal jobs.
    let type: string | undefined;
    let profile: string | undefined;
    let handler: Handler | undefined;
    for (const job of jobs) {
      if (job.task_type !== type || job.model_profile !== profile) {
        type = job.task_type;
        profile = job.model_profile;
        handler = pickHandler(group.handlers, job);
      }
      d.launch(job, handler, sentAt, now);
    }
    return true;
  }

  private failed(err: unknown): void {
    this.d.health.error(err, 'claim');
    this.backoffTimer = this.d.clock.setTimeout(() => {
      this.backoffTimer = undefined;
      this.wake();
    }, this.backoff.next());
  }
}
