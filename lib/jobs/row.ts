// A job as stored (JobRow) and as sent over the wire (JobJson: timestamps as ISO-8601).
// The lease token leaves the service only in claim responses: it is the lease holder's
// fencing token, not something every reader needs.
import type { FailureCategory } from './categories.ts';
import type { JobStatus } from './transitions.ts';

export interface JobRow {
  id: string;
  owner_service: string;
  owner_ref: string;
  task_type: string;
  model_profile: string;
  input: Record<string, unknown>;
  result: Record<string, unknown> | null;
  status: JobStatus;
  priority: number;
  run_after: Date;
  attempts: number;
  max_attempts: number;
  worker_id: string | null;
  lease_token: string | null;
  lease_expires_at: Date | null;
  error_category: FailureCategory | null;
  error_message: string | null;
  idempotency_key: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  /** Lease length chosen at claim; heartbeats extend by it (migration 005). */
  lease_ms?: number | null;
  /** Tokens reserved at claim for a budgeted profile, and the usage reported on completion. */
  token_cost?: number | null;
  tokens_used?: number | null;
  webhook_url: string | null;
  webhook_events: string[] | null;
}

type Iso<T> = {
  [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K];
};
export type JobJson = Omit<Iso<JobRow>, 'lease_token'> & { lease_token?: string };

// Formatting a Date costs microseconds, and the timestamps of one answer mostly repeat: a
// statement's now() is the same for every row it writes (a claim's started_at and
// updated_at, a batch's created_at). Recently formatted instants are remembered; the
// cache is dropped whole when it grows, so it stays small and never holds much.
const formatted = new Map<number, string>();
const iso = (d: Date | string | null): string | null => {
  if (d === null) return null;
  if (typeof d === 'string') return new Date(d).toISOString();
  const ms = d.getTime();
  let s = formatted.get(ms);
  if (s === undefined) {
    s = d.toISOString(); // throws on an invalid Date, as before (NaN is never cached)
    if (formatted.size >= 512) formatted.clear();
    formatted.set(ms, s);
  }
  return s;
};

const TIMESTAMPS: ReadonlySet<string> = new Set([
  'run_after',
  'lease_expires_at',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
]);

/**
 * The row's fields in its own order, timestamps as ISO-8601, the lease token (last) only
 * when asked for. One pass into one new object: a claim answers up to 1,000 rows, and
 * copying each twice (rest, then spread) cost three times the formatting itself.
 */
export function toJobJson(row: JobRow, opts: { withLease?: boolean } = {}): JobJson {
  const out: Record<string, unknown> = {};
  const fields = row as unknown as Record<string, unknown>;
  for (const k in fields) {
    if (k === 'lease_token') continue;
    const v = fields[k];
    out[k] = TIMESTAMPS.has(k) ? iso(v as Date | string | null) : v;
  }
  if (opts.withLease && row.lease_token) out.lease_token = row.lease_token;
  return out as JobJson;
}
