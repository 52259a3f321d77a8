// The claim of round two (commit 5c1ea6d), kept as a baseline for bench/queues.ts: one
// transaction of two statements (PREPARE takes the advisory locks, CLAIM reads under
// them), 4 round trips. lib/jobs/claim.ts replaced it with one statement.
import type { Db, Queryable } from '../../lib/db/port.ts';
import type { ClaimRequest } from '../../lib/jobs/claim.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import { BACKOFF } from '../../lib/jobs/transitions.ts';
import { EMPTY_POLICY } from '../../lib/queues/policy.ts';

/** Expired leases one claim reaps at most (the reaper takes the rest in its own batches). */
const REAP_PER_CLAIM = 100;

// Advisory lock class ids ("aiqc", "aiqg" in ASCII): queue control, and one per limited group.
const CONTROL_LOCK = 0x61697163;
const GROUP_LOCK = 0x61697167;

const PREPARE = `
WITH expired AS (
  SELECT id FROM ai_jobs
  WHERE status = 'running' AND lease_expires_at < now()
  ORDER BY lease_expires_at
  LIMIT $5
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
  SELECT ai_jobs_notify_finished(array_agg(id)) AS n FROM reaped WHERE status = 'failed'
), seen AS (
  -- Written at most every 5 s per worker and filter, so an idle poller costs no writes.
  INSERT INTO ai_workers AS w (worker_id, task_types, model_profiles, version)
  VALUES ($1, $2, $3, $4)
  ON CONFLICT (worker_id, task_types, model_profiles) DO UPDATE
    SET last_seen = now(), version = EXCLUDED.version
    WHERE w.last_seen < now() - interval '5 seconds' OR w.version IS DISTINCT FROM EXCLUDED.version
  RETURNING 1
), groups AS (
  SELECT DISTINCT g FROM (
    SELECT jsonb_object_keys($6::jsonb -> 'limits') AS g
    UNION ALL SELECT 'model_profile:' || jsonb_object_keys($6::jsonb -> 'budgets')
    UNION ALL SELECT scope || ':' || name FROM ai_queues WHERE max_running IS NOT NULL OR token_budget IS NOT NULL
  ) a
  WHERE CASE WHEN g LIKE 'model_profile:%'
             THEN cardinality($3::text[]) = 0 OR substr(g, 15) = ANY($3::text[])
             ELSE cardinality($2::text[]) = 0 OR substr(g, 11) = ANY($2::text[]) END
), locks AS MATERIALIZED (
  SELECT array_agg(g) FILTER (WHERE g IS NOT NULL) AS locked,
         count(CASE WHEN g IS NULL THEN pg_advisory_xact_lock_shared(${CONTROL_LOCK}, 0)
                    ELSE pg_advisory_xact_lock(${GROUP_LOCK}, hashtext(g)) END) AS n
  FROM (SELECT NULL::text AS g UNION ALL (SELECT g FROM groups ORDER BY g)) ordered
)
SELECT locks.locked, (SELECT count(*) FROM reaped)::int AS reaped,
       (SELECT n FROM announced) AS announced, (SELECT count(*) FROM seen)::int AS seen
FROM locks`;

const CLAIM = `
WITH RECURSIVE controls AS (
  -- Every group with a limit, a token budget or a pause; run-time values win.
  SELECT k.g, substr(k.g, strpos(k.g, ':') + 1) AS name, k.g LIKE 'model_profile:%' AS is_profile,
         coalesce(q.max_running, ($6::jsonb -> 'limits' ->> k.g)::int) AS max_running,
         coalesce(q.token_budget, CASE WHEN k.g LIKE 'model_profile:%'
                                       THEN ($6::jsonb -> 'budgets' ->> substr(k.g, 15))::int END) AS budget,
         coalesce(q.paused, false) AS paused
  FROM (
    SELECT jsonb_object_keys($6::jsonb -> 'limits') AS g
    UNION SELECT 'model_profile:' || jsonb_object_keys($6::jsonb -> 'budgets')
    UNION SELECT scope || ':' || name FROM ai_queues
  ) k
  LEFT JOIN ai_queues q ON q.scope || ':' || q.name = k.g
), usage AS (
  -- What each limited group whose lock this claim holds is running and has reserved.
  SELECT c.g, c.max_running, c.budget, r.running, r.reserved
  FROM controls c CROSS JOIN LATERAL (
    SELECT count(*)::int AS running, coalesce(sum(j.token_cost), 0)::bigint AS reserved
    FROM ai_jobs j
    WHERE j.status = 'running'
      AND ((c.is_profile AND j.model_profile = c.name) OR (NOT c.is_profile AND j.task_type = c.name))
  ) r
  WHERE c.g = ANY($7::text[]) AND (c.max_running IS NOT NULL OR c.budget IS NOT NULL)
), blocked AS (
  -- Nothing is claimed from a group that is paused, full, out of tokens, or limited
  -- without this claim holding its lock (a limit set after the locks were taken).
  SELECT coalesce(array_agg(c.g), '{}') AS keys
  FROM controls c LEFT JOIN usage u ON u.g = c.g
  WHERE c.paused
     OR ((c.max_running IS NOT NULL OR c.budget IS NOT NULL) AND u.g IS NULL)
     OR u.running >= u.max_running
     OR u.reserved >= u.budget
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
  WHERE j.id = chosen.id
  RETURNING j.*
)
-- UPDATE … RETURNING does not keep the CTE's order; callers expect claim order.
SELECT * FROM claimed ORDER BY priority DESC, run_after, id`;

interface ClaimOutcome {
  jobs: JobRow[];
  /** Expired leases this claim ended (requeued or failed). */
  reaped: number;
}

/** Runs fn in a transaction, or directly when `db` already is one (EXPLAIN captures). */
const inTransaction = <T>(
  db: Queryable & Partial<Pick<Db, 'transaction'>>,
  fn: (tx: Queryable) => Promise<T>,
) => (db.transaction ? db.transaction(fn) : fn(db));

export async function claimRoundTwo(
  db: Queryable & Partial<Pick<Db, 'transaction'>>,
  req: ClaimRequest,
): Promise<ClaimOutcome> {
  const policy = req.policy ?? EMPTY_POLICY;
  const taskTypes = [...new Set(req.taskTypes ?? [])].sort();
  const profiles = [...new Set(req.modelProfiles ?? [])].sort();
  return inTransaction(db, async (tx) => {
    const prep = await tx.query<{ locked: string[] | null; reaped: number }>(PREPARE, [
      req.workerId,
      taskTypes,
      profiles,
      req.workerVersion ?? null,
      REAP_PER_CLAIM,
      JSON.stringify(policy),
    ]);
    const r = await tx.query<JobRow>(CLAIM, [
      req.workerId,
      req.limit,
      taskTypes,
      profiles,
      req.leaseMs,
      JSON.stringify(policy),
      prep.rows[0]?.locked ?? [],
    ]);
    return { jobs: r.rows, reaped: prep.rows[0]?.reaped ?? 0 };
  });
}
