// claim: atomically hand up to `limit` ready pending jobs to one worker.
// The row choice sits in a CTE with LIMIT + FOR UPDATE SKIP LOCKED, so concurrent
// claimers never wait on each other and the planner cannot update more rows than the
// limit (the pitfall of `UPDATE … WHERE id IN (SELECT … LIMIT n)`). Served by the
// partial index on pending rows (ai_jobs_claim_idx).
import type { Queryable } from '../db/port.ts';
import type { JobRow } from './row.ts';

export interface ClaimRequest {
  workerId: string;
  limit: number;
  leaseMs: number;
  taskTypes?: readonly string[];
  modelProfiles?: readonly string[];
}

const CLAIM = `
WITH next AS (
  SELECT id FROM ai_jobs
  WHERE status = 'pending' AND run_after <= now()
    AND (cardinality($3::text[]) = 0 OR task_type = ANY($3::text[]))
    AND (cardinality($4::text[]) = 0 OR model_profile = ANY($4::text[]))
  ORDER BY priority DESC, run_after, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE ai_jobs AS j
  SET status = 'running', worker_id = $1, lease_token = gen_random_uuid(), attempts = j.attempts + 1,
      lease_expires_at = now() + make_interval(secs => $5::double precision / 1000),
      started_at = now(), updated_at = now(), finished_at = NULL, duration_ms = NULL
  FROM next
  WHERE j.id = next.id
  RETURNING j.*
)
-- UPDATE … RETURNING does not keep the CTE's order; callers expect claim order, and
-- PostgreSQL sorts these few hundred rows far cheaper than JavaScript comparing Dates.
SELECT * FROM claimed ORDER BY priority DESC, run_after, id`;

export async function claimJobs(db: Queryable, req: ClaimRequest): Promise<JobRow[]> {
  const r = await db.query<JobRow>(CLAIM, [
    req.workerId,
    req.limit,
    req.taskTypes ?? [],
    req.modelProfiles ?? [],
    req.leaseMs,
  ]);
  // UPDATE … RETURNING does not keep the CTE's order; callers expect claim order.
  return r.rows.sort(
    (a, b) =>
      b.priority - a.priority || +a.run_after - +b.run_after || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
