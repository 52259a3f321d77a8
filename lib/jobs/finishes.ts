// The per-minute rollup of finished jobs (migration 013, table ai_job_finishes): what its
// readers share, and its retention. Triggers on ai_jobs keep it equal to counting ai_jobs
// by the minute of finished_at (every insert, update, delete and truncate is applied), so a
// reader sums whole minutes here and reads only the window's ragged edge (< 1 minute)
// from ai_jobs. Each session writes its own rows (shard = backend pid): readers sum over
// shards, and a group whose jobs net to 0 (finished, then retried) is no group at all.
import type { Queryable } from '../db/port.ts';

/** Minutes older than this are deleted (the longest window read is 7 days). */
export const FINISH_ROLLUP_RETENTION_MS = 8 * 86_400_000;

const MINUTE_MS = 60_000;
/** The first whole minute strictly after `ms`: the window (ms, …] is rolled up from there. */
export const minuteAfter = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS + MINUTE_MS;

// Bounded and by the primary key's leading column: old minutes are a range at its start.
const PRUNE = `
DELETE FROM ai_job_finishes WHERE ctid IN (
  SELECT ctid FROM ai_job_finishes WHERE minute < now() - make_interval(secs => $1::double precision / 1000)
  LIMIT $2
)`;

/** Deletes minutes older than `retentionMs`, `batch` rows per statement. Returns the count. */
export async function pruneFinishRollup(
  db: Queryable,
  retentionMs = FINISH_ROLLUP_RETENTION_MS,
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
