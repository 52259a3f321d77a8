// What /worker/status shows of the runner: the shapes, and the counters and timestamps
// the other parts update as they go (RunnerStats). Built on demand; nothing here is on
// the per-job hot path except plain counter increments.
import type { CircuitSnapshot } from './circuit.ts';
import type { ListenerState } from './listener.ts';

export interface InFlightJob {
  id: string;
  task_type: string;
  model_profile: string;
  handler: string;
  attempt: number;
  age_ms: number;
  phase: 'running' | 'finishing';
}

export interface ErrorNote {
  at: string;
  source: string;
  message: string;
}

export interface RunnerCounters {
  claimed: number;
  completed: number;
  failed: Record<string, number>;
  lease_lost: number;
  released: number;
  /** Outcomes that could not be written before the lease ran out (database unreachable). */
  write_gave_up: number;
}

export interface SlotUse {
  limit: number;
  running: number;
}

export interface RunnerStatus {
  worker_id: string;
  started_at: string | null;
  draining: boolean;
  claim_limit: number;
  /** Jobs in flight per handler pool (llm, transcribe…) against its own limit; `total` is claim_limit. */
  slots: { total: SlotUse; pools: Record<string, SlotUse> };
  poll_interval_ms: number;
  lease_ms: number;
  heartbeat_interval_ms: number;
  /** reachable: null until the first database call has answered or failed. */
  db: { reachable: boolean | null; last_ok_at: string | null; last_error: ErrorNote | null };
  listen: { state: ListenerState; reconnects: number };
  in_flight: InFlightJob[];
  counters: RunnerCounters;
  last_claim_at: string | null;
  last_job_claimed_at: string | null;
  last_error: ErrorNote | null;
  circuits: Record<string, CircuitSnapshot>;
}

/** Counters and timestamps shared by the producer, executor and outcome writer. */
export class RunnerStats {
  readonly counters: RunnerCounters = {
    claimed: 0,
    completed: 0,
    failed: {},
    lease_lost: 0,
    released: 0,
    write_gave_up: 0,
  };
  lastError: ErrorNote | null = null;
  lastClaimAt: number | null = null;
  lastJobClaimedAt: number | null = null;

  countFailed(category: string): void {
    this.counters.failed[category] = (this.counters.failed[category] ?? 0) + 1;
  }

  snapshot(): Pick<RunnerStatus, 'counters' | 'last_claim_at' | 'last_job_claimed_at' | 'last_error'> {
    return {
      counters: { ...this.counters, failed: { ...this.counters.failed } },
      last_claim_at: iso(this.lastClaimAt),
      last_job_claimed_at: iso(this.lastJobClaimedAt),
      last_error: this.lastError,
    };
  }
}

export const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
