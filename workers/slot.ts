// One claimed job in this worker's hands. To keep the per-job cost of a burn-down low
// (hundreds of jobs per claim, no-op handlers) one object plays every per-job role: it is
// the job's lease ref (id, workerId, leaseToken) for the fenced writes, its queued outcome
// (result or failure, giveUpAt, settle) for the OutcomeBatcher, and the JobContext handed
// to the handler. The AbortController and the job's child logger are created only when
// the handler reads `signal` or `log`; an abort before that is remembered and the signal
// is born aborted.
import type { FailRequest, LeaseRef } from '../lib/jobs/lease.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import type { LogFields, Logger, Metrics } from '../lib/telemetry/port.ts';
import type { Circuit } from './circuit.ts';
import type { Handler, JobContext } from './handler.ts';
import type { Outcome, OutcomeItem } from './outcomes.ts';

export class Slot implements LeaseRef, OutcomeItem, JobContext {
  readonly id: string;
  readonly leaseToken: string;
  /** Set when the handler returned: the completion to write. */
  result: Record<string, unknown> | undefined = undefined;
  /** Set when the handler threw (or the result was unstorable): the failure to write. */
  failure: FailRequest | undefined = undefined;
  giveUpAt = 0;
  /** Local, conservative estimate of when the lease expires (measured from before the request). */
  leaseUntil: number;
  lastBeatAt: number;
  phase: 'running' | 'finishing' = 'running';
  finishingSince = 0;
  /** The lease is gone: abort and write nothing. */
  lost = false;
  /** Given back at shutdown: write nothing more. */
  released = false;
  beating = false;
  private controller: AbortController | undefined;
  private abortReason: { reason: unknown } | undefined;
  private jobLog: Logger | undefined;

  constructor(
    readonly job: JobRow,
    readonly handler: Handler,
    readonly circuit: Circuit,
    readonly workerId: string,
    readonly claimedAt: number,
    sentAt: number,
    leaseMs: number,
    readonly metrics: Metrics,
    private readonly parentLog: Logger,
    private readonly onSettled: (slot: Slot, o: Outcome) => void,
  ) {
    this.id = job.id;
    this.leaseToken = job.lease_token!;
    this.lastBeatAt = sentAt;
    this.leaseUntil = sentAt + leaseMs;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason.reason);
    }
    return this.controller.signal;
  }

  /** Already carries job_id, task_type, model_profile and attempt. */
  get log(): Logger {
    this.jobLog ??= this.parentLog.child(this.fields());
    return this.jobLog;
  }

  abort(reason: unknown): void {
    if (this.controller) this.controller.abort(reason);
    else this.abortReason ??= { reason };
  }

  /** The job's log fields, plus `extra`: the runner's own per-job lines go through the parent logger. */
  fields(extra?: LogFields): LogFields {
    const { job } = this;
    return {
      job_id: job.id,
      task_type: job.task_type,
      model_profile: job.model_profile,
      attempt: job.attempts,
      ...extra,
    };
  }

  settle(o: Outcome): void {
    this.onSettled(this, o);
  }
}
