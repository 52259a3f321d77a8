// Housekeeping run by the lease reaper (CronJob, platform cron, or the built-in worker):
// reap expired leases and prune old terminal jobs. Both work in bounded batches with
// SKIP LOCKED so they never block workers, and re-check their condition on the locked
// row so a job that moved on meanwhile is left alone. reapOnce is the one run and the
// one summary every caller reports.
import { type Clock, systemClock } from '../clock.ts';
import type { Queryable } from '../db/port.ts';
import { pruneFinishRollup } from './finishes.ts';
import { BACKOFF, TERMINAL_STATUSES, TRANSITIONS } from './transitions.ts';

// The attempt ends as `timeout`: back to pending with the same backoff as a retryable
// fail, or failed at max_attempts (then announced on ai_jobs_finished). `status =
// 'running'` is written out in `expired` so the planner serves it from the partial index
// ai_jobs_lease_idx; the UPDATE re-checks the row with the transition's guard ($2).
const REAP = `
WITH expired AS (
  SELECT id FROM ai_jobs
  WHERE status = 'running' AND lease_expires_at < now()
  ORDER BY lease_expires_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
), reaped AS (
  UPDATE ai_jobs AS j SET
    status = CASE WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END,
    run_after = CASE WHEN attempts < max_attempts
                THEN now() + make_interval(secs =>
                       LEAST($5::double precision, $4 * power(2, GREATEST(attempts - 1, 0)))
                         * (0.5 + random() / 2) / 1000)
                ELSE run_after END,
    finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END,
    error_category = 'timeout',
    error_message = 'lease expired: worker ' || coalesce(worker_id, '?') || ' stopped heartbeating',
    lease_expires_at = NULL, updated_at = now()
  FROM expired
  WHERE j.id = expired.id AND j.status = ANY($2::text[]) AND j.lease_expires_at < now()
  RETURNING j.id, j.status
), announced AS MATERIALIZED (
  SELECT ai_jobs_notify_finished(array_agg(id)) FROM reaped WHERE status = ANY($3::text[])
)
SELECT reaped.id, reaped.status FROM reaped, announced`;

export interface ReapResult {
  requeued: number;
  failed: number;
  ids: string[];
}

export async function reapExpiredLeases(db: Queryable, batch = 500, maxBatches = 100): Promise<ReapResult> {
  const out: ReapResult = { requeued: 0, failed: 0, ids: [] };
  for (let i = 0; i < maxBatches; i++) {
    const r = await db.query<{ id: string; status: string }>(REAP, [
      batch,
      TRANSITIONS.reap.from,
      TERMINAL_STATUSES,
      BACKOFF.baseMs,
      BACKOFF.capMs,
    ]);
    for (const row of r.rows) {
      out.ids.push(row.id);
      if (row.status === 'pending') out.requeued++;
      else out.failed++;
    }
    if (r.rows.length < batch) break;
  }
  return out;
}

const PRUNE = `
DELETE FROM ai_jobs WHERE id IN (
  SELECT id FROM ai_jobs
  WHERE finished_at < now() - make_interval(secs => $1::double precision / 1000)
    AND status = ANY($3::text[])
  ORDER BY finished_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)`;

export async function pruneFinished(
  db: Queryable,
  retentionMs: number,
  batch = 5000,
  maxBatches = 100,
): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < maxBatches; i++) {
    const r = await db.query(PRUNE, [retentionMs, batch, TRANSITIONS.prune.from]);
    deleted += r.rowCount;
    if (r.rowCount < batch) break;
  }
  return deleted;
}

/** What one reaper run did: the figures the API answers, the worker logs and metrics count. */
export interface ReapSummary {
  requeued: number;
  failed: number;
  pruned: number;
  duration_ms: number;
}

/**
 * One reap and, when `retentionMs` is given, one prune (of old jobs, and of the per-minute
 * rollup's minutes past its own retention). Throws on database errors.
 */
export async function reapOnce(
  db: Queryable,
  opts: { retentionMs?: number; clock?: Clock } = {},
): Promise<ReapSummary> {
  const clock = opts.clock ?? systemClock;
  const t0 = clock.now();
  // The three touch disjoint rows (running jobs; terminal jobs older than the retention;
  // rollup minutes past theirs), so they run side by side: on a pool, one round trip of
  // waiting instead of three (on one connection they simply queue, in this order).
  const retention = opts.retentionMs;
  const [reaped, pruned] = await Promise.all([
    reapExpiredLeases(db),
    retention === undefined ? 0 : pruneFinished(db, retention),
    retention === undefined ? undefined : pruneFinishRollup(db),
  ]);
  return {
    requeued: reaped.requeued,
    failed: reaped.failed,
    pruned,
    duration_ms: Math.round(clock.now() - t0),
  };
}
