// The claim statement of round one (commit 6a1ce79): one UPDATE … FOR UPDATE SKIP LOCKED
// over ai_jobs_claim_idx, no queue control. Kept as the baseline of bench/queues.ts and
// as the plan that a burst without statistics turned into a bitmap scan + sort (bench/burst.ts).
// $1 worker_id, $2 limit, $3 task types, $4 model profiles, $5 lease ms.
export const ROUND_ONE_CLAIM = `
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
SELECT * FROM claimed ORDER BY priority DESC, run_after, id`;
