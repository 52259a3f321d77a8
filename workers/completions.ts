// Group commit for job completions. Results are queued and written with one fenced
// `completeMany` per batch: the first completion waits at most `delayMs`, and while a
// batch is being written the next one accumulates, so the batch size follows the load
// (one row when idle, hundreds under a benchmark) with no tuning. Each row stays fenced
// by its lease token, so batching never lets a stale worker overwrite newer state.
//
// Rows the batch did not accept are retried one by one with completeJob, which tells a
// lost lease (lease_lost) from an idempotent replay of our own earlier write (a commit
// whose answer the outage swallowed). A batch refused for its data (a result PostgreSQL
// cannot store) is split the same way so one bad row cannot block the others.
import type { Queryable } from '../lib/db/port.ts';
import { isAppError } from '../lib/errors.ts';
import { completeJob, completeMany, type LeaseRef } from '../lib/jobs/lease.ts';
import { Backoff, describeError, isTransientDbError, sleep } from './retry.ts';

export type CompletionOutcome =
  | { kind: 'accepted' }
  /** The lease is gone (reaped, retried, cancelled): nothing was written. */
  | { kind: 'lost'; status?: string }
  /** PostgreSQL refused this result itself (e.g. a NUL in text): report it as a failure instead. */
  | { kind: 'unstorable'; message: string }
  /** The database stayed unreachable until the deadline; the lease will expire and the job re-run. */
  | { kind: 'gave_up'; message: string };

/**
 * One queued completion. The runner queues its job slots themselves (a slot is its own
 * lease ref and carries the result), so a completion costs no allocation here; the items
 * go to completeMany as they are (it reads id, workerId, leaseToken and result).
 */
export interface CompletionItem extends LeaseRef {
  readonly result: Record<string, unknown>;
  /** Retries through an outage stop here (the lease is no longer ours). */
  readonly giveUpAt: number;
  /** Called exactly once, synchronously from the flush, with the outcome. Must not throw. */
  settle(o: CompletionOutcome): void;
}

type Item = CompletionItem;

/** Shared: most outcomes are this one. */
const ACCEPTED: CompletionOutcome = Object.freeze({ kind: 'accepted' });

export interface CompletionBatcherOptions {
  maxBatch?: number;
  delayMs?: number;
  /** Called when the database could not be reached (the runner tracks reachability). */
  onDbError?(err: unknown): void;
  onDbOk?(): void;
}

export class CompletionBatcher {
  private queue: Item[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly backoff = new Backoff(100, 5_000);
  private hardDeadline = Number.POSITIVE_INFINITY;
  private readonly maxBatch: number;
  private readonly delayMs: number;

  constructor(
    private readonly db: Queryable,
    private readonly opts: CompletionBatcherOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 500;
    this.delayMs = opts.delayMs ?? 2;
  }

  /** Queues one completion; resolves once it is written (or known lost / unwritable). */
  complete(ref: LeaseRef, result: Record<string, unknown>, giveUpAt: number): Promise<CompletionOutcome> {
    return new Promise((settle) => {
      this.add({ id: ref.id, workerId: ref.workerId, leaseToken: ref.leaseToken, result, giveUpAt, settle });
    });
  }

  /** Queues one completion; `item.settle` is called once it is written (or known lost / unwritable). */
  add(item: CompletionItem): void {
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
      if (Date.now() >= deadline) {
        clearTimeout(this.timer);
        this.timer = undefined;
        for (const item of this.queue.splice(0))
          item.settle({ kind: 'gave_up', message: 'database unreachable until shutdown' });
        return;
      }
      // A pending timer is either the few-ms gathering delay or an outage backoff: let it fire.
      if (this.timer) await sleep(20);
      else this.startFlush();
    }
  }

  private schedule(delay: number): void {
    // While a batch is in flight the queue simply grows; the flush loop takes it next.
    if (this.flushing) return;
    if (delay === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.timer) return;
    if (delay === 0) {
      this.startFlush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.startFlush();
    }, delay);
  }

  private startFlush(): void {
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const retry = await this.write(batch);
      if (retry.length > 0) {
        // The database is unreachable: put these back in front and come back after a pause.
        this.queue.unshift(...retry);
        const delay = this.backoff.next();
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (!this.flushing) this.startFlush();
        }, delay);
        return;
      }
    }
  }

  /** Writes one batch; returns the items to retry later (database unreachable). */
  private async write(batch: Item[]): Promise<Item[]> {
    let accepted: Set<string>;
    try {
      accepted = await completeMany(this.db, batch);
    } catch (err) {
      if (isTransientDbError(err)) return this.deferOrGiveUp(batch, err);
      this.opts.onDbOk?.();
      // The statement itself was refused: find the row(s) at fault one by one.
      return this.writeEach(batch);
    }
    this.opts.onDbOk?.();
    this.backoff.reset();
    const rest: Item[] = [];
    for (const item of batch) {
      if (accepted.has(item.id)) item.settle(ACCEPTED);
      else rest.push(item);
    }
    // Not accepted: usually a lost lease; after an outage possibly our own earlier commit.
    return rest.length > 0 ? this.writeEach(rest) : [];
  }

  private async writeEach(items: Item[]): Promise<Item[]> {
    const retry: Item[] = [];
    for (const item of items) {
      try {
        await completeJob(this.db, item, item.result);
        item.settle(ACCEPTED);
      } catch (err) {
        if (isAppError(err) && (err.code === 'lease_lost' || err.code === 'not_found')) {
          const status = (err.details as { status?: string } | undefined)?.status;
          item.settle({ kind: 'lost', ...(status && { status }) });
        } else if (isTransientDbError(err)) {
          retry.push(...this.deferOrGiveUp([item], err));
        } else {
          item.settle({ kind: 'unstorable', message: describeError(err) });
        }
      }
    }
    return retry;
  }

  private deferOrGiveUp(items: Item[], err: unknown): Item[] {
    this.opts.onDbError?.(err);
    const now = Date.now();
    const keep: Item[] = [];
    for (const item of items) {
      if (now < Math.min(item.giveUpAt, this.hardDeadline)) keep.push(item);
      else item.settle({ kind: 'gave_up', message: describeError(err) });
    }
    return keep;
  }
}
