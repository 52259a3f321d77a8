// failMany: records many failed attempts in one statement, the fail half of the worker's
// outcome batcher (completeMany in lease.ts is the other half). Each row is fenced exactly
// like failJob (`status = 'running'` and the lease holder's token and worker id), and
// follows the same rules: a retryable category with attempts left goes back to pending
// after max(retry_after, backoff·jitter), anything else is failed for good; `attempts`
// already counts the attempt that is failing. Jobs that end (failed) are announced on
// ai_jobs_finished from inside the statement, as every ending statement does (notify.ts).
import type { Queryable } from '../db/port.ts';
import { type FailureCategory, isRetryable } from './categories.ts';
import { cleanMessage, type FailRequest, type LeaseRef } from './lease.ts';
import { BACKOFF } from './transitions.ts';

export interface FailItem extends LeaseRef {
  readonly failure: FailRequest;
}

export interface FailedRow {
  id: string;
  status: 'pending' | 'failed';
  run_after: Date;
}

// $1: the rows as JSON; $2, $3: BACKOFF.baseMs and BACKOFF.capMs (transitions.ts), the
// same backoff failJob and the reaper use.
const FAIL_MANY = `
WITH x AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    id uuid, lease_token uuid, worker_id text, retry boolean,
    category text, message text, retry_after_ms double precision, result jsonb)
), u AS (
  UPDATE ai_jobs AS j SET
    status = CASE WHEN x.retry AND j.attempts < j.max_attempts THEN 'pending' ELSE 'failed' END,
    run_after = CASE WHEN x.retry AND j.attempts < j.max_attempts
                THEN now() + make_interval(secs => GREATEST(
                       coalesce(x.retry_after_ms, 0),
                       LEAST($3::double precision, $2::double precision * power(2, GREATEST(j.attempts - 1, 0)))
                       * (0.5 + random() / 2)) / 1000)
                ELSE j.run_after END,
    finished_at = CASE WHEN x.retry AND j.attempts < j.max_attempts THEN NULL ELSE now() END,
    lease_expires_at = NULL, error_category = x.category, error_message = x.message,
    result = coalesce(x.result, j.result),
    duration_ms = (extract(epoch FROM (now() - j.started_at)) * 1000)::int, updated_at = now()
  FROM x
  WHERE j.id = x.id AND j.status = 'running' AND j.lease_token = x.lease_token AND j.worker_id = x.worker_id
  RETURNING j.id, j.status, j.run_after
), n AS MATERIALIZED (
  SELECT ai_jobs_notify_finished(array_agg(id)) FROM u WHERE status IN ('completed', 'failed', 'cancelled')
)
SELECT u.id, u.status, u.run_after FROM u, n`;

/**
 * Fails many jobs in one statement (the built-in runner batches its failures); returns the
 * rows that were accepted, by id. A row missing from the answer matched no fence: its lease
 * is gone (or, after an outage, an earlier write of ours landed); failJob tells which.
 */
export async function failMany(db: Queryable, items: readonly FailItem[]): Promise<Map<string, FailedRow>> {
  if (items.length === 0) return new Map();
  const payload = JSON.stringify(
    items.map((i) => ({
      id: i.id,
      lease_token: i.leaseToken,
      worker_id: i.workerId,
      retry: isRetryable(i.failure.category satisfies FailureCategory),
      category: i.failure.category,
      message: cleanMessage(i.failure.message),
      retry_after_ms: i.failure.retryAfterMs ?? null,
      result: i.failure.result ?? null,
    })),
  );
  const r = await db.query<FailedRow>(FAIL_MANY, [payload, BACKOFF.baseMs, BACKOFF.capMs]);
  return new Map(r.rows.map((row) => [row.id, row]));
}
