// The Overview page's reads, each bounded by a partial or time index (the stats figures
// themselves come from lib/jobs/stats.ts, shared with GET /api/v1/stats):
//   backlog      pending and running rows only (ai_jobs_claim_idx / ai_jobs_lease_idx)
//   throughput   jobs finished in the last hour/day, bucketed (ai_jobs_finished_idx, index-only)
//   workers      workers holding a lease now, or that finished a job in the last 10 min
//   leases       running jobs whose lease has expired (ai_jobs_lease_idx), at most 20
import type { Queryable } from '../db/port.ts';

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

// Buckets counted in SQL; empty buckets filled here so the chart has a fixed x axis.
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
  const r = await db.query<{ b: number; since_ms: number; completed: number; failed: number }>(THROUGHPUT, [
    bucketMs,
    buckets,
  ]);
  const since = r.rows[0]?.since_ms ?? Date.now() - bucketMs * buckets;
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
