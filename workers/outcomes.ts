// The completer: every job outcome this worker writes, completions and failures alike,
// goes through one group commit (as River's jobcompleter and graphile-worker's batched
// completeJobs/failJobs do). Outcomes are queued; the first waits at most `delayMs`, and
// while a batch is being written the next one accumulates, so the batch size follows the
// load (one row when idle, hundreds under a benchmark) with no tuning. A batch is at most
// two statements: completeMany for its results, failMany for its failures. Each row stays
// fenced by its lease token, so batching never lets a stale worker overwrite newer state.
//
// Rows a batch did not accept are retried one by one (completeJob / failJob), which tells a
// lost lease from an idempotent replay of our own earlier write (a commit whose answer an
// outage swallowed). A batch refused for its data (a result PostgreSQL cannot store) is
// split the same way, so one bad row cannot block the others. While the database is
// unreachable the batch is retried with backoff until each row's giveUpAt.
import type { Queryable } from '../lib/db/port.ts';
import { type AppError, isAppError } from '../lib/errors.ts';
import { type FailedRow, failMany } from '../lib/jobs/fail-many.ts';
import { completeJob, completeMany, type FailRequest, failJob, type LeaseRef } from '../lib/jobs/lease.ts';
import { systemClock, type TimerId, type WorkerClock } from './clock.ts';
import { Backoff, describeError, isTransientDbError } from './retry.ts';

export type Outcome =
  | { kind: 'completed' }
  | { kind: 'failed'; row: FailedRow }
  /** The lease is gone (reaped, retried, cancelled): nothing was written. */
  | { kind: 'lost'; status?: string }
  /** PostgreSQL refused this row itself (e.g. a NUL in a result): nothing was written. */
  | { kind: 'unstorable'; message: string }
  /** The database stayed unreachable until the deadline; the lease will expire and the job re-run. */
  | { kind: 'gave_up'; message: string };

/**
 * One queued outcome: a completion when `result` is set, otherwise the failure. The runner
 * queues its job slots themselves, so an outcome costs no allocation here.
 */
export interface OutcomeItem extends LeaseRef {
  readonly result: Record<string, unknown> | undefined;
  /** May be rewritten here: a failure result PostgreSQL refuses is dropped, the failure kept. */
  failure: FailRequest | undefined;
  /** Retries through an outage stop here (the lease is no longer ours). */
  readonly giveUpAt: number;
  /** Called exactly once, synchronously from the flush, with the outcome. Must not throw. */
  settle(o: Outcome): void;
}

type Item = OutcomeItem;
type Completion = Item & { readonly result: Record<string, unknown> };
type Failure = Item & { failure: FailRequest };

/** Shared: most outcomes are this one. */
const COMPLETED: Outcome = Object.freeze({ kind: 'completed' });

export interface OutcomeBatcherOptions {
  maxBatch?: number;
  delayMs?: number;
  clock?: WorkerClock;
  /** Called when the database could not be reached (the runner tracks reachability). */
  onDbError?(err: unknown): void;
  onDbOk?(): void;
}

export class OutcomeBatcher {
  private queue: Item[] = [];
  private timer: TimerId | undefined;
  /** Resolves when the pending timer fires (drain waits for an outage backoff to end). */
  private timerFired: Promise<void> | undefined;
  private backingOff = false;
  private flushing: Promise<void> | undefined;
  private readonly backoff = new Backoff(100, 5_000);
  private hardDeadline = Number.POSITIVE_INFINITY;
  private readonly maxBatch: number;
  private readonly delayMs: number;
  private readonly clock: WorkerClock;

  constructor(
    private readonly db: Queryable,
    private readonly opts: OutcomeBatcherOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 500;
    this.delayMs = opts.delayMs ?? 2;
    this.clock = opts.clock ?? systemClock;
  }

  /** Queues one outcome; `item.settle` is called once it is written (or known lost / unwritable). */
  add(item: Item): void {
    this.queue.push(item);
    this.schedule(this.queue.length >= this.maxBatch ? 0 : this.delayMs);
  }

  /** Writes everything queued now; resolves when the queue is empty. Retries stop at `deadline`. */
  async drain(deadline: number): Promise<void> {
    this.hardDeadline = deadline;
    for (;;) {
      if (this.flushing) {
        await this.flushing;
        continue;
      }
      if (this.queue.length === 0) return;
      if (this.clock.now() >= deadline) {
        this.clearTimer();
        for (const item of this.queue.splice(0))
          item.settle({ kind: 'gave_up', message: 'database unreachable until shutdown' });
        return;
      }
      if (this.timer && this.backingOff) {
        // An outage backoff: wait for it (the retry it starts is awaited next turn).
        await this.timerFired;
        continue;
      }
      this.clearTimer(); // the few-ms gathering delay: no reason to wait at shutdown
      this.startFlush();
    }
  }

  private schedule(delay: number): void {
    // While a batch is in flight the queue simply grows; the flush loop takes it next.
    if (this.flushing) return;
    if (delay === 0 && this.timer && !this.backingOff) this.clearTimer();
    if (this.timer) return;
    if (delay === 0) this.startFlush();
    else this.arm(delay, false);
  }

  private arm(delay: number, backingOff: boolean): void {
    this.backingOff = backingOff;
    this.timerFired = new Promise((fired) => {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.backingOff = false;
        if (!this.flushing) this.startFlush();
        fired();
      }, delay);
    });
  }

  private clearTimer(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.backingOff = false;
  }

  private startFlush(): void {
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      // An outcome queued after the loop's last look at the queue (add() saw `flushing` and
      // left it to the loop) must not wait for the next one.
      if (this.queue.length > 0 && !this.timer) this.schedule(this.delayMs);
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const retry = await this.write(batch);
      if (retry.length > 0) {
        // The database is unreachable: put these back in front and come back after a pause.
        this.queue.unshift(...retry);
        this.arm(this.backoff.next(), true);
        return;
      }
    }
  }

  /** Writes one batch; returns the items to retry later (database unreachable). */
  private async write(batch: Item[]): Promise<Item[]> {
    const completions: Completion[] = [];
    const failures: Failure[] = [];
    for (const item of batch) {
      if (item.result) completions.push(item as Completion);
      else failures.push(item as Failure);
    }
    if (failures.length === 0) return this.writeCompletions(completions);
    if (completions.length === 0) return this.writeFailures(failures);
    const [a, b] = await Promise.all([this.writeCompletions(completions), this.writeFailures(failures)]);
    return a.length === 0 ? b : b.length === 0 ? a : [...a, ...b];
  }

  private async writeCompletions(batch: Completion[]): Promise<Item[]> {
    let accepted: Set<string>;
    try {
      accepted = await completeMany(this.db, batch);
    } catch (err) {
      if (isTransientDbError(err)) return this.deferOrGiveUp(batch, err);
      this.opts.onDbOk?.();
      // The statement itself was refused: find the row(s) at fault one by one.
      return this.completeEach(batch);
    }
    this.ok();
    const rest: Completion[] = [];
    for (const item of batch) {
      if (accepted.has(item.id)) item.settle(COMPLETED);
      else rest.push(item);
    }
    // Not accepted: usually a lost lease; after an outage possibly our own earlier commit.
    return rest.length > 0 ? this.completeEach(rest) : [];
  }

  private async writeFailures(batch: Failure[]): Promise<Item[]> {
    let accepted: Map<string, FailedRow>;
    try {
      accepted = await failMany(this.db, batch);
    } catch (err) {
      if (isTransientDbError(err)) return this.deferOrGiveUp(batch, err);
      this.opts.onDbOk?.();
      return this.failEach(batch);
    }
    this.ok();
    const rest: Failure[] = [];
    for (const item of batch) {
      const row = accepted.get(item.id);
      if (row) item.settle({ kind: 'failed', row });
      else rest.push(item);
    }
    return rest.length > 0 ? this.failEach(rest) : [];
  }

  private async completeEach(items: Completion[]): Promise<Item[]> {
    const retry: Item[] = [];
    for (const item of items) {
      try {
        await completeJob(this.db, item, item.result);
        item.settle(COMPLETED);
      } catch (err) {
        this.refused(item, err, retry);
      }
    }
    return retry;
  }

  private async failEach(items: Failure[]): Promise<Item[]> {
    const retry: Item[] = [];
    for (const item of items) {
      for (;;) {
        try {
          const row = await failJob(this.db, item, item.failure);
          item.settle({
            kind: 'failed',
            row: { id: row.id, status: row.status as FailedRow['status'], run_after: row.run_after },
          });
        } catch (err) {
          if (item.failure.result && !isTransientDbError(err) && !isLeaseGone(err)) {
            // PostgreSQL refused the failure's extra result (unstorable text): record the failure without it.
            const { result: _dropped, ...rest } = item.failure;
            item.failure = rest;
            continue;
          }
          this.refused(item, err, retry);
        }
        break;
      }
    }
    return retry;
  }

  /** A single-row write failed: the lease is gone, the database is down, or the row is unstorable. */
  private refused(item: Item, err: unknown, retry: Item[]): void {
    if (isLeaseGone(err)) {
      const status = (err.details as { status?: string } | undefined)?.status;
      item.settle({ kind: 'lost', ...(status && { status }) });
    } else if (isTransientDbError(err)) {
      retry.push(...this.deferOrGiveUp([item], err));
    } else {
      item.settle({ kind: 'unstorable', message: describeError(err) });
    }
  }

  private ok(): void {
    this.opts.onDbOk?.();
    this.backoff.reset();
  }

  private deferOrGiveUp(items: Item[], err: unknown): Item[] {
    this.opts.onDbError?.(err);
    const now = this.clock.now();
    const keep: Item[] = [];
    for (const item of items) {
      if (now < Math.min(item.giveUpAt, this.hardDeadline)) keep.push(item);
      else item.settle({ kind: 'gave_up', message: describeError(err) });
    }
    return keep;
  }
}

const isLeaseGone = (err: unknown): err is AppError =>
  isAppError(err) && (err.code === 'lease_lost' || err.code === 'not_found');
