// Run-time queue control (issue 11): limits, token budgets and pause/resume per
// model_profile or task_type, stored in ai_queues and read by the claim. Each change runs
// under the exclusive queue-control lock that every claim takes shared, so a pause
// returns only once no claim that could miss it is still in flight.
import type { Db, Queryable } from '../db/port.ts';
import { CONTROL_LOCK } from '../jobs/claim.ts';
import { groupKey, type QueuePolicy, type QueueScope } from './policy.ts';

export interface QueueRow {
  scope: QueueScope;
  name: string;
  max_running: number | null;
  token_budget: number | null;
  paused: boolean;
  drain: boolean;
  paused_reason: string | null;
  paused_by: string | null;
  paused_at: Date | null;
  updated_at: Date;
}

export interface GroupRef {
  scope: QueueScope;
  name: string;
}

// An upsert under the exclusive control lock in ONE statement (no BEGIN/COMMIT: 1 round
// trip, not 4): the materialised CTE takes the lock before the row is produced, and it is
// held until the statement commits. This statement's snapshot predates the lock, which an
// INSERT … ON CONFLICT DO UPDATE does not mind (the conflict is checked against, and the
// update applied to, the newest committed row). An UPDATE would mind — it sees only rows
// in its snapshot — so resumeQueue keeps the transaction: lock, then UPDATE.
const LOCK_CTE = 'WITH control_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock($1::int, 0))';

async function underControlLock<T>(db: Db, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, 0)', [CONTROL_LOCK]);
    return fn(tx);
  });
}

/**
 * Sets (a number) or clears (null) the run-time limit and/or token budget of a group;
 * a field left undefined keeps its value. A cleared value falls back to the configuration.
 */
export async function setQueueLimits(
  db: Db,
  ref: GroupRef,
  values: { limit?: number | null; token_budget?: number | null },
): Promise<QueueRow> {
  const r = await db.query<QueueRow>(
    `${LOCK_CTE}
     INSERT INTO ai_queues AS q (scope, name, max_running, token_budget)
     SELECT $2::text, $3::text, $5::integer, $7::integer FROM control_lock
     ON CONFLICT (scope, name) DO UPDATE SET
       max_running = CASE WHEN $4::boolean THEN $5::integer ELSE q.max_running END,
       token_budget = CASE WHEN $6::boolean THEN $7::integer ELSE q.token_budget END,
       updated_at = now()
     RETURNING q.*`,
    [
      CONTROL_LOCK,
      ref.scope,
      ref.name,
      values.limit !== undefined,
      values.limit ?? null,
      values.token_budget !== undefined,
      values.token_budget ?? null,
    ],
  );
  return r.rows[0]!;
}

export async function pauseQueue(
  db: Db,
  ref: GroupRef,
  opts: { reason?: string; by?: string; drain?: boolean },
): Promise<QueueRow> {
  const r = await db.query<QueueRow>(
    `${LOCK_CTE}
     INSERT INTO ai_queues AS q (scope, name, paused, drain, paused_reason, paused_by, paused_at)
     SELECT $2::text, $3::text, true, $4::boolean, $5::text, $6::text, now() FROM control_lock
     ON CONFLICT (scope, name) DO UPDATE SET
       paused = true, drain = $4::boolean, paused_reason = $5::text, paused_by = $6::text,
       paused_at = CASE WHEN q.paused THEN q.paused_at ELSE now() END, updated_at = now()
     RETURNING q.*`,
    [CONTROL_LOCK, ref.scope, ref.name, opts.drain ?? true, opts.reason ?? null, opts.by ?? null],
  );
  return r.rows[0]!;
}

export async function resumeQueue(db: Db, ref: GroupRef): Promise<QueueRow | null> {
  return underControlLock(db, async (tx) => {
    const r = await tx.query<QueueRow>(
      `UPDATE ai_queues SET paused = false, drain = true, paused_reason = NULL, paused_by = NULL,
              paused_at = NULL, updated_at = now()
       WHERE scope = $1 AND name = $2 RETURNING *`,
      [ref.scope, ref.name],
    );
    return r.rows[0] ?? null;
  });
}

export interface QueueState {
  scope: QueueScope;
  name: string;
  state: 'active' | 'paused';
  paused: { reason: string | null; by: string | null; at: string | null; drain: boolean } | null;
  limit: number | null;
  limit_source: 'runtime' | 'config' | null;
  token_budget: number | null;
  token_budget_source: 'runtime' | 'config' | null;
  backlog: number;
  ready: number;
  running: number;
  reserved_tokens: number;
  /** Pending jobs of this group that no live worker serves. */
  unserved: number;
}

/**
 * Every group that has work, a limit, a budget or a pause: its state, effective limit
 * (run-time over config), backlog (pending; `ready` = run_after passed), running jobs,
 * reserved tokens and unserved backlog. Counts come from the partial pending and running
 * indexes (their INCLUDE columns), so they never walk finished jobs.
 */
export async function listQueues(
  db: Queryable,
  policy: QueuePolicy,
  liveWindowMs: number,
): Promise<QueueState[]> {
  const r = await db.query<{
    g: string;
    q_limit: number | null;
    q_budget: number | null;
    paused: boolean | null;
    drain: boolean | null;
    paused_reason: string | null;
    paused_by: string | null;
    paused_at: Date | null;
    backlog: number;
    ready: number;
    running: number;
    reserved: number;
    unserved: number;
  }>(
    `WITH pending AS (
       SELECT task_type, model_profile, count(*)::int AS n,
              count(*) FILTER (WHERE run_after <= now())::int AS ready
       FROM ai_jobs WHERE status = 'pending' GROUP BY 1, 2
     ), running AS (
       SELECT task_type, model_profile, count(*)::int AS n, coalesce(sum(token_cost), 0)::bigint AS reserved
       FROM ai_jobs WHERE status = 'running' GROUP BY 1, 2
     ), live AS (
       SELECT task_types, model_profiles FROM ai_workers
       WHERE last_seen > now() - make_interval(secs => $2::double precision / 1000)
     ), pairs AS (
       SELECT p.*, NOT EXISTS (
         SELECT 1 FROM live w
         WHERE (cardinality(w.task_types) = 0 OR p.task_type = ANY(w.task_types))
           AND (cardinality(w.model_profiles) = 0 OR p.model_profile = ANY(w.model_profiles))
       ) AS unserved
       FROM pending p
     ), per_group AS (
       SELECT g, sum(backlog)::int AS backlog, sum(ready)::int AS ready, sum(running)::int AS running,
              sum(reserved)::bigint AS reserved, sum(unserved)::int AS unserved
       FROM (
         SELECT 'model_profile:' || model_profile AS g, n AS backlog, ready, 0 AS running, 0 AS reserved,
                CASE WHEN unserved THEN n ELSE 0 END AS unserved FROM pairs
         UNION ALL
         SELECT 'task_type:' || task_type, n, ready, 0, 0, CASE WHEN unserved THEN n ELSE 0 END FROM pairs
         UNION ALL
         SELECT 'model_profile:' || model_profile, 0, 0, n, reserved, 0 FROM running
         UNION ALL
         SELECT 'task_type:' || task_type, 0, 0, n, 0, 0 FROM running
       ) x GROUP BY g
     ), groups AS (
       SELECT g FROM per_group
       UNION SELECT jsonb_object_keys($1::jsonb -> 'limits')
       UNION SELECT 'model_profile:' || jsonb_object_keys($1::jsonb -> 'budgets')
       UNION SELECT scope || ':' || name FROM ai_queues
     )
     SELECT groups.g, q.max_running AS q_limit, q.token_budget AS q_budget, q.paused, q.drain,
            q.paused_reason, q.paused_by, q.paused_at,
            coalesce(pg.backlog, 0) AS backlog, coalesce(pg.ready, 0) AS ready,
            coalesce(pg.running, 0) AS running, coalesce(pg.reserved, 0)::float8 AS reserved,
            coalesce(pg.unserved, 0) AS unserved
     FROM groups
     LEFT JOIN per_group pg ON pg.g = groups.g
     LEFT JOIN ai_queues q ON q.scope || ':' || q.name = groups.g
     ORDER BY groups.g`,
    [JSON.stringify(policy), liveWindowMs],
  );
  return r.rows.map((row) => {
    const colon = row.g.indexOf(':');
    const scope = row.g.slice(0, colon) as QueueScope;
    const name = row.g.slice(colon + 1);
    const cfgLimit = policy.limits[groupKey(scope, name)];
    const cfgBudget = scope === 'model_profile' ? policy.budgets[name] : undefined;
    const limit = row.q_limit ?? cfgLimit ?? null;
    const budget = row.q_budget ?? cfgBudget ?? null;
    return {
      scope,
      name,
      state: row.paused ? 'paused' : 'active',
      paused: row.paused
        ? {
            reason: row.paused_reason,
            by: row.paused_by,
            at: row.paused_at ? new Date(row.paused_at).toISOString() : null,
            drain: row.drain ?? true,
          }
        : null,
      limit,
      limit_source: row.q_limit !== null ? 'runtime' : cfgLimit !== undefined ? 'config' : null,
      token_budget: budget,
      token_budget_source: row.q_budget !== null ? 'runtime' : cfgBudget !== undefined ? 'config' : null,
      backlog: row.backlog,
      ready: row.ready,
      running: row.running,
      reserved_tokens: Number(row.reserved),
      unserved: row.unserved,
    };
  });
}
