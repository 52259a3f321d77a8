// The generic job runner: claims jobs for its handlers, runs them concurrently, keeps
// their leases alive and writes each outcome exactly once, fenced by the lease token.
// Split by role, as River splits its client:
//
//   producer.ts    when to claim and the claim itself (poll, NOTIFY, freed slots, backoff)
//   executor.ts    a slot per claimed job: runs the handler, routes its outcome
//   capacity.ts    the worker's total and per-handler-pool slot limits
//   outcomes.ts    the completer: one group commit for completions and failures
//   heartbeats.ts  lease renewal for every job in flight; a lost lease aborts the job
//   db-health.ts   database reachability, and the LISTEN session's check after an outage
//   drain.ts       graceful shutdown
//   status.ts      counters and the /worker/status shape
//
// This file wires them together and is the API workers/worker.ts, tests and benchmarks
// use. Nothing here knows about LLMs or audio: the benchmark runs it with a no-op handler.

import type { Db } from '../lib/db/port.ts';
import type { QueuePolicy } from '../lib/queues/policy.ts';
import { type Logger, type Metrics, noopMetrics, silentLogger } from '../lib/telemetry/port.ts';
import { Capacity } from './capacity.ts';
import { type CircuitOptions, Circuits, DEFAULT_CIRCUIT } from './circuit.ts';
import { systemClock, type WorkerClock } from './clock.ts';
import { DbHealth } from './db-health.ts';
import { drain } from './drain.ts';
import { Executor } from './executor.ts';
import type { Handler } from './handler.ts';
import { Heartbeats } from './heartbeats.ts';
import { JobsListener } from './listener.ts';
import { OutcomeBatcher } from './outcomes.ts';
import { Producer } from './producer.ts';
import { iso, RunnerStats, type RunnerStatus } from './status.ts';

export type { ErrorNote, InFlightJob, RunnerCounters, RunnerStatus } from './status.ts';

export interface RunnerOptions {
  db: Db;
  workerId: string;
  handlers: readonly Handler[];
  /** Jobs in flight in total (WORKER_CLAIM_LIMIT). */
  claimLimit: number;
  /** Jobs in flight per handler pool (Handler.pool), each within the total; pools not named have none. */
  poolLimits?: Readonly<Record<string, number>>;
  pollIntervalMs: number;
  leaseMs: number;
  log?: Logger;
  metrics?: Metrics;
  circuit?: Partial<CircuitOptions>;
  /** Longest an outcome waits to be batched (default 2 ms). */
  completeDelayMs?: number;
  /** Largest outcome batch (default 500). */
  completeBatchMax?: number;
  /** NOTIFYs arriving within this window cause one claim (default 5 ms). */
  notifyDebounceMs?: number;
  /** Self-NOTIFY check of the LISTEN session (default 30 s; 0 disables). */
  listenPingMs?: number;
  /** Queue limits, budgets and fairness weights from the configuration (issue 11). */
  policy?: QueuePolicy;
  /** Reported in GET /api/v1/workers. */
  version?: string;
  /** Time source for every timer of the runner (tests pass a manual clock). */
  clock?: WorkerClock;
}

export class Runner {
  readonly workerId: string;
  readonly heartbeatEveryMs: number;
  private readonly clock: WorkerClock;
  private readonly stats = new RunnerStats();
  private readonly capacity: Capacity;
  private readonly circuits: Circuits;
  private readonly health: DbHealth;
  private readonly listener: JobsListener;
  private readonly outcomes: OutcomeBatcher;
  private readonly executor: Executor;
  private readonly producer: Producer;
  private readonly heartbeats: Heartbeats;
  private startedAt: number | null = null;
  private drainResult: Promise<{ finished: number; released: number }> | undefined;

  constructor(private readonly opts: RunnerOptions) {
    const { db } = opts;
    const log = opts.log ?? silentLogger;
    const metrics = opts.metrics ?? noopMetrics;
    const clock = opts.clock ?? systemClock;
    this.clock = clock;
    const stats = this.stats;
    this.workerId = opts.workerId;
    this.capacity = new Capacity(opts.claimLimit, opts.poolLimits);
    // The listener and producer are created below; these closures only run once started.
    this.health = new DbHealth(clock, log, stats, {
      suspect: () => this.listener.suspect(),
      nudge: () => this.listener.nudge(),
    });
    const wake = () => this.producer.wake();
    this.circuits = new Circuits(
      opts.handlers,
      { ...DEFAULT_CIRCUIT, ...opts.circuit },
      () => clock.now(),
      log,
      (ms) => this.producer.wakeIn(ms),
    );
    this.outcomes = new OutcomeBatcher(db, {
      maxBatch: opts.completeBatchMax ?? 500,
      delayMs: opts.completeDelayMs ?? 2,
      clock,
      onDbError: (err) => this.health.error(err, 'outcome'),
      onDbOk: () => this.health.ok(),
    });
    const executor = new Executor({
      db,
      workerId: opts.workerId,
      leaseMs: opts.leaseMs,
      clock,
      log,
      metrics,
      stats,
      capacity: this.capacity,
      circuits: this.circuits,
      outcomes: this.outcomes,
      wake,
    });
    this.executor = executor;
    this.producer = new Producer({
      db,
      workerId: opts.workerId,
      handlers: opts.handlers,
      leaseMs: opts.leaseMs,
      pollIntervalMs: opts.pollIntervalMs,
      notifyDebounceMs: opts.notifyDebounceMs ?? 5,
      policy: opts.policy,
      version: opts.version,
      clock,
      log,
      metrics,
      stats,
      health: this.health,
      capacity: this.capacity,
      circuits: this.circuits,
      launch: (job, handler, sentAt, claimedAt) => executor.launch(job, handler, sentAt, claimedAt),
    });
    this.heartbeats = new Heartbeats(db, opts.leaseMs, clock, log, stats, this.health, () =>
      executor.slots.values(),
    );
    this.heartbeatEveryMs = this.heartbeats.everyMs;
    this.listener = new JobsListener(db, log, {
      pingIntervalMs: opts.listenPingMs ?? 30_000,
      pingTimeoutMs: 5_000,
      onPayload: this.producer.onNotify,
      onListening: wake,
    });
  }

  /** Starts claiming (LISTEN connects in the background). Never throws. */
  async start(): Promise<void> {
    if (this.startedAt !== null) return;
    this.startedAt = this.clock.now();
    this.heartbeats.start();
    this.listener.start();
    this.producer.start();
  }

  /** Claims as soon as possible. */
  wake(): void {
    this.producer.wake();
  }

  /**
   * The database reported a connection-level error outside a query (an idle pooled
   * connection or the LISTEN connection died): the LISTEN session must be checked.
   */
  connectionLost(err: unknown): void {
    this.health.connectionLost(err);
  }

  /** Records a failed database call made on the worker's behalf outside the runner (migrations). */
  reportDbError(err: unknown, source: string): void {
    this.health.error(err, source);
  }

  /**
   * Stops claiming; jobs in flight get `graceMs` to finish, then are aborted and released
   * (back to pending, attempt refunded); queued writes are flushed. Safe to call twice.
   */
  drain(graceMs: number): Promise<{ finished: number; released: number }> {
    this.drainResult ??= drain(
      {
        db: this.opts.db,
        clock: this.clock,
        log: this.opts.log ?? silentLogger,
        stats: this.stats,
        producer: this.producer,
        listener: this.listener,
        executor: this.executor,
        outcomes: this.outcomes,
        heartbeats: this.heartbeats,
      },
      graceMs,
    );
    return this.drainResult;
  }

  /** Jobs whose handler is still running. */
  get inFlight(): number {
    return this.executor.running;
  }

  status(): RunnerStatus {
    return {
      worker_id: this.workerId,
      started_at: iso(this.startedAt),
      draining: this.executor.draining,
      claim_limit: this.opts.claimLimit,
      slots: this.capacity.status(),
      poll_interval_ms: this.opts.pollIntervalMs,
      lease_ms: this.opts.leaseMs,
      heartbeat_interval_ms: this.heartbeatEveryMs,
      db: this.health.status(),
      listen: this.listener.status,
      in_flight: this.executor.inFlight(this.clock.now()),
      ...this.stats.snapshot(),
      circuits: this.circuits.snapshot(),
    };
  }
}
