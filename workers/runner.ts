// The generic job runner: claims jobs for its handlers, runs them concurrently, keeps
// their leases alive and writes each outcome exactly once, fenced by the lease token.
//
//   wake-ups   start, every poll interval, a NOTIFY for a served task type (folded over
//              a few ms), a job finishing (claim the freed slot at once), a circuit's
//              cool-down ending, the end of a claim-error backoff.
//   claims     up to claimLimit − running, one query per group of handlers (claim-plan.ts);
//              handlers whose provider circuit is open are skipped.
//   heartbeats every lease/3 (≤ 30 s) for each job in flight; lease_lost / not_found aborts the
//              job's AbortController and nothing is written for it.
//   outcomes   results go through the CompletionBatcher (group commit, completeMany);
//              failures through failJob with the ProviderError's category and Retry-After.
//   outages    every database call is caught: claims back off exponentially, writes are
//              retried while the lease is still ours, the LISTEN session is re-established.
//   drain      stop claiming, let jobs finish within the grace period, abort and release
//              (back to pending, attempt refunded) the rest, flush the writes.
//
// Nothing here knows about LLMs or audio: the benchmark runs it with a no-op handler.
import type { Db } from '../lib/db/port.ts';
import { isAppError } from '../lib/errors.ts';
import type { FailureCategory } from '../lib/jobs/categories.ts';
import { claimJobs } from '../lib/jobs/claim.ts';
import { type FailRequest, failJob, heartbeat, type LeaseRef, releaseJob } from '../lib/jobs/lease.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import { ProviderError, toProviderError } from '../lib/providers/errors.ts';
import type { QueuePolicy } from '../lib/queues/policy.ts';
import {
  type JobLabels,
  type LogFields,
  type Logger,
  type Metrics,
  noopMetrics,
  silentLogger,
} from '../lib/telemetry/port.ts';
import {
  Circuit,
  type CircuitOptions,
  type CircuitSnapshot,
  circuitOutcome,
  DEFAULT_CIRCUIT,
} from './circuit.ts';
import { type ClaimGroup, pickHandler, planClaims } from './claim-plan.ts';
import { CompletionBatcher, type CompletionItem, type CompletionOutcome } from './completions.ts';
import { type Handler, type JobContext, providerOf } from './handler.ts';
import { JobsListener, type ListenerState } from './listener.ts';
import { Backoff, describeError, isTransientDbError, sleep } from './retry.ts';

export interface RunnerOptions {
  db: Db;
  workerId: string;
  handlers: readonly Handler[];
  claimLimit: number;
  pollIntervalMs: number;
  leaseMs: number;
  log?: Logger;
  metrics?: Metrics;
  circuit?: Partial<CircuitOptions>;
  /** Longest a completion waits to be batched (default 2 ms). */
  completeDelayMs?: number;
  /** Largest completeMany batch (default 500). */
  completeBatchMax?: number;
  /** NOTIFYs arriving within this window cause one claim (default 5 ms). */
  notifyDebounceMs?: number;
  /** Self-NOTIFY check of the LISTEN session (default 30 s; 0 disables). */
  listenPingMs?: number;
  /** Queue limits, budgets and fairness weights from the configuration (issue 11). */
  policy?: QueuePolicy;
  /** Reported in GET /api/v1/workers. */
  version?: string;
}

/** Longest gap between heartbeats whatever the lease (see the constructor). */
const MAX_HEARTBEAT_MS = 30_000;

/** After the grace period, how long aborted jobs' releases and queued writes may still take. */
const WRITE_WINDOW_MS = 3_000;

/**
 * One claimed job in this worker's hands. To keep the per-job cost of a burn-down low
 * (hundreds of jobs per claim, no-op handlers) one object plays every per-job role: it
 * is the job's lease ref (id, workerId, leaseToken) for the fenced writes, its queued
 * completion (result, giveUpAt, settle) for the CompletionBatcher, and the JobContext
 * handed to the handler. The AbortController and the job's child logger are created
 * only when the handler reads `signal` or `log`; an abort before that is remembered and
 * the signal is born aborted.
 */
class Slot implements LeaseRef, CompletionItem, JobContext {
  readonly id: string;
  readonly leaseToken: string;
  result: Record<string, unknown> = NO_RESULT;
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
    private readonly onSettled: (slot: Slot, o: CompletionOutcome) => void,
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

  settle(o: CompletionOutcome): void {
    this.onSettled(this, o);
  }
}

const NO_RESULT: Record<string, unknown> = Object.freeze({});

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

export interface RunnerStatus {
  worker_id: string;
  started_at: string | null;
  draining: boolean;
  claim_limit: number;
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

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const isLeaseGone = (err: unknown) =>
  isAppError(err) && (err.code === 'lease_lost' || err.code === 'not_found');

export class Runner {
  readonly workerId: string;
  private readonly db: Db;
  private readonly handlers: readonly Handler[];
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly served: ReadonlySet<string>;
  private readonly circuits = new Map<string, Circuit>();
  private readonly completions: CompletionBatcher;
  private readonly listener: JobsListener;
  private readonly slots = new Map<string, Slot>();
  private readonly claimBackoff = new Backoff(200, 10_000);
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly heartbeatEveryMs: number;

  private running = 0;
  private startedAt: number | null = null;
  private draining = false;
  private drainDeadline = Number.POSITIVE_INFINITY;
  private drainResult: Promise<{ finished: number; released: number }> | undefined;
  private pumpScheduled = false;
  private claiming = false;
  private pumpAgain = false;
  private rotation = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private notifyTimer: NodeJS.Timeout | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  private readonly counters: RunnerCounters = {
    claimed: 0,
    completed: 0,
    failed: {},
    lease_lost: 0,
    released: 0,
    write_gave_up: 0,
  };
  private dbReachable: boolean | null = null;
  private dbDownSince: number | null = null;
  private dbLastOkAt: number | null = null;
  private dbLastError: ErrorNote | null = null;
  private lastError: ErrorNote | null = null;
  private lastClaimAt: number | null = null;
  private lastJobClaimedAt: number | null = null;

  constructor(private readonly opts: RunnerOptions) {
    if (opts.claimLimit < 1) throw new Error('claimLimit must be at least 1');
    this.workerId = opts.workerId;
    this.db = opts.db;
    this.handlers = opts.handlers;
    this.log = opts.log ?? silentLogger;
    this.metrics = opts.metrics ?? noopMetrics;
    this.served = new Set(opts.handlers.flatMap((h) => h.taskTypes));
    const circuit = { ...DEFAULT_CIRCUIT, ...opts.circuit };
    for (const h of opts.handlers) {
      const p = providerOf(h);
      if (!this.circuits.has(p)) this.circuits.set(p, new Circuit(p, circuit));
    }
    // Three beats per lease: a job survives two lost heartbeats (a blip) before it can expire.
    // Capped at 30 s because the heartbeat is also how a cancel or retry reaches a running
    // job: with the default 15 min lease, lease/3 alone would leave a cancelled LLM call
    // running for minutes. One UPDATE per job in flight per 30 s is negligible.
    this.heartbeatEveryMs = Math.max(50, Math.min(MAX_HEARTBEAT_MS, Math.floor(opts.leaseMs / 3)));
    this.completions = new CompletionBatcher(this.db, {
      maxBatch: opts.completeBatchMax ?? 500,
      delayMs: opts.completeDelayMs ?? 2,
      onDbError: (err) => this.dbError(err, 'complete'),
      onDbOk: () => this.dbOk(),
    });
    this.listener = new JobsListener(this.db, this.log, {
      pingIntervalMs: opts.listenPingMs ?? 30_000,
      pingTimeoutMs: 5_000,
      onPayload: (taskType) => this.onNotify(taskType),
      onListening: () => this.wake(),
    });
  }

  /** Starts claiming (LISTEN connects in the background). Never throws. */
  async start(): Promise<void> {
    if (this.startedAt !== null) return;
    this.startedAt = Date.now();
    // Ticks at half the cadence so each job is beaten between lease/3 and lease/2 after the last.
    this.beatTimer = setInterval(() => this.beatDue(), Math.max(25, this.heartbeatEveryMs / 2));
    this.listener.start();
    this.wake();
  }

  /**
   * The database reported a connection-level error outside a query (an idle pooled
   * connection or the LISTEN connection died): the LISTEN session must be checked.
   */
  connectionLost(err: unknown): void {
    this.lastError = this.dbLastError = {
      at: new Date().toISOString(),
      source: 'connection',
      message: describeError(err),
    };
    this.listener.suspect();
  }

  /** Claims as soon as possible (coalesced: all wake-ups within one event-loop turn make one claim). */
  wake(): void {
    if (this.pumpScheduled || this.draining || this.startedAt === null) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  // ---------------------------------------------------------------------------------
  // Claiming

  private async pump(): Promise<void> {
    if (this.claiming) {
      this.pumpAgain = true;
      return;
    }
    if (this.draining || this.backoffTimer) return;
    this.claiming = true;
    try {
      do {
        this.pumpAgain = false;
        await this.claimRound();
      } while (this.pumpAgain && !this.draining && !this.backoffTimer);
    } catch (err) {
      // claimRound catches database errors itself; anything here is a bug worth seeing.
      this.log.error({ err: describeError(err) }, 'claim loop error');
    } finally {
      this.claiming = false;
      this.schedulePoll();
    }
  }

  private schedulePoll(): void {
    clearTimeout(this.pollTimer);
    if (this.draining) return;
    this.pollTimer = setTimeout(() => this.wake(), this.opts.pollIntervalMs);
  }

  private async claimRound(): Promise<void> {
    const groups = planClaims(this.handlers, (h) => this.circuitOf(h).allowance());
    if (groups.length === 0) return;
    const first = this.rotation++ % groups.length;
    for (let i = 0; i < groups.length; i++) {
      const group = groups[(first + i) % groups.length]!;
      const free = this.opts.claimLimit - this.running;
      if (free <= 0 || this.draining) return;
      // A half-open probe may already have been taken by a handler sharing the circuit.
      const max = Math.min(group.max, ...group.handlers.map((h) => this.circuitOf(h).allowance()));
      const limit = Math.min(free, max);
      if (limit <= 0) continue;
      if (!(await this.claimGroup(group, limit))) return;
    }
  }

  /** One claim query; false when the database failed (the round stops and backs off). */
  private async claimGroup(group: ClaimGroup, limit: number): Promise<boolean> {
    const sentAt = Date.now();
    let jobs: JobRow[];
    try {
      jobs = await claimJobs(this.db, {
        workerId: this.workerId,
        limit,
        leaseMs: this.opts.leaseMs,
        taskTypes: group.taskTypes,
        modelProfiles: group.modelProfiles,
        policy: this.opts.policy,
        workerVersion: this.opts.version,
      });
    } catch (err) {
      this.claimFailed(err);
      return false;
    }
    this.dbOk();
    this.claimBackoff.reset();
    const now = Date.now();
    this.lastClaimAt = now;
    this.metrics.claimBatch(jobs.length);
    if (jobs.length > 0) this.lastJobClaimedAt = now;
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
      this.launch(job, handler, sentAt, now);
    }
    return true;
  }

  private claimFailed(err: unknown): void {
    this.dbError(err, 'claim');
    const delay = this.claimBackoff.next();
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      this.wake();
    }, delay);
  }

  private onNotify(taskType: string): void {
    if (!this.served.has(taskType) || this.draining || this.notifyTimer) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      this.wake();
    }, this.opts.notifyDebounceMs ?? 5);
  }

  // ---------------------------------------------------------------------------------
  // Running

  private launch(job: JobRow, handler: Handler | undefined, sentAt: number, claimedAt: number): void {
    if (!handler || this.draining) {
      // A claim racing with shutdown (or, impossibly, a job no handler takes): give it back untouched.
      const ref: LeaseRef = { id: job.id, workerId: this.workerId, leaseToken: job.lease_token! };
      void releaseJob(this.db, ref).then(
        () => {},
        (err) => this.log.warn({ job_id: job.id, err: describeError(err) }, 'could not release a job'),
      );
      return;
    }
    const circuit = this.circuitOf(handler);
    const slot = new Slot(
      job,
      handler,
      circuit,
      this.workerId,
      claimedAt,
      sentAt,
      this.opts.leaseMs,
      this.metrics,
      this.log,
      this.onSettled,
    );
    // Keyed by lease token: after a retry this worker may hold the same job again while
    // the stale run is still being aborted.
    this.slots.set(slot.leaseToken, slot);
    this.running++;
    this.counters.claimed++;
    circuit.onClaimed(1);
    void this.execute(slot);
  }

  private async execute(slot: Slot): Promise<void> {
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
    slot.finishingSince = Date.now();
    this.running--;
    if (!abandoned) {
      const category = failure ? reportedCategory(failure.error) : null;
      this.metrics.providerCall(provider, category ?? 'ok', (performance.now() - t0) / 1000);
      this.recordCircuit(slot.circuit, category);
    }
    if (this.running === 0) this.notifyIdle();
    this.wake();

    if (abandoned) {
      this.log.info(
        slot.fields({ reason: slot.lost ? 'lease_lost' : 'released' }),
        'job abandoned; nothing written',
      );
      this.forget(slot);
    } else if (result) {
      // Settled by the batcher through onSettled, synchronously from its flush: no promise per job.
      slot.result = result;
      slot.giveUpAt = this.giveUpAt(slot);
      this.completions.add(slot);
    } else if (failure) {
      await this.settleAsync(slot, () => this.writeFailure(slot, failure.error, failure.raw));
    }
  }

  /** The slot's outcome is written (or given up): it leaves the table; drain may be waiting for that. */
  private forget(slot: Slot): void {
    this.slots.delete(slot.leaseToken);
    if (this.slots.size === 0) this.notifySlotsGone();
  }

  /** Runs an outcome write that may take a while (a failure, a refused completion), then forgets the slot. */
  private async settleAsync(slot: Slot, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      this.log.error({ job_id: slot.job.id, err: describeError(err) }, 'writing a job outcome failed');
    } finally {
      this.forget(slot);
    }
  }

  /** Writes may be retried through an outage only while the lease is still ours (and shutdown allows). */
  private giveUpAt(slot: Slot): number {
    return Math.min(slot.leaseUntil, this.drainDeadline);
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

  /** The CompletionBatcher's answer for one slot (called synchronously from its flush; must not throw). */
  private readonly onSettled = (slot: Slot, outcome: CompletionOutcome): void => {
    if (outcome.kind !== 'accepted') {
      void this.settleAsync(slot, () => this.completionRefused(slot, outcome));
      return;
    }
    try {
      const ms = Date.now() - slot.claimedAt;
      this.counters.completed++;
      this.metrics.jobCompleted(this.labels(slot), ms);
      if (this.debugEnabled()) this.log.debug(slot.fields({ duration_ms: ms }), 'job completed');
    } catch (err) {
      this.log.error({ job_id: slot.job.id, err: describeError(err) }, 'writing a job outcome failed');
    } finally {
      this.forget(slot);
    }
  };

  /** Whether a per-job debug line is worth building (pino can say; other loggers are asked anyway). */
  private debugEnabled(): boolean {
    const log = this.log as Logger & { isLevelEnabled?: (level: string) => boolean };
    return typeof log.isLevelEnabled === 'function' ? log.isLevelEnabled('debug') : true;
  }

  private async completionRefused(
    slot: Slot,
    outcome: Exclude<CompletionOutcome, { kind: 'accepted' }>,
  ): Promise<void> {
    switch (outcome.kind) {
      case 'lost':
        this.counters.lease_lost++;
        this.log.warn(
          slot.fields({ status: outcome.status }),
          'completion refused: the lease was lost; result discarded',
        );
        return;
      case 'unstorable': {
        const error = new ProviderError({
          category: 'invalid_output',
          provider: providerOf(slot.handler),
          message: `the result could not be stored: ${outcome.message}`,
        });
        await this.writeFailure(slot, error, error);
        return;
      }
      case 'gave_up':
        this.counters.write_gave_up++;
        this.log.error(
          slot.fields({ err: outcome.message }),
          'completion not written before the lease ran out; the job will be reaped and re-run',
        );
    }
  }

  private async writeFailure(slot: Slot, error: ProviderError, raw: unknown): Promise<void> {
    const category = reportedCategory(error);
    let req: FailRequest = {
      category,
      message: error.message,
      ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
    };
    const extra = slot.handler.failureResult?.(raw);
    if (extra) req.result = extra;
    const backoff = new Backoff(100, 5_000);
    for (;;) {
      try {
        const row = await failJob(this.db, slot, req);
        this.dbOk();
        const final = row.status === 'failed';
        this.counters.failed[category] = (this.counters.failed[category] ?? 0) + 1;
        this.metrics.jobFailed(this.labels(slot), category, final);
        this.lastError = {
          at: new Date().toISOString(),
          source: `job ${slot.job.id}`,
          message: req.message!,
        };
        this.log.warn(
          slot.fields({
            category,
            final,
            ...(!final && { retry_at: new Date(row.run_after).toISOString() }),
            error: req.message,
          }),
          final ? 'job failed' : 'job attempt failed; it will be retried',
        );
        return;
      } catch (err) {
        if (isLeaseGone(err)) {
          this.counters.lease_lost++;
          this.log.warn(slot.fields({ category }), 'failure not recorded: the lease was lost');
          return;
        }
        if (!isTransientDbError(err) && req.result) {
          // PostgreSQL refused the extra result (unstorable text): record the failure without it.
          const { result: _dropped, ...rest } = req;
          req = rest;
          continue;
        }
        if (!isTransientDbError(err) || Date.now() >= this.giveUpAt(slot)) {
          this.counters.write_gave_up++;
          this.dbError(err, 'fail');
          this.log.error(
            slot.fields({ err: describeError(err) }),
            'failure not written; the lease will expire and the job re-run',
          );
          return;
        }
        this.dbError(err, 'fail');
        await sleep(backoff.next());
      }
    }
  }

  // ---------------------------------------------------------------------------------
  // Leases

  private beatDue(): void {
    const now = Date.now();
    for (const slot of this.slots.values()) {
      if (slot.beating || slot.lost || slot.released) continue;
      if (now - slot.lastBeatAt < this.heartbeatEveryMs) continue;
      // A finishing job is normally written within milliseconds; only one stuck behind an
      // outage needs its lease kept.
      if (slot.phase === 'finishing' && now - slot.finishingSince < this.heartbeatEveryMs) continue;
      void this.beat(slot);
    }
  }

  private async beat(slot: Slot): Promise<void> {
    slot.beating = true;
    const sentAt = Date.now();
    try {
      await heartbeat(this.db, slot, this.opts.leaseMs);
      slot.lastBeatAt = sentAt;
      slot.leaseUntil = sentAt + this.opts.leaseMs;
      this.dbOk();
    } catch (err) {
      if (isLeaseGone(err)) {
        // A finishing job's own write will learn the same thing; only a running one needs stopping.
        if (slot.phase === 'running') this.loseLease(slot, err);
      } else {
        this.dbError(err, 'heartbeat');
      }
    } finally {
      slot.beating = false;
    }
  }

  private loseLease(slot: Slot, err: unknown): void {
    if (slot.lost) return;
    slot.lost = true;
    this.counters.lease_lost++;
    const status = isAppError(err) ? (err.details as { status?: string } | undefined)?.status : undefined;
    this.log.warn(
      { job_id: slot.job.id, status: status ?? 'deleted' },
      'lease lost (job reaped, retried or cancelled elsewhere); aborting it, nothing will be written',
    );
    slot.abort(new Error(`lease lost (job is ${status ?? 'gone'})`));
  }

  // ---------------------------------------------------------------------------------
  // Circuits

  private circuitOf(h: Handler): Circuit {
    return this.circuits.get(providerOf(h))!;
  }

  private recordCircuit(circuit: Circuit, category: FailureCategory | null): void {
    const before = circuit.current;
    const opened = circuit.record(circuitOutcome(category));
    if (opened) {
      const wait = circuit.msUntilRetry();
      this.log.warn(
        { provider: circuit.provider, category, retry_in_ms: wait },
        'circuit opened: not claiming this provider’s jobs until the cool-down ends',
      );
      this.later(wait + 5, () => this.wake());
    } else if (before !== 'closed' && circuit.current === 'closed') {
      this.log.info({ provider: circuit.provider }, 'circuit closed: the provider answers again');
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  // ---------------------------------------------------------------------------------
  // Database reachability

  private dbOk(): void {
    this.dbLastOkAt = Date.now();
    const was = this.dbReachable;
    this.dbReachable = true;
    if (was !== false) return;
    const down = this.dbDownSince === null ? null : Date.now() - this.dbDownSince;
    this.dbDownSince = null;
    this.log.info({ down_ms: down }, 'database reachable again');
    this.listener.nudge();
  }

  /** Records a failed database call made on the worker's behalf outside the runner (migrations). */
  reportDbError(err: unknown, source: string): void {
    this.dbError(err, source);
  }

  private dbError(err: unknown, source: string): void {
    const note = { at: new Date().toISOString(), source, message: describeError(err) };
    this.lastError = this.dbLastError = note;
    if (!isTransientDbError(err)) {
      this.log.error({ source, err: note.message }, 'database statement failed');
      return;
    }
    if (this.dbReachable !== false) {
      this.dbReachable = false;
      this.dbDownSince = Date.now();
      this.log.error({ source, err: note.message }, 'database unreachable; backing off and retrying');
    } else {
      this.log.debug({ source, err: note.message }, 'database still unreachable');
    }
    this.listener.suspect();
  }

  // ---------------------------------------------------------------------------------
  // Shutdown

  /**
   * Stops claiming; jobs in flight get `graceMs` to finish, then are aborted and released
   * (back to pending, attempt refunded); queued writes are flushed. Safe to call twice.
   */
  drain(graceMs: number): Promise<{ finished: number; released: number }> {
    this.drainResult ??= this.doDrain(graceMs);
    return this.drainResult;
  }

  private async doDrain(graceMs: number): Promise<{ finished: number; released: number }> {
    this.draining = true;
    this.drainDeadline = Date.now() + graceMs + WRITE_WINDOW_MS;
    for (const t of [this.pollTimer, this.backoffTimer, this.notifyTimer, ...this.timers]) clearTimeout(t);
    this.timers.clear();
    await this.listener.stop();
    const atStart = this.running;
    if (atStart > 0) {
      this.log.info({ in_flight: atStart, grace_ms: graceMs }, 'draining: waiting for jobs in flight');
      await this.waitIdle(graceMs);
    }
    const stuck = [...this.slots.values()].filter((s) => s.phase === 'running' && !s.lost);
    for (const s of stuck) {
      s.released = true;
      s.abort(new Error('worker shutting down'));
    }
    const released = (
      await Promise.all(
        stuck.map((s) =>
          releaseJob(this.db, s).then(
            (row) => (row ? 1 : 0),
            (err) => {
              this.log.warn(
                { job_id: s.job.id, err: describeError(err) },
                'could not release a job; its lease will expire and it will be reaped',
              );
              return 0;
            },
          ),
        ),
      )
    ).reduce((a: number, b: number) => a + b, 0);
    this.counters.released += released;
    if (stuck.length > 0) this.log.warn({ released, aborted: stuck.length }, 'released unfinished jobs');
    // Let aborted handlers unwind and queued writes land, within the write window.
    const left = Math.max(0, this.drainDeadline - Date.now());
    await this.waitSlotsGone(left);
    await this.completions.drain(this.drainDeadline);
    clearInterval(this.beatTimer);
    return { finished: atStart - stuck.length, released };
  }

  private slotsGoneWaiters: (() => void)[] = [];

  private notifySlotsGone(): void {
    if (this.slotsGoneWaiters.length === 0) return;
    const waiters = this.slotsGoneWaiters;
    this.slotsGoneWaiters = [];
    for (const w of waiters) w();
  }

  /** Until every slot's outcome is settled (aborted handlers unwound, writes landed), at most `ms`. */
  private waitSlotsGone(ms: number): Promise<void> {
    if (this.slots.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.slotsGoneWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private waitIdle(ms: number): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  // ---------------------------------------------------------------------------------
  // Status

  get inFlight(): number {
    return this.running;
  }

  status(): RunnerStatus {
    const now = Date.now();
    return {
      worker_id: this.workerId,
      started_at: iso(this.startedAt),
      draining: this.draining,
      claim_limit: this.opts.claimLimit,
      poll_interval_ms: this.opts.pollIntervalMs,
      lease_ms: this.opts.leaseMs,
      heartbeat_interval_ms: this.heartbeatEveryMs,
      db: { reachable: this.dbReachable, last_ok_at: iso(this.dbLastOkAt), last_error: this.dbLastError },
      listen: this.listener.status,
      in_flight: [...this.slots.values()].map((s) => ({
        id: s.job.id,
        task_type: s.job.task_type,
        model_profile: s.job.model_profile,
        handler: s.handler.name,
        attempt: s.job.attempts,
        age_ms: now - s.claimedAt,
        phase: s.phase,
      })),
      counters: { ...this.counters, failed: { ...this.counters.failed } },
      last_claim_at: iso(this.lastClaimAt),
      last_job_claimed_at: iso(this.lastJobClaimedAt),
      last_error: this.lastError,
      circuits: Object.fromEntries([...this.circuits].map(([k, c]) => [k, c.snapshot()])),
    };
  }
}

/** `cancelled` is ours to decide (lease lost, shutdown); a handler raising it unasked is a bug. */
function reportedCategory(error: ProviderError): FailureCategory {
  return error.category === 'cancelled' ? 'internal' : error.category;
}
