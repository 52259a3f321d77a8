// The Overview page's reads, each bounded by a partial or time index (the stats figures
// themselves come from lib/jobs/stats.ts, shared with GET /api/v1/stats):
//   backlog      pending and running rows only (ai_jobs_claim_idx / ai_jobs_lease_idx)
//   throughput   jobs finished in the last hour, bucketed, from the per-minute rollup of
//                migration 013 (buckets of whole minutes); the last day per hour from the
//                hourly rollup of migration 008 (the same one as usage: completed/failed per
//                hour) plus the unsettled last hour or two from the per-minute rollup
//   workers      workers holding a lease now, or that finished a job in the last 10 min
//   leases       running jobs whose lease has expired (ai_jobs_lease_idx), at most 20
import type { Queryable } from '../db/port.ts';
import { minuteAfter } from '../jobs/finishes.ts';
import { checkingHours, hasRollup, readRolledUp, wholeHours } from '../jobs/usage.ts';

export interface BacklogRow {
  task_type: string;
  model_profile: string;
  pending: number;
  ready: number;
  running: number;
  oldest_pending_age_ms: number | null;
}

const BACKLOG = `
SELECT task_type, model_profile, sum(p)::int AS pending, sum(rd)::int AS ready, sum(r)::int AS running,
       (extract(epoch FROM now() - min(oldest)) * 1000)::bigint AS oldest_pending_age_ms
FROM (
  SELECT task_type, model_profile, 1 AS p, (run_after <= now())::int AS rd, 0 AS r,
         CASE WHEN run_after <= now() THEN run_after END AS oldest
  FROM ai_jobs WHERE status = 'pending'
  UNION ALL
  SELECT task_type, model_profile, 0, 0, 1, NULL FROM ai_jobs WHERE status = 'running'
) t
GROUP BY task_type, model_profile
ORDER BY task_type, model_profile`;

export async function backlog(db: Queryable): Promise<BacklogRow[]> {
  const r = await db.query<BacklogRow>(BACKLOG);
  return r.rows.map((x) => ({
    ...x,
    oldest_pending_age_ms: x.oldest_pending_age_ms === null ? null : Number(x.oldest_pending_age_ms),
  }));
}

export interface Bucket {
  /** Bucket start, ms since epoch. */
  at: number;
  completed: number;
  failed: number;
}

// Buckets counted in SQL; empty buckets filled here so the chart has a fixed x axis. With
// buckets of whole minutes they end with the current minute and are summed from the
// per-minute rollup (a few hundred rows, however many jobs finished); otherwise the jobs
// finished in the window are read.
// (The start is written out, not read from a CTE, so the planner sees how little of the
// rollup's primary key it covers.)
const ROLLED_SINCE = `(date_bin('1 minute', now(), timestamptz '2000-01-01 00:00:00+00') + interval '1 minute'
  - make_interval(secs => $1::double precision * $2 / 1000))`;
const THROUGHPUT_ROLLED = `
SELECT floor(extract(epoch FROM minute - ${ROLLED_SINCE}) * 1000 / $1)::int AS b,
       (extract(epoch FROM ${ROLLED_SINCE}) * 1000)::float8 AS since_ms,
       coalesce(sum(jobs) FILTER (WHERE status = 'completed'), 0)::int AS completed,
       coalesce(sum(jobs) FILTER (WHERE status = 'failed'), 0)::int AS failed
FROM ai_job_finishes
WHERE minute >= ${ROLLED_SINCE}
GROUP BY 1, 2`;

const THROUGHPUT = `
WITH w AS (SELECT now() - make_interval(secs => $1::double precision * $2 / 1000) AS since)
SELECT floor(extract(epoch FROM finished_at - w.since) * 1000 / $1)::int AS b,
       (extract(epoch FROM w.since) * 1000)::float8 AS since_ms,
       count(*) FILTER (WHERE status = 'completed')::int AS completed,
       count(*) FILTER (WHERE status = 'failed')::int AS failed
FROM ai_jobs, w
WHERE finished_at > w.since
GROUP BY 1, 2`;

export async function throughput(db: Queryable, bucketMs: number, buckets: number): Promise<Bucket[]> {
  const rolled = bucketMs % 60_000 === 0;
  const r = await db.query<{ b: number; since_ms: number; completed: number; failed: number }>(
    rolled ? THROUGHPUT_ROLLED : THROUGHPUT,
    [bucketMs, buckets],
  );
  const since = r.rows[0]?.since_ms ?? (rolled ? minuteAfter(Date.now()) : Date.now()) - bucketMs * buckets;
  const out: Bucket[] = Array.from({ length: buckets }, (_, i) => ({
    at: since + i * bucketMs,
    completed: 0,
    failed: 0,
  }));
  for (const row of r.rows) {
    const slot = out[Math.min(buckets - 1, Math.max(0, row.b))]!;
    slot.completed += row.completed;
    slot.failed += row.failed;
  }
  return out;
}

const HOUR_MS = 3_600_000;

// Settled hours from the hourly rollup, the rest from the per-minute one; both bucketed by
// whole UTC hour ($1 null: every hour from the per-minute rollup).
const HOURLY_ROLLED = `
SELECT hour, sum(completed)::int AS completed, sum(failed)::int AS failed FROM (
  SELECT hour, completed, failed FROM ai_usage_hourly WHERE hour >= $1::timestamptz AND hour < $2::timestamptz
  UNION ALL
  SELECT date_bin('1 hour', minute, timestamptz '2000-01-01 00:00:00+00'),
         CASE WHEN status = 'completed' THEN jobs ELSE 0 END, CASE WHEN status = 'failed' THEN jobs ELSE 0 END
  FROM ai_job_finishes WHERE minute >= $2::timestamptz AND status IN ('completed', 'failed')
) t
GROUP BY hour`;

// HOURLY_ROLLED and, in the same snapshot, whether its settled hours are all rolled up.
const HOURLY_CHECKING_HOURS = checkingHours(HOURLY_ROLLED, '$1', '$2', 'r.hour');

const HOURLY_LIVE = `
SELECT to_timestamp(floor(extract(epoch FROM finished_at) / 3600) * 3600) AS hour,
       count(*) FILTER (WHERE status = 'completed')::int AS completed,
       count(*) FILTER (WHERE status = 'failed')::int AS failed
FROM ai_jobs WHERE finished_at >= $1::timestamptz
GROUP BY 1`;

/**
 * Completed/failed per whole hour for the last `hours` hours, the current one last. The
 * settled hours are summed from the hourly rollup (migration 008) when it exists, the rest
 * from the per-minute one (013); read from ai_jobs when `live` is set, to check one
 * against the other.
 */
export async function hourlyThroughput(
  db: Queryable,
  nowMs: number,
  hours = 24,
  opts: { live?: boolean } = {},
): Promise<Bucket[]> {
  const start = Math.floor(nowMs / HOUR_MS) * HOUR_MS - (hours - 1) * HOUR_MS;
  const settled = wholeHours({ since: new Date(start), until: new Date(nowMs) });
  type HourRow = { hour: Date; completed: number; failed: number };
  let rows: HourRow[];
  if (!opts.live && settled && (await hasRollup(db))) {
    const range = [new Date(settled.first).toISOString(), new Date(settled.lastEnd).toISOString()];
    rows = await readRolledUp<HourRow>(db, HOURLY_CHECKING_HOURS, range, settled, 'hour');
  } else if (!opts.live) {
    rows = (await db.query<HourRow>(HOURLY_ROLLED, [null, new Date(start).toISOString()])).rows;
  } else {
    rows = (await db.query<HourRow>(HOURLY_LIVE, [new Date(start).toISOString()])).rows;
  }
  const out: Bucket[] = Array.from({ length: hours }, (_, i) => ({
    at: start + i * HOUR_MS,
    completed: 0,
    failed: 0,
  }));
  for (const r of rows) {
    const slot = out[Math.round((new Date(r.hour).getTime() - start) / HOUR_MS)];
    if (!slot) continue;
    slot.completed += r.completed;
    slot.failed += r.failed;
  }
  return out;
}

export interface WorkerRow {
  worker_id: string;
  handlers: string[];
  in_flight: number;
  last_seen: Date;
}

// There is no worker registry table: a worker is known by the jobs it leases. "Last seen"
// is its latest heartbeat (a running job's updated_at) or its latest finish.
const WORKERS = `
SELECT worker_id, array_agg(DISTINCT task_type ORDER BY task_type) AS handlers,
       sum(running)::int AS in_flight, max(seen) AS last_seen
FROM (
  SELECT worker_id, task_type, 1 AS running, updated_at AS seen
  FROM ai_jobs WHERE status = 'running' AND worker_id IS NOT NULL
  UNION ALL
  SELECT worker_id, task_type, 0, finished_at
  FROM ai_jobs WHERE finished_at > now() - interval '10 minutes' AND worker_id IS NOT NULL
) t
GROUP BY worker_id
ORDER BY max(seen) DESC
LIMIT 100`;

export async function liveWorkers(db: Queryable): Promise<WorkerRow[]> {
  return (await db.query<WorkerRow>(WORKERS)).rows;
}

export interface ExpiredLease {
  id: string;
  task_type: string;
  model_profile: string;
  worker_id: string | null;
  lease_expires_at: Date;
  attempts: number;
}

const EXPIRED = `
SELECT id, task_type, model_profile, worker_id, lease_expires_at, attempts
FROM ai_jobs WHERE status = 'running' AND lease_expires_at < now()
ORDER BY lease_expires_at LIMIT 20`;

export async function expiredLeases(db: Queryable): Promise<ExpiredLease[]> {
  return (await db.query<ExpiredLease>(EXPIRED)).rows;
}
