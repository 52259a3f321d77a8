// Heartbeats: keep the lease of every job in flight alive. Each job is beaten every
// `everyMs` (lease/3, at most 30 s: see everyMsFor); the tick runs at half that cadence, so
// a job is beaten between lease/3 and lease/2 after its last beat and survives two lost
// beats (a blip) before it can expire. A heartbeat that finds the lease gone (reaped,
// retried, cancelled: lease_lost / not_found) aborts the job, and nothing is written for it.
import type { Db } from '../lib/db/port.ts';
import { type AppError, isAppError } from '../lib/errors.ts';
import { heartbeat } from '../lib/jobs/lease.ts';
import type { Logger } from '../lib/telemetry/port.ts';
import type { TimerId, WorkerClock } from './clock.ts';
import type { DbHealth } from './db-health.ts';
import type { Slot } from './slot.ts';
import type { RunnerStats } from './status.ts';

/** Longest gap between heartbeats whatever the lease. */
const MAX_HEARTBEAT_MS = 30_000;

/**
 * Three beats per lease. Capped at 30 s because the heartbeat is also how a cancel or
 * retry reaches a running job: with the default 15 min lease, lease/3 alone would leave a
 * cancelled LLM call running for minutes. One UPDATE per job in flight per 30 s is negligible.
 */
export const everyMsFor = (leaseMs: number) =>
  Math.max(50, Math.min(MAX_HEARTBEAT_MS, Math.floor(leaseMs / 3)));

export class Heartbeats {
  readonly everyMs: number;
  private timer: TimerId | undefined;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly leaseMs: number,
    private readonly clock: WorkerClock,
    private readonly log: Logger,
    private readonly stats: RunnerStats,
    private readonly health: DbHealth,
    private readonly slots: () => Iterable<Slot>,
  ) {
    this.everyMs = everyMsFor(leaseMs);
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(
      () => {
        if (this.stopped) return;
        this.beatDue();
        this.arm();
      },
      Math.max(25, this.everyMs / 2),
    );
  }

  private beatDue(): void {
    const now = this.clock.now();
    for (const slot of this.slots()) {
      if (slot.beating || slot.lost || slot.released) continue;
      if (now - slot.lastBeatAt < this.everyMs) continue;
      // A finishing job is normally written within milliseconds; only one stuck behind an
      // outage needs its lease kept.
      if (slot.phase === 'finishing' && now - slot.finishingSince < this.everyMs) continue;
      void this.beat(slot);
    }
  }

  private async beat(slot: Slot): Promise<void> {
    slot.beating = true;
    const sentAt = this.clock.now();
    try {
      await heartbeat(this.db, slot, this.leaseMs);
      slot.lastBeatAt = sentAt;
      slot.leaseUntil = sentAt + this.leaseMs;
      this.health.ok();
    } catch (err) {
      if (isAppError(err) && (err.code === 'lease_lost' || err.code === 'not_found')) {
        // A finishing job's own write will learn the same thing; only a running one needs stopping.
        if (slot.phase === 'running') this.loseLease(slot, err);
      } else {
        this.health.error(err, 'heartbeat');
      }
    } finally {
      slot.beating = false;
    }
  }

  private loseLease(slot: Slot, err: AppError): void {
    if (slot.lost) return;
    slot.lost = true;
    this.stats.counters.lease_lost++;
    const status = (err.details as { status?: string } | undefined)?.status;
    this.log.warn(
      { job_id: slot.job.id, status: status ?? 'deleted' },
      'lease lost (job reaped, retried or cancelled elsewhere); aborting it, nothing will be written',
    );
    slot.abort(new Error(`lease lost (job is ${status ?? 'gone'})`));
  }
}
