// Queue and error counters without a full-table scan (counting every row by state is
// what times out at millions of rows: River #746). Each figure reads one partial or
// time-bounded index:
//   - pending/running: exact, from the partial indexes that hold only those rows;
//   - terminal counts, error counters and durations: jobs *finished within the window*
//     (default 1h), from ai_jobs_finished_idx; durations use the latest ≤10,000 of them;
//   - table size: the planner's estimate (pg_class.reltuples), free to read.
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
  total_estimate: number;
}

const QUEUE = `
SELECT
  (SELECT count(*) FROM ai_jobs WHERE status = 'pending')::int AS pending,
  (SELECT count(*) FROM ai_jobs WHERE status = 'pending' AND run_after <= now())::int AS pending_ready,
  (SELECT count(*) FROM ai_jobs WHERE status = 'running')::int AS running,
  (SELECT count(*) FROM ai_jobs WHERE status = 'running' AND lease_expires_at < now())::int AS expired_leases,
  (SELECT (extract(epoch FROM now() - min(run_after)) * 1000)::bigint
     FROM ai_jobs WHERE status = 'pending' AND run_after <= now()) AS oldest_pending_age_ms,
  (SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = 'ai_jobs'::regclass) AS total_estimate`;

const BY_TYPE = `
SELECT task_type, model_profile,
       count(*) FILTER (WHERE status = 'pending')::int AS pending,
       count(*) FILTER (WHERE status = 'running')::int AS running
FROM ai_jobs WHERE status IN ('pending', 'running')
GROUP BY task_type, model_profile ORDER BY task_type, model_profile`;

// Jobs sent back to pending by a retryable failure keep their error but no finished_at:
// they are counted as `retrying` from the (small) pending set.
const FINISHED = `
SELECT
  count(*) FILTER (WHERE status = 'completed')::int AS completed,
  count(*) FILTER (WHERE status = 'failed')::int AS failed,
  count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled
FROM ai_jobs WHERE finished_at > now() - make_interval(secs => $1::double precision / 1000)`;

const ERRORS = `
SELECT category, count(*) FILTER (WHERE status = 'failed')::int AS failed,
       count(*) FILTER (WHERE status = 'pending')::int AS retrying
FROM (
  SELECT error_category AS category, status FROM ai_jobs
  WHERE finished_at > now() - make_interval(secs => $1::double precision / 1000) AND status = 'failed'
  UNION ALL
  SELECT error_category, status FROM ai_jobs
  WHERE status = 'pending' AND error_category IS NOT NULL
) e GROUP BY category ORDER BY count(*) DESC, category`;

const DURATIONS = `
SELECT count(*)::int AS sample,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms,
       max(duration_ms) AS max_ms
FROM (
  SELECT duration_ms FROM ai_jobs
  WHERE finished_at > now() - make_interval(secs => $1::double precision / 1000)
    AND status = 'completed' AND duration_ms IS NOT NULL
  ORDER BY finished_at DESC LIMIT 10000
) d`;

export async function jobStats(db: Queryable, windowMs = 3_600_000): Promise<Stats> {
  const [queue, byType, finished, errors, durations] = await Promise.all([
    db.query<Stats['queue'] & { total_estimate: number }>(QUEUE),
    db.query<Stats['by_type'][number]>(BY_TYPE),
    db.query<Stats['finished']>(FINISHED, [windowMs]),
    db.query<Stats['errors'][number]>(ERRORS, [windowMs]),
    db.query<Stats['durations']>(DURATIONS, [windowMs]),
  ]);
  const { total_estimate, ...q } = queue.rows[0]!;
  return {
    window_ms: windowMs,
    queue: {
      ...q,
      oldest_pending_age_ms: q.oldest_pending_age_ms === null ? null : Number(q.oldest_pending_age_ms),
    },
    by_type: byType.rows,
    finished: finished.rows[0]!,
    errors: errors.rows,
    durations: durations.rows[0]!,
    total_estimate: Number(total_estimate),
  };
}
