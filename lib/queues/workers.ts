// The workers the service knows about (issue 11): every claim — built-in worker or an
// external one over POST /api/v1/jobs/claim — records its worker_id, the task types and
// model profiles it claims for, and its version (lib/jobs/claim.ts). A worker is live
// while it was seen within WORKER_LIVE_WINDOW; silent entries are forgotten after a day.
import type { Queryable } from '../db/port.ts';

/** Silent entries older than this are deleted when the list is read. */
const FORGET_AFTER_MS = 86_400_000;

export interface WorkerFilter {
  /** Empty = any. */
  task_types: string[];
  model_profiles: string[];
}

export interface WorkerEntry {
  worker_id: string;
  version: string | null;
  live: boolean;
  first_seen: string;
  last_seen: string;
  /** One entry per claim filter the worker uses (its handler groups). */
  serves: WorkerFilter[];
}

export async function listWorkers(db: Queryable, liveWindowMs: number): Promise<WorkerEntry[]> {
  const r = await db.query<{
    worker_id: string;
    version: string | null;
    first_seen: Date;
    last_seen: Date;
    live: boolean;
    serves: WorkerFilter[];
  }>(
    `WITH forgotten AS (
       DELETE FROM ai_workers WHERE last_seen < now() - make_interval(secs => $2::double precision / 1000)
     )
     SELECT worker_id, (array_agg(version ORDER BY last_seen DESC))[1] AS version,
            min(first_seen) AS first_seen, max(last_seen) AS last_seen,
            max(last_seen) > now() - make_interval(secs => $1::double precision / 1000) AS live,
            jsonb_agg(jsonb_build_object('task_types', task_types, 'model_profiles', model_profiles)
                      ORDER BY task_types, model_profiles) AS serves
     FROM ai_workers
     WHERE last_seen >= now() - make_interval(secs => $2::double precision / 1000)
     GROUP BY worker_id
     ORDER BY max(last_seen) DESC, worker_id`,
    [liveWindowMs, FORGET_AFTER_MS],
  );
  return r.rows.map((w) => ({
    worker_id: w.worker_id,
    version: w.version,
    live: w.live,
    first_seen: new Date(w.first_seen).toISOString(),
    last_seen: new Date(w.last_seen).toISOString(),
    serves: w.serves,
  }));
}

/** True when a worker seen within the window claims this task_type × model_profile. */
export async function isServed(
  db: Queryable,
  taskType: string,
  modelProfile: string,
  liveWindowMs: number,
): Promise<boolean> {
  const r = await db.query<{ served: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM ai_workers
       WHERE last_seen > now() - make_interval(secs => $3::double precision / 1000)
         AND (cardinality(task_types) = 0 OR $1 = ANY(task_types))
         AND (cardinality(model_profiles) = 0 OR $2 = ANY(model_profiles))
     ) AS served`,
    [taskType, modelProfile, liveWindowMs],
  );
  return r.rows[0]?.served ?? false;
}

/** Pending jobs no live worker serves, per task_type × model_profile (for stats). */
export async function unservedBacklog(
  db: Queryable,
  liveWindowMs: number,
): Promise<{ task_type: string; model_profile: string; pending: number }[]> {
  const r = await db.query<{ task_type: string; model_profile: string; pending: number }>(
    `SELECT p.task_type, p.model_profile, p.pending
     FROM (SELECT task_type, model_profile, count(*)::int AS pending
           FROM ai_jobs WHERE status = 'pending' GROUP BY 1, 2) p
     WHERE NOT EXISTS (
       SELECT 1 FROM ai_workers w
       WHERE w.last_seen > now() - make_interval(secs => $1::double precision / 1000)
         AND (cardinality(w.task_types) = 0 OR p.task_type = ANY(w.task_types))
         AND (cardinality(w.model_profiles) = 0 OR p.model_profile = ANY(w.model_profiles)))
     ORDER BY 3 DESC, 1, 2`,
    [liveWindowMs],
  );
  return r.rows;
}
