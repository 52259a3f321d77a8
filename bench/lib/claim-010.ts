// The claim as it was before branch claim-speed2 (commit f4f3c34), kept as a baseline for
// bench/queues.ts: the same one statement, sent unnamed (parsed and planned on every
// call), reading each triple's candidates with three equalities and updating through
// `id = ANY(array) AND id = chosen.id`, over migration 010's ai_claim_controls (counts
// that fetch every running row, pg_locks read twice per limited group). Migration 011
// replaced that function, so installClaim010 creates it again under another name in the
// bench database.
import { readFile } from 'node:fs/promises';
import type { Queryable } from '../../lib/db/port.ts';
import type { ClaimRequest } from '../../lib/jobs/claim.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import { BACKOFF } from '../../lib/jobs/transitions.ts';
import { EMPTY_POLICY } from '../../lib/queues/policy.ts';

const REAP_PER_CLAIM = 100;

const CLAIM = `
WITH RECURSIVE controls AS MATERIALIZED (
  SELECT * FROM ai_claim_controls_010($3::text[], $4::text[], $6::jsonb, $2::int)
), usage AS (
  SELECT g, max_running, budget, running, reserved FROM controls WHERE locked
), blocked AS (
  -- Nothing is claimed from a group that is paused, full, out of tokens, or limited
  -- without this claim holding its lock (a group outside the worker's filter).
  SELECT coalesce(array_agg(c.g), '{}') AS keys
  FROM controls c
  WHERE c.paused
     OR ((c.max_running IS NOT NULL OR c.budget IS NOT NULL) AND NOT c.locked)
     OR c.running >= c.max_running
     OR c.reserved >= c.budget
), expired AS (
  SELECT id FROM ai_jobs
  WHERE status = 'running' AND lease_expires_at < now()
  ORDER BY lease_expires_at
  LIMIT $7
  FOR UPDATE SKIP LOCKED
), reaped AS (
  UPDATE ai_jobs AS j SET
    status = CASE WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END,
    run_after = CASE WHEN attempts < max_attempts
                THEN now() + make_interval(secs =>
                       LEAST(${BACKOFF.capMs}::double precision, ${BACKOFF.baseMs} * power(2, GREATEST(attempts - 1, 0)))
                         * (0.5 + random() / 2) / 1000)
                ELSE run_after END,
    finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END,
    error_category = 'timeout',
    error_message = 'lease expired: worker ' || coalesce(worker_id, '?') || ' stopped heartbeating',
    lease_expires_at = NULL, updated_at = now()
  FROM expired
  WHERE j.id = expired.id AND j.status = 'running' AND j.lease_expires_at < now()
  RETURNING j.id, j.status
), announced AS MATERIALIZED (
  SELECT count(*)::int AS reaped,
         ai_jobs_notify_finished(array_agg(id) FILTER (WHERE status = 'failed')) AS failed
  FROM reaped
), seen AS (
  -- Written at most every 5 s per worker and filter, so an idle poller costs no writes.
  INSERT INTO ai_workers AS w (worker_id, task_types, model_profiles, version)
  VALUES ($1, $3, $4, $8)
  ON CONFLICT (worker_id, task_types, model_profiles) DO UPDATE
    SET last_seen = now(), version = EXCLUDED.version
    WHERE w.last_seen < now() - interval '5 seconds' OR w.version IS DISTINCT FROM EXCLUDED.version
), triples AS (
  -- Distinct (owner_service, task_type, model_profile) with pending work: a loose index
  -- scan over ai_jobs_owner_claim_idx, one descent per triple.
  (SELECT owner_service AS o, task_type AS t, model_profile AS p FROM ai_jobs
   WHERE status = 'pending' ORDER BY owner_service, task_type, model_profile LIMIT 1)
  UNION ALL
  SELECT nx.* FROM triples CROSS JOIN LATERAL (
    SELECT j.owner_service, j.task_type, j.model_profile FROM ai_jobs j
    WHERE j.status = 'pending' AND (j.owner_service, j.task_type, j.model_profile) > (triples.o, triples.t, triples.p)
    ORDER BY j.owner_service, j.task_type, j.model_profile LIMIT 1
  ) nx
), cand AS (
  SELECT c.* FROM triples CROSS JOIN LATERAL (
    SELECT j.id, j.owner_service, j.task_type, j.model_profile, j.priority, j.run_after, j.input
    FROM ai_jobs j
    WHERE j.status = 'pending' AND j.owner_service = triples.o AND j.task_type = triples.t
      AND j.model_profile = triples.p AND j.run_after <= now()
    ORDER BY j.priority DESC, j.run_after, j.id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  ) c
  WHERE (cardinality($3::text[]) = 0 OR triples.t = ANY($3::text[]))
    AND (cardinality($4::text[]) = 0 OR triples.p = ANY($4::text[]))
    AND NOT ('model_profile:' || triples.p = ANY((SELECT keys FROM blocked)::text[])
             OR 'task_type:' || triples.t = ANY((SELECT keys FROM blocked)::text[]))
), owner_running AS (
  -- Slots each owner holds per profile; read only when several owners compete.
  SELECT j.owner_service, j.model_profile, count(*)::int AS n
  FROM ai_jobs j
  WHERE j.status = 'running' AND (SELECT count(DISTINCT owner_service) FROM cand) > 1
    AND j.model_profile IN (SELECT model_profile FROM cand)
  GROUP BY 1, 2
), ranked AS (
  SELECT c.id, c.task_type, c.model_profile, c.run_after,
         LEAST(c.priority, coalesce(($6::jsonb -> 'ceilings' ->> c.owner_service)::int,
                                    ($6::jsonb -> 'ceilings' ->> '*')::int, c.priority)) AS prio,
         (coalesce(r.n, 0) + row_number() OVER (PARTITION BY c.owner_service, c.model_profile
                                                ORDER BY c.priority DESC, c.run_after, c.id))
           / coalesce(($6::jsonb -> 'weights' ->> c.owner_service)::float8,
                      ($6::jsonb -> 'weights' ->> '*')::float8, 1) AS share,
         -- Worst case KV-cache tokens: prompt characters / 4 + max_tokens.
         CASE WHEN b.budget IS NOT NULL THEN
           (length(coalesce(c.input ->> 'system', '')) + length(coalesce(c.input ->> 'user', ''))
            + CASE WHEN c.input ? 'messages' THEN length((c.input -> 'messages')::text) ELSE 0 END) / 4
           + CASE WHEN jsonb_typeof(c.input -> 'max_tokens') = 'number'
                  THEN LEAST((c.input ->> 'max_tokens')::numeric, 1000000000)::int
                  ELSE ($6::jsonb ->> 'default_max_tokens')::int END
         END AS cost
  FROM cand c
  LEFT JOIN owner_running r ON r.owner_service = c.owner_service AND r.model_profile = c.model_profile
  LEFT JOIN usage b ON b.g = 'model_profile:' || c.model_profile
), capped AS (
  SELECT r.*,
         row_number() OVER (PARTITION BY r.model_profile ORDER BY r.share, r.prio DESC, r.run_after, r.id) AS nth_profile,
         row_number() OVER (PARTITION BY r.task_type ORDER BY r.share, r.prio DESC, r.run_after, r.id) AS nth_type,
         sum(r.cost) OVER (PARTITION BY r.model_profile ORDER BY r.share, r.prio DESC, r.run_after, r.id
                           ROWS UNBOUNDED PRECEDING) AS tokens
  FROM ranked r
), chosen AS (
  -- A job larger than the whole budget still runs, alone.
  SELECT c.id, c.cost FROM capped c
  LEFT JOIN usage p ON p.g = 'model_profile:' || c.model_profile
  LEFT JOIN usage t ON t.g = 'task_type:' || c.task_type
  WHERE (p.max_running IS NULL OR c.nth_profile <= p.max_running - p.running)
    AND (t.max_running IS NULL OR c.nth_type <= t.max_running - t.running)
    AND (p.budget IS NULL OR p.reserved + c.tokens <= p.budget OR (p.reserved = 0 AND c.nth_profile = 1))
  ORDER BY c.share, c.prio DESC, c.run_after, c.id
  LIMIT $2
), claimed AS (
  UPDATE ai_jobs AS j
  SET status = 'running', worker_id = $1, lease_token = gen_random_uuid(), attempts = j.attempts + 1,
      lease_expires_at = now() + make_interval(secs => $5::double precision / 1000), lease_ms = $5,
      token_cost = chosen.cost, tokens_used = NULL,
      started_at = now(), updated_at = now(), finished_at = NULL, duration_ms = NULL
  FROM chosen
  -- The = ANY gives the planner a small row estimate for ai_jobs, so it probes the
  -- primary key whatever the statistics say; joined on id alone, a 500-row claim was
  -- planned as a hash join over a sequential scan of the whole table.
  WHERE j.id = ANY(ARRAY(SELECT id FROM chosen)) AND j.id = chosen.id
  RETURNING j.*
)
-- One row per claimed job, or one row of NULLs when none was: either way it carries how
-- many leases this claim reaped. UPDATE … RETURNING does not keep the CTE's order;
-- callers expect claim order.
SELECT a.reaped AS claim_reaped, c.* FROM announced a LEFT JOIN claimed c ON true
ORDER BY c.priority DESC, c.run_after, c.id`;

/** Creates migration 010's ai_claim_controls as ai_claim_controls_010. */
export async function installClaim010(db: Queryable): Promise<void> {
  const sql = await readFile(new URL('../../migrations/010_claim_controls.sql', import.meta.url), 'utf8');
  await db.exec(sql.replace('CREATE FUNCTION ai_claim_controls(', 'CREATE FUNCTION ai_claim_controls_010('));
}

export async function claim010(db: Queryable, req: ClaimRequest): Promise<JobRow[]> {
  const policy = req.policy ?? EMPTY_POLICY;
  const r = await db.query<JobRow & { claim_reaped: number }>(CLAIM, [
    req.workerId,
    req.limit,
    [...new Set(req.taskTypes ?? [])].sort(),
    [...new Set(req.modelProfiles ?? [])].sort(),
    req.leaseMs,
    JSON.stringify(policy),
    REAP_PER_CLAIM,
    req.workerVersion ?? null,
  ]);
  const jobs: JobRow[] = [];
  for (const { claim_reaped: _, ...job } of r.rows) if (job.id !== null) jobs.push(job);
  return jobs;
}
