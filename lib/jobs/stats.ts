// Queue and error counters without a full-table scan (counting every row by state is
// what times out at millions of rows: River #746). Each figure reads one partial or
// time-bounded index:
//   - pending/running: exact, from the partial indexes that hold only those rows;
//   - terminal counts and error counters: jobs *finished within the window* (default 1h),
//     summed from the per-minute rollup of migration 013 (lib/jobs/finishes.ts) for the
//     window's whole minutes and counted from ai_jobs_finished_idx for its first, ragged
//     minute, so exact at the edge and a few hundred rows however many jobs finished;
//   - durations: the latest ≤10,000 completed in the window, from ai_jobs_finished_idx;
//   - table size: the planner's estimate (pg_class.reltuples), free to read; before the
//     table's first ANALYZE the estimate is unknown (-1, or 0), and a count capped at
//     TOTAL_COUNT_CAP rows stands in (a short index scan, never the whole table).
import type { Queryable } from '../db/port.ts';

export interface Stats {
  window_ms: number;
  queue: {
    pending: number;
    pending_ready: number;
    running: number;
    expired_leases: number;
    oldest_pending_age_ms: number | null;
  };
  by_type: { task_type: string; model_profile: string; pending: number; running: number }[];
  finished: { completed: number; failed: number; cancelled: number };
  /** Per category: jobs that ended failed in the window, and jobs now waiting to retry after it. */
  errors: { category: string; failed: number; retrying: number }[];
  durations: { sample: number; p50_ms: number | null; p95_ms: number | null; max_ms: number | null };
  /** Rows in the table: the planner's estimate, or a count capped at TOTAL_COUNT_CAP before the first ANALYZE. */
  total_estimate: number;
}

export const TOTAL_COUNT_CAP = 100_000;

// Transcription comparisons (task_type transcribe_compare, migration 006) are left out of
// every figure but by_type, where the ops page sees their backlog. They are filtered by
// task_type, which every index read here INCLUDEs (parent_id would cost a heap fetch per row).
//
// One statement, one round trip (it matters on the edge, where each query is a WebSocket
// exchange), each part served by its own index:
//   queue, by_type,     ONE pass over the pending rows (claim_idx) and one over the running
//   retrying errors     rows (lease_idx), grouped by type, profile (and error category), every
//                       pending/running figure summed from those groups. They were seven
//                       passes: at 10M rows with 10,000 pending and 10,000 running whose pages
//                       are not all-visible (autovacuum off, or rows too fresh), each pass
//                       fetched every row from the heap (210 ms → 98 ms; 24 → 16 ms after VACUUM)
//   finished / errors   ai_job_finishes (whole minutes, summed over shards) + ai_jobs_finished_idx
//                       over the ragged first minute (index-only: INCLUDE status, error_category)
//   durations           ai_jobs_finished_idx newest first, LIMIT 10,000
//   total_estimate      pg_class; the capped count runs only when reltuples is unknown
//                       (an uncorrelated subquery in CASE is evaluated only when reached)
// The window's start, and the first whole minute after it, written out rather than read
// from a CTE: the planner then estimates how much of the rollup's primary key (minute
// first) the window covers — from a CTE it guesses a third of the table and scans it all.
const SINCE = `(now() - make_interval(secs => $1::double precision / 1000))`;
const EDGE = `(date_bin('1 minute', ${SINCE}, timestamptz '2000-01-01 00:00:00+00') + interval '1 minute')`;

const STATS = `
WITH w AS (SELECT ${SINCE} AS since),
pend AS MATERIALIZED (
  SELECT task_type, model_profile, error_category, count(*)::int AS n,
         count(*) FILTER (WHERE run_after <= now())::int AS ready,
         min(run_after) FILTER (WHERE run_after <= now()) AS oldest
  FROM ai_jobs WHERE status = 'pending'
    AND ($3::text IS NULL OR (owner_service = $3 AND task_type <> 'transcribe_compare'))
  GROUP BY task_type, model_profile, error_category
),
runn AS MATERIALIZED (
  SELECT task_type, model_profile, count(*)::int AS n,
         count(*) FILTER (WHERE lease_expires_at < now())::int AS expired
  FROM ai_jobs WHERE status = 'running'
    AND ($3::text IS NULL OR (owner_service = $3 AND task_type <> 'transcribe_compare'))
  GROUP BY task_type, model_profile
),
by_type AS (
  SELECT task_type, model_profile, sum(p)::int AS pending, sum(r)::int AS running FROM (
    SELECT task_type, model_profile, n AS p, 0 AS r FROM pend
    UNION ALL
    SELECT task_type, model_profile, 0, n FROM runn
  ) t GROUP BY task_type, model_profile
),
finished AS (
  SELECT status, nullif(error_category, '') AS error_category, sum(jobs)::int AS n FROM (
    SELECT status, error_category, jobs FROM ai_job_finishes
    WHERE minute >= ${EDGE} AND task_type <> 'transcribe_compare' AND ($3::text IS NULL OR owner_service = $3)
    UNION ALL
    SELECT status, coalesce(error_category, ''), 1 FROM ai_jobs
    WHERE finished_at > ${SINCE} AND finished_at < ${EDGE}
      AND task_type <> 'transcribe_compare' AND ($3::text IS NULL OR owner_service = $3)
  ) f GROUP BY status, error_category
),
errors AS (
  SELECT category, sum(failed)::int AS failed, sum(retrying)::int AS retrying
  FROM (
    SELECT error_category AS category, n AS failed, 0 AS retrying FROM finished WHERE status = 'failed'
    UNION ALL
    SELECT error_category, 0, n FROM pend WHERE error_category IS NOT NULL AND task_type <> 'transcribe_compare'
  ) e GROUP BY category
  HAVING sum(failed) <> 0 OR sum(retrying) <> 0
),
durations AS (
  SELECT duration_ms FROM ai_jobs, w
  WHERE finished_at > w.since AND status = 'completed' AND duration_ms IS NOT NULL
    AND task_type <> 'transcribe_compare' AND ($3::text IS NULL OR owner_service = $3)
  ORDER BY finished_at DESC LIMIT 10000
)
SELECT
  (SELECT coalesce(sum(n), 0) FROM pend WHERE task_type <> 'transcribe_compare')::int AS pending,
  (SELECT coalesce(sum(ready), 0) FROM pend WHERE task_type <> 'transcribe_compare')::int AS pending_ready,
  (SELECT coalesce(sum(n), 0) FROM runn WHERE task_type <> 'transcribe_compare')::int AS running,
  (SELECT coalesce(sum(expired), 0) FROM runn WHERE task_type <> 'transcribe_compare')::int AS expired_leases,
  (SELECT (extract(epoch FROM now() - min(oldest)) * 1000)::bigint FROM pend WHERE task_type <> 'transcribe_compare')
     AS oldest_pending_age_ms,
  (SELECT CASE WHEN reltuples > 0 THEN reltuples::bigint
               ELSE (SELECT count(*) FROM (SELECT 1 FROM ai_jobs LIMIT $2) capped) END
     FROM pg_class WHERE oid = 'ai_jobs'::regclass) AS total_estimate,
  (SELECT coalesce(json_agg(b ORDER BY b.task_type, b.model_profile), '[]') FROM by_type b) AS by_type,
  (SELECT json_build_object(
     'completed', coalesce(sum(n) FILTER (WHERE status = 'completed'), 0),
     'failed', coalesce(sum(n) FILTER (WHERE status = 'failed'), 0),
     'cancelled', coalesce(sum(n) FILTER (WHERE status = 'cancelled'), 0)) FROM finished) AS finished,
  (SELECT coalesce(json_agg(e ORDER BY e.failed + e.retrying DESC, e.category), '[]') FROM errors e) AS errors,
  (SELECT json_build_object(
     'sample', count(*),
     'p50_ms', percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms),
     'p95_ms', percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms),
     'max_ms', max(duration_ms)) FROM durations) AS durations`;

type StatsRow = Stats['queue'] &
  Pick<Stats, 'by_type' | 'finished' | 'errors' | 'durations' | 'total_estimate'>;

/**
 * `ownerService` narrows every figure to one caller's jobs (a caller token's view); the
 * table-size estimate stays the table's. With null the parameter's test folds away in
 * the custom plan, so the admin's statement is the same as before.
 */
export async function jobStats(
  db: Queryable,
  windowMs = 3_600_000,
  countCap = TOTAL_COUNT_CAP,
  ownerService: string | null = null,
): Promise<Stats> {
  const r = (await db.query<StatsRow>(STATS, [windowMs, countCap, ownerService])).rows[0]!;
  return {
    window_ms: windowMs,
    queue: {
      pending: r.pending,
      pending_ready: r.pending_ready,
      running: r.running,
      expired_leases: r.expired_leases,
      oldest_pending_age_ms: r.oldest_pending_age_ms === null ? null : Number(r.oldest_pending_age_ms),
    },
    by_type: r.by_type,
    finished: r.finished,
    errors: r.errors,
    durations: r.durations,
    total_estimate: Number(r.total_estimate),
  };
}
