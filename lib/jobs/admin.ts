// The caller's corrective actions: retry (one, or by filter) and cancel (by filter).
// By-filter actions refuse an empty filter, lock their targets in id order (so two of
// them cannot deadlock) and touch at most `limit` rows per call; `dry_run` only counts.
// Retry takes failed/running jobs (the specification's retry); `include_cancelled` adds
// cancelled ones, so a job cancelled by mistake — and its idempotency key — can run again.
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { buildWhere, isEmptyFilter } from './filter.ts';
import type { JobRow } from './row.ts';
import type { ByFilter, JobFilter, RetryByFilter } from './schemas.ts';
import { type JobStatus, TRANSITIONS } from './transitions.ts';

export interface RetryOptions {
  /** Also move cancelled jobs back to pending. */
  includeCancelled?: boolean;
}

const retryFrom = (opts: RetryOptions): readonly JobStatus[] =>
  opts.includeCancelled ? TRANSITIONS.retryIncludingCancelled.from : TRANSITIONS.retry.from;

const RETRY_ONE = `
UPDATE ai_jobs SET status = 'pending', lease_token = NULL, lease_expires_at = NULL, attempts = 0,
       run_after = now(), result = NULL, error_category = NULL, error_message = NULL, worker_id = NULL,
       started_at = NULL, finished_at = NULL, duration_ms = NULL, updated_at = now()
WHERE id = $1 AND status = ANY($2::text[])
RETURNING *`;

export async function retryJob(db: Queryable, id: string, opts: RetryOptions = {}): Promise<JobRow> {
  const from = retryFrom(opts);
  const r = await db.query<JobRow>(RETRY_ONE, [id, from]);
  return r.rows[0] ?? refuseRetry(db, id, from, opts);
}

/** Says why a retry matched nothing: no such job, or a state retry does not start from. */
async function refuseRetry(
  db: Queryable,
  id: string,
  from: readonly JobStatus[],
  opts: RetryOptions,
): Promise<never> {
  const cur = await db.query<{ status: JobStatus }>('SELECT status FROM ai_jobs WHERE id = $1', [id]);
  const status = cur.rows[0]?.status;
  if (!status) throw new AppError('not_found', `job ${id} not found`);
  const hint = status === 'cancelled' && !opts.includeCancelled ? ' (send include_cancelled: true)' : '';
  throw new AppError('invalid_state', `a ${status} job cannot be retried${hint}`, {
    status,
    allowed_from: from,
  });
}

export interface ByFilterResult {
  count: number;
  ids: string[];
  dry_run: boolean;
  /** More rows matched than `limit`: call again to continue. */
  has_more: boolean;
}

/** The filter without the by-filter options, refused when empty (it would match every job). */
function targetFilter(action: string, filter: JobFilter): JobFilter {
  if (isEmptyFilter(filter)) {
    throw new AppError('validation_error', `${action} by filter needs at least one filter`, {
      issues: [{ path: '', message: 'empty filter would match every job' }],
    });
  }
  return filter;
}

/** The transition's "from" states, narrowed to the filter's `status` when it has one. */
const statesFor = (from: readonly JobStatus[], filter: JobFilter): JobStatus[] =>
  from.filter((s) => !filter.status || filter.status.includes(s));

// In the by-filter statements $1 is the "from" states and $2 the limit; the filter's own
// parameters follow ($3…), written into its WHERE clause by buildWhere.

/** dry_run: how many jobs the action would touch, and the first `limit` of their ids. */
async function countByFilter(
  db: Queryable,
  from: JobStatus[],
  filter: JobFilter,
  limit: number,
): Promise<ByFilterResult> {
  const where = buildWhere({ ...filter, status: undefined }, [from, limit]);
  const r = await db.query<{ count: number; ids: string[] | null }>(
    `SELECT count(*)::int AS count, (array_agg(id ORDER BY id))[1:$2] AS ids
     FROM ai_jobs WHERE status = ANY($1::text[]) AND ${where.sql}`,
    where.params,
  );
  const count = r.rows[0]?.count ?? 0;
  return { count, ids: r.rows[0]?.ids ?? [], dry_run: true, has_more: count > limit };
}

const nothing = (dry_run: boolean): ByFilterResult => ({ count: 0, ids: [], dry_run, has_more: false });

export async function retryByFilter(db: Queryable, req: RetryByFilter): Promise<ByFilterResult> {
  const { dry_run = false, limit = 1000, include_cancelled = false, ...rest } = req;
  const filter = targetFilter('retry', rest);
  const from = statesFor(retryFrom({ includeCancelled: include_cancelled }), filter);
  if (from.length === 0) return nothing(dry_run);
  if (dry_run) return countByFilter(db, from, filter, limit);
  const where = buildWhere({ ...filter, status: undefined }, [from, limit]);
  // Fetch one more than the limit to know whether another call is needed.
  const r = await db.query<{ id: string; more: boolean }>(
    `WITH target AS (
       SELECT id FROM ai_jobs WHERE status = ANY($1::text[]) AND ${where.sql}
       ORDER BY id LIMIT $2 + 1
     ), locked AS (
       SELECT id FROM ai_jobs WHERE id IN (SELECT id FROM target ORDER BY id LIMIT $2)
       ORDER BY id FOR UPDATE
     )
     UPDATE ai_jobs AS j SET status = 'pending', lease_token = NULL, lease_expires_at = NULL, attempts = 0,
            run_after = now(), result = NULL, error_category = NULL, error_message = NULL, worker_id = NULL,
            started_at = NULL, finished_at = NULL, duration_ms = NULL, updated_at = now()
     FROM locked WHERE j.id = locked.id AND j.status = ANY($1::text[])
     RETURNING j.id, (SELECT count(*) FROM target) > $2 AS more`,
    where.params,
  );
  const ids = r.rows.map((x) => x.id).sort();
  return { count: ids.length, ids, dry_run, has_more: r.rows[0]?.more ?? false };
}

export async function cancelByFilter(db: Queryable, req: ByFilter): Promise<ByFilterResult> {
  const { dry_run = false, limit = 1000, ...rest } = req;
  const filter = targetFilter('cancel', rest);
  const from = statesFor(TRANSITIONS.cancel.from, filter);
  if (from.length === 0) return nothing(dry_run);
  if (dry_run) return countByFilter(db, from, filter, limit);
  const where = buildWhere({ ...filter, status: undefined }, [from, limit]);
  // The lease token is kept so the former holder's next call is refused with
  // `status: cancelled`, and a replay of its earlier fail is not mistaken for one.
  const r = await db.query<{ id: string; more: boolean }>(
    `WITH target AS (
       SELECT id FROM ai_jobs WHERE status = ANY($1::text[]) AND ${where.sql}
       ORDER BY id LIMIT $2 + 1
     ), locked AS (
       SELECT id FROM ai_jobs WHERE id IN (SELECT id FROM target ORDER BY id LIMIT $2)
       ORDER BY id FOR UPDATE
     ), cancelled AS (
       UPDATE ai_jobs AS j SET status = 'cancelled', lease_expires_at = NULL, finished_at = now(),
              updated_at = now(), error_category = 'cancelled', error_message = 'cancelled by request'
       FROM locked WHERE j.id = locked.id AND j.status = ANY($1::text[])
       RETURNING j.id
     ), announced AS MATERIALIZED (
       SELECT ai_jobs_notify_finished(array_agg(id)) FROM cancelled
     )
     SELECT cancelled.id, (SELECT count(*) FROM target) > $2 AS more FROM cancelled, announced`,
    where.params,
  );
  const ids = r.rows.map((x) => x.id).sort();
  return { count: ids.length, ids, dry_run, has_more: r.rows[0]?.more ?? false };
}
