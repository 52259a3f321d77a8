// Housekeeping run by the lease reaper (CronJob, platform cron, or the built-in worker):
// reap expired leases and prune old terminal jobs. Both work in bounded batches with
// SKIP LOCKED so they never block workers, and re-check their condition on the locked
// row so a job that moved on meanwhile is left alone.
import type { Queryable } from '../db/port.ts';
import { BACKOFF_MS_SQL } from './lease.ts';
import { announceFinished } from './notify.ts';

const REAP = announceFinished(
  `UPDATE ai_jobs AS j SET
  status = CASE WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END,
  run_after = CASE WHEN attempts < max_attempts
              THEN now() + make_interval(secs => ${BACKOFF_MS_SQL('NULL')} / 1000) ELSE run_after END,
  finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END,
  error_category = 'timeout',
  error_message = 'lease expired: worker ' || coalesce(worker_id, '?') || ' stopped heartbeating',
  lease_expires_at = NULL, updated_at = now()
FROM expired
WHERE j.id = expired.id AND j.status = 'running' AND j.lease_expires_at < now()
RETURNING j.id, j.status`,
  {
    ctes: `expired AS (
  SELECT id FROM ai_jobs
  WHERE status = 'running' AND lease_expires_at < now()
  ORDER BY lease_expires_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)`,
    select: 'u.id, u.status',
  },
);

export interface ReapResult {
  requeued: number;
  failed: number;
  ids: string[];
}

export async function reapExpiredLeases(db: Queryable, batch = 500, maxBatches = 100): Promise<ReapResult> {
  const out: ReapResult = { requeued: 0, failed: 0, ids: [] };
  for (let i = 0; i < maxBatches; i++) {
    const r = await db.query<{ id: string; status: string }>(REAP, [batch]);
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
    AND status IN ('completed', 'failed', 'cancelled')
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
    const r = await db.query(PRUNE, [retentionMs, batch]);
    deleted += r.rowCount;
    if (r.rowCount < batch) break;
  }
  return deleted;
}
