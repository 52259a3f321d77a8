// claim: atomically hand up to `limit` ready pending jobs to one worker, under the queue
// controls of issue 11 and healing expired leases on the way (issue 10, defect 2). ONE
// statement, one round trip (the round-two claim was a transaction of two: 4 round trips):
//
//   - controls: ai_claim_controls (migration 010) takes the shared queue-control lock,
//     reads the groups with a limit, budget or pause AFTER it holds it, takes one
//     advisory lock per limited group this claim could draw from (exclusive, or shared
//     while the limit has room for max_claim per claimer in flight) and counts what
//     each runs and has reserved with those held. A VOLATILE function's statements
//     take fresh snapshots, which is why this part is a function: this statement's own
//     snapshot predates its locks. So a pause (taken under the exclusive control lock)
//     is either seen by the claim or waits for it to commit, and a limit holds under
//     racing claimers. With nothing configured it is one shared lock and one read of an
//     empty table; unlimited claimers never wait on each other.
//   - reap: expired leases this claim can lock end by the reaper's rules (`timeout` with
//     its backoff, `failed` at max_attempts), so an API-only deployment with external
//     workers heals without a cron; seen: the worker is noted in ai_workers.
//   - claim: ready rows per (owner, task type, profile) the worker serves and that is
//     neither paused nor full (a loose index scan over ai_jobs_owner_claim_idx; FOR UPDATE
//     SKIP LOCKED), ordered by fair share — (slots the owner holds in that profile + its
//     rank) / its weight — then priority (capped per owner), stopping at each group's
//     free slots and token budget.
//
// The text is fixed and runs as a named prepared statement on the pg driver (parsed once
// per connection; planned per call for its first five executions, then with a generic
// plan when PostgreSQL finds it no dearer). Its shape keeps both kinds of plan on the
// indexes whatever the statistics (test/core/claim-statement.test.ts): each triple's jobs
// as one range of ai_jobs_owner_claim_idx, and one primary-key probe per chosen job.
import type { Db, Queryable } from '../db/port.ts';
import { prepared } from '../db/prepared.ts';
import { EMPTY_POLICY, type QueuePolicy } from '../queues/policy.ts';
import type { JobRow } from './row.ts';
import { BACKOFF } from './transitions.ts';

export interface ClaimRequest {
  workerId: string;
  limit: number;
  leaseMs: number;
  taskTypes?: readonly string[];
  modelProfiles?: readonly string[];
  /** Limits, budgets, weights and ceilings from the configuration (see lib/queues/policy.ts). */
  policy?: QueuePolicy;
  /** Reported in GET /api/v1/workers. */
  workerVersion?: string;
}

/** Expired leases one claim reaps at most (the reaper takes the rest in its own batches). */
const REAP_PER_CLAIM = 100;

// Advisory lock class ids ("aiqc", "aiqg" in ASCII): queue control, and one per limited group.
export const CONTROL_LOCK = 0x61697163;
export const GROUP_LOCK = 0x61697167;

export const CLAIM = prepared(
  'aisvc_claim',
  `
WITH RECURSIVE controls AS MATERIALIZED (
  SELECT * FROM ai_claim_controls($3::text[], $4::text[], $6::jsonb, $2::int)
), usage AS (
  SELECT g, max_running, budget, running, reserved, token_factor FROM controls WHERE locked
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
  -- Each triple's ready jobs in priority order: one range of ai_jobs_owner_claim_idx,
  -- whatever the statistics and in a generic plan too. The profile is matched by a range
  -- (>= and <=), not an equality, and heads the ORDER BY: only that index then yields the
  -- order without sorting the triple's whole backlog. With three equalities the planner
  -- may read ai_jobs_claim_idx (priority order) and filter by owner instead, which after
  -- an ANALYZE that saw one caller walks that caller's whole backlog for every other
  -- caller (10,000 rows read per claim of 4, 12 ms, behind a 20,000-job backlog).
  SELECT c.* FROM triples CROSS JOIN LATERAL (
    SELECT j.id, j.owner_service, j.task_type, j.model_profile, j.priority, j.run_after, j.input
    FROM ai_jobs j
    WHERE j.status = 'pending' AND j.owner_service = triples.o AND j.task_type = triples.t
      AND j.model_profile >= triples.p AND j.model_profile <= triples.p AND j.run_after <= now()
    ORDER BY j.model_profile, j.priority DESC, j.run_after, j.id
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
         -- KV-cache tokens: prompt characters / 4 + max_tokens (the worst case), or the
         -- share of max_tokens the profile's answers use (TOKEN_ESTIMATE_QUANTILE < 1:
         -- token_factor from ai_claim_controls).
         CASE WHEN b.budget IS NOT NULL THEN
           (length(coalesce(c.input ->> 'system', '')) + length(coalesce(c.input ->> 'user', ''))
            + CASE WHEN c.input ? 'messages' THEN length((c.input -> 'messages')::text) ELSE 0 END) / 4
           + ceil(CASE WHEN jsonb_typeof(c.input -> 'max_tokens') = 'number'
                       THEN LEAST((c.input ->> 'max_tokens')::numeric, 1000000000)
                       ELSE ($6::jsonb ->> 'default_max_tokens')::numeric END
                  * LEAST(coalesce(b.token_factor, 1), 1)::numeric)::int
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
      token_cost = x.cost, tokens_used = NULL,
      started_at = now(), updated_at = now(), finished_at = NULL, duration_ms = NULL
  -- The chosen rows as arrays unnested: the planner estimates a few rows for an unnest of
  -- an array it cannot see, so it probes the primary key once per chosen job whatever the
  -- statistics say and in a generic plan too. Joined to the CTE, a 500-row claim was
  -- planned as a hash join over a sequential scan of the whole table (custom plan), or as
  -- a nested loop that probed all 500 ids for each of the 500 (generic plan: 250,000).
  FROM unnest(ARRAY(SELECT id FROM chosen), ARRAY(SELECT cost FROM chosen)) AS x(id, cost)
  WHERE j.id = x.id
  RETURNING j.*
)
-- One row per claimed job, or one row of NULLs when none was: either way it carries how
-- many leases this claim reaped, in the last column (claimWithReap removes it). UPDATE …
-- RETURNING does not keep the CTE's order; callers expect claim order.
SELECT c.*, a.reaped AS claim_reaped FROM announced a LEFT JOIN claimed c ON true
ORDER BY c.priority DESC, c.run_after, c.id`,
);

export interface ClaimOutcome {
  jobs: JobRow[];
  /** Expired leases this claim ended (requeued or failed). */
  reaped: number;
}

export async function claimWithReap(db: Queryable, req: ClaimRequest): Promise<ClaimOutcome> {
  const policy = req.policy ?? EMPTY_POLICY;
  const taskTypes = [...new Set(req.taskTypes ?? [])].sort();
  const profiles = [...new Set(req.modelProfiles ?? [])].sort();
  const r = await db.query<JobRow & { claim_reaped: number }>(CLAIM, [
    req.workerId,
    req.limit,
    taskTypes,
    profiles,
    req.leaseMs,
    JSON.stringify(policy),
    REAP_PER_CLAIM,
    req.workerVersion ?? null,
  ]);
  const reaped = r.rows[0]?.claim_reaped ?? 0;
  const jobs: JobRow[] = [];
  for (const row of r.rows) {
    // Removed in place, not copied (a claim answers up to 1,000 rows of ~30 fields):
    // deleting an object's last-added property leaves V8's fast layout as it was.
    delete (row as Partial<typeof row>).claim_reaped;
    if (row.id !== null) jobs.push(row);
  }
  return { jobs, reaped };
}

export async function claimJobs(
  db: Queryable & Partial<Pick<Db, 'transaction'>>,
  req: ClaimRequest,
): Promise<JobRow[]> {
  return (await claimWithReap(db, req)).jobs;
}
