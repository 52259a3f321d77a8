// The HTTP side of settling many leases (issue 14), shared by POST /api/v1/jobs/complete,
// /fail, /heartbeat and the claim's `complete`/`fail` arrays: items are checked one by
// one (an invalid item is that item's validation_error, the others still settle), a job
// id given twice in one request is refused at its later index (two outcomes for one row
// in one statement would be decided by the planner, not the caller), and repository
// outcomes become the wire's per-item results, in order. Metrics count what was written
// now, never a replay.
import type * as z from 'zod/mini';
import type { FailRequest } from '../jobs/lease.ts';
import type {
  CompleteItem,
  FailItem,
  HeartbeatItem,
  OutcomeRow,
  Settled,
  Shape,
} from '../jobs/lease-many.ts';
import type { JobJson, JobRow } from '../jobs/row.ts';
import type { completeItemSchema, failItemSchema, heartbeatItemSchema } from '../jobs/schemas.ts';
import { type JobUsage, usageOfResult } from '../jobs/usage.ts';
import type { Metrics } from '../telemetry/port.ts';
import { jobJson, labels } from './job-response.ts';
import { issuesOf } from './validate.ts';

/** One item's answer (SettleItemResult in lib/http/responses.ts). */
export type SettleItemResult =
  | { index: number; id: string; outcome: 'ok'; job?: JobJson }
  | {
      index: number;
      id: string | null;
      outcome: 'lease_lost' | 'not_found' | 'validation_error';
      error: { code: 'lease_lost' | 'not_found' | 'validation_error'; message: string; details: unknown };
    };

export interface Checked<T> {
  /** Valid items with their index in the request. */
  valid: { index: number; item: T }[];
  /** Results decided before the database is asked (validation errors), by index. */
  early: Map<number, SettleItemResult>;
}

/**
 * Checks each raw item against `schema`; `seen` collects ids across every array of one
 * request (the claim settles two), so a repeated id is refused wherever it reappears.
 * `fast` (lib/http/item-fast-path.ts) may accept a well-formed item first; what it does
 * not accept goes through `schema`, which alone words the refusals.
 */
export function checkItems<S extends z.ZodMiniType<{ id: string }>>(
  schema: S,
  raw: readonly unknown[],
  seen: Set<string>,
  fast?: (value: unknown) => z.infer<S> | undefined,
): Checked<z.infer<S>> {
  const valid: { index: number; item: z.infer<S> }[] = [];
  const early = new Map<number, SettleItemResult>();
  raw.forEach((value, index) => {
    let item = fast?.(value);
    if (item === undefined) {
      const r = schema.safeParse(value);
      if (!r.success) {
        const rawId = (value as { id?: unknown } | null)?.id;
        const id = typeof rawId === 'string' ? rawId : null;
        early.set(index, invalid(index, id, 'invalid item', { issues: issuesOf(r.error) }));
        return;
      }
      item = r.data as z.infer<S>;
    }
    const id = item.id;
    const key = id.toLowerCase();
    if (seen.has(key)) {
      early.set(
        index,
        invalid(index, id, 'job id given more than once in this request', {
          issues: [{ path: 'id', message: 'given more than once in this request' }],
        }),
      );
      return;
    }
    seen.add(key);
    valid.push({ index, item });
  });
  return { valid, early };
}

const invalid = (index: number, id: string | null, message: string, details: unknown): SettleItemResult => ({
  index,
  id,
  outcome: 'validation_error',
  error: { code: 'validation_error', message, details },
});

/**
 * Every item's result in request order: the early ones, and `settled` for the valid ones.
 * An ok item carries its job unless `shape` is 'minimal' (then `settled` holds OutcomeRows:
 * lib/jobs/lease-many.ts answers whole rows exactly when asked for shape 'full').
 */
export function results<T extends { id: string }>(
  checked: Checked<T>,
  settled: readonly Settled<OutcomeRow>[],
  count: number,
  shape: Shape = 'full',
): SettleItemResult[] {
  const out: SettleItemResult[] = [];
  const byIndex = new Map(checked.valid.map((v, k) => [v.index, { item: v.item, s: settled[k]! }]));
  for (let index = 0; index < count; index++) {
    const early = checked.early.get(index);
    if (early) {
      out.push(early);
      continue;
    }
    const { item, s } = byIndex.get(index)!;
    if (s.outcome === 'ok') {
      out.push(
        shape === 'minimal'
          ? { index, id: s.row.id, outcome: 'ok' }
          : { index, id: s.row.id, outcome: 'ok', job: jobJson(s.row as JobRow) },
      );
    } else {
      out.push({
        index,
        id: item.id,
        outcome: s.outcome,
        error: { code: s.outcome, message: s.error.message, details: s.error.details ?? null },
      });
    }
  }
  return out;
}

/** Counts completions written now (not replays), as POST /jobs/{id}/complete does. */
export function countCompleted(metrics: Metrics, settled: readonly Settled<OutcomeRow>[]): void {
  const usage = new UsageSums();
  for (const s of settled) {
    if (s.outcome !== 'ok' || s.replay) continue;
    metrics.jobCompleted(labels(s.row), s.row.duration_ms);
    usage.add(s.row);
  }
  usage.count(metrics);
}

/**
 * Usage of many finished jobs, summed per calling service × profile and counted once per
 * group: the counters only add, and Prometheus hashes the labels per call (four counters
 * per job, 1,000 jobs per request at most).
 */
class UsageSums {
  private groups = new Map<string, { l: OutcomeRow; u: JobUsage }>();
  add(row: OutcomeRow): void {
    const u = usageOfResult(row.result, row.duration_ms);
    const key = `${row.owner_service}\u0000${row.model_profile}`;
    const g = this.groups.get(key);
    if (!g) {
      this.groups.set(key, { l: row, u });
      return;
    }
    g.u.prompt_tokens += u.prompt_tokens;
    g.u.completion_tokens += u.completion_tokens;
    g.u.audio_seconds += u.audio_seconds;
    g.u.busy_seconds += u.busy_seconds;
  }
  count(metrics: Metrics): void {
    for (const { l, u } of this.groups.values()) metrics.jobUsage(l, u);
  }
}

/** Counts failures written now (not replays), as POST /jobs/{id}/fail does. */
export function countFailed(
  metrics: Metrics,
  items: readonly { failure: FailRequest }[],
  settled: readonly Settled<OutcomeRow>[],
): void {
  const usage = new UsageSums();
  settled.forEach((s, k) => {
    if (s.outcome !== 'ok' || s.replay) return;
    metrics.jobFailed(labels(s.row), items[k]!.failure.category, s.row.status === 'failed');
    if (s.row.status === 'failed') usage.add(s.row);
  });
  usage.count(metrics);
}

type Lease = { id: string; worker_id: string; lease_token: string };
const ref = (i: Lease) => ({ id: i.id, workerId: i.worker_id, leaseToken: i.lease_token });

/** Wire items (lib/jobs/schemas.ts) → repository items (lib/jobs/lease-many.ts). */
export const toCompleteItem = (i: z.infer<typeof completeItemSchema>): CompleteItem => ({
  ...ref(i),
  result: i.result,
});
export const toFailItem = (i: z.infer<typeof failItemSchema>): FailItem => ({
  ...ref(i),
  failure: { category: i.category, message: i.message, retryAfterMs: i.retry_after, result: i.result },
});
export const toHeartbeatItem = (i: z.infer<typeof heartbeatItemSchema>): HeartbeatItem => ({
  ...ref(i),
  leaseMs: i.lease_timeout,
});
