// The deferred transcription comparison's reads and writes (issue 12; migration 006).
// A `transcribe_compare` job (parent_id = the transcript's job, input.attempt = the index
// of its entry in the parent's result.attempts) runs one provider after the transcript was
// delivered. Its worker:
//   1. reads the parent's input (the audio) and its attempts (loadComparison);
//   2. transcribes;
//   3. records the transcript in the parent's attempts[i] (recordComparison): one
//      transaction that locks the parent row, so two comparisons of one transcript finishing
//      together see each other's text and store the agreement of every pair.
// The parent's status, finished_at and updated_at never change: the transcript is not
// reopened, and nothing is announced on ai_jobs_finished for it again.
// A comparison that ends failed or cancelled is recorded by the trigger of migration 006,
// whatever ended it (final failure, retries exhausted by the reaper, cancel).
import type { Db } from '../db/port.ts';
import type { LeaseRef } from './lease.ts';

export const COMPARE_TASK_TYPE = 'transcribe_compare';

export interface ComparisonTarget {
  parentId: string;
  /** Index of this comparison's entry in the parent's result.attempts. */
  index: number;
  /** The parent's input: where the audio is. */
  input: Record<string, unknown>;
  /** The parent's result.attempts as stored now. */
  attempts: Record<string, unknown>[];
}

const LOAD = `
SELECT p.id AS parent_id, (c.input->>'attempt')::int AS index, p.input, p.result->'attempts' AS attempts
FROM ai_jobs c JOIN ai_jobs p ON p.id = c.parent_id
WHERE c.id = $1`;

/** The comparison's parent and entry; null when the parent is gone (pruned) or has no attempts. */
export async function loadComparison(db: Db, comparisonId: string): Promise<ComparisonTarget | null> {
  const r = await db.query<{
    parent_id: string;
    index: number | null;
    input: Record<string, unknown>;
    attempts: Record<string, unknown>[] | null;
  }>(LOAD, [comparisonId]);
  const row = r.rows[0];
  if (!row || row.index === null || !Array.isArray(row.attempts)) return null;
  return { parentId: row.parent_id, index: row.index, input: row.input, attempts: row.attempts };
}

const LOCK_PARENT = `SELECT result->'attempts' AS attempts FROM ai_jobs WHERE id = $1 FOR UPDATE`;

// Guarded twice: the entry must still be pending (a comparison re-run after a crash, or
// one whose entry the failure trigger already wrote, changes nothing), and the comparison
// job must still be leased to this worker (a stale run whose lease was reaped writes nothing).
const RECORD = `
UPDATE ai_jobs AS p
SET result = p.result || jsonb_build_object('attempts', $2::jsonb, 'comparison', $3::text)
WHERE p.id = $1
  AND p.result->'attempts'->($4::int)->>'status' = 'pending'
  AND EXISTS (SELECT 1 FROM ai_jobs c
              WHERE c.id = $5 AND c.status = 'running' AND c.lease_token = $6 AND c.worker_id = $7)`;

export type RecordOutcome = 'recorded' | 'not_pending' | 'lease_lost' | 'parent_gone';

/**
 * Stores this comparison's outcome in the parent's attempts. `merge` gets the attempts
 * as they are under the row lock and returns the new array and comparison state (it
 * computes the agreements; called only when the entry is still pending).
 */
export async function recordComparison(
  db: Db,
  lease: LeaseRef,
  target: { parentId: string; index: number },
  merge: (attempts: Record<string, unknown>[]) => { attempts: unknown[]; comparison: string },
): Promise<RecordOutcome> {
  return db.transaction(async (tx) => {
    const locked = await tx.query<{ attempts: Record<string, unknown>[] | null }>(LOCK_PARENT, [
      target.parentId,
    ]);
    const attempts = locked.rows[0]?.attempts;
    if (!locked.rows[0] || !Array.isArray(attempts)) return 'parent_gone';
    if (attempts[target.index]?.['status'] !== 'pending') return 'not_pending';
    const next = merge(attempts);
    const r = await tx.query(RECORD, [
      target.parentId,
      JSON.stringify(next.attempts),
      next.comparison,
      target.index,
      lease.id,
      lease.leaseToken,
      lease.workerId,
    ]);
    return r.rowCount === 1 ? 'recorded' : 'lease_lost';
  });
}
