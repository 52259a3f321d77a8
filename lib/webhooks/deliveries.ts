// The webhook deliveries repository (migration 007): claim the due ones, record each
// attempt's outcome, read a job's deliveries. Rows are written by the trigger that fires
// when a job with a webhook_url ends; nothing here touches ai_jobs.

import type { Queryable } from '../db/port.ts';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryAttempt {
  at: string;
  /** HTTP status, null when no response arrived (timeout, refused, guard). */
  status: number | null;
  latency_ms: number;
  error: string | null;
  /** The first bytes of the response body, for the operator. */
  response: string | null;
}

export interface DeliveryRow {
  id: string;
  job_id: string;
  owner_service: string;
  event: 'completed' | 'failed' | 'cancelled';
  url: string;
  job: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  created_at: Date;
  finished_at: Date | null;
  log: DeliveryAttempt[];
}

// Due deliveries, oldest first; SKIP LOCKED so dispatchers in several workers (and a
// reap run) never take the same one. Moving next_attempt_at past the send timeout is the
// claim's lock: if this dispatcher dies, the delivery is due again after it.
const CLAIM_DUE = `
UPDATE ai_webhook_deliveries AS d
SET attempts = d.attempts + 1,
    next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
FROM (
  SELECT id FROM ai_webhook_deliveries
  WHERE status = 'pending' AND next_attempt_at <= now()
  ORDER BY next_attempt_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
) AS due
WHERE d.id = due.id
RETURNING d.*`;

export async function claimDueDeliveries(
  db: Queryable,
  limit: number,
  lockMs: number,
): Promise<DeliveryRow[]> {
  const r = await db.query<DeliveryRow>(CLAIM_DUE, [limit, lockMs]);
  return r.rows;
}

// One attempt's outcome, fenced by the attempt number so a dispatcher whose lock ran out
// (and whose delivery another dispatcher re-sent) cannot overwrite the newer outcome.
// retry_in_ms NULL: final (delivered or given up); otherwise pending again after it.
const RECORD = `
UPDATE ai_webhook_deliveries
SET status = $3,
    next_attempt_at = CASE WHEN $3 = 'pending'
                      THEN now() + make_interval(secs => $4::double precision / 1000)
                      ELSE next_attempt_at END,
    finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END,
    log = (CASE WHEN jsonb_array_length(log) >= 50 THEN log - 0 ELSE log END) || jsonb_build_array($5::jsonb)
WHERE id = $1 AND attempts = $2 AND status = 'pending'
RETURNING id`;

export async function recordAttempt(
  db: Queryable,
  d: Pick<DeliveryRow, 'id' | 'attempts'>,
  outcome: { status: DeliveryStatus; retryInMs?: number; attempt: DeliveryAttempt },
): Promise<boolean> {
  const r = await db.query(RECORD, [
    d.id,
    d.attempts,
    outcome.status,
    outcome.retryInMs ?? null,
    JSON.stringify(outcome.attempt),
  ]);
  return r.rowCount > 0;
}

const FOR_JOB = `
SELECT id, event, url, status, attempts, next_attempt_at, created_at, finished_at, log
FROM ai_webhook_deliveries WHERE job_id = $1 ORDER BY id`;

export type DeliveryView = Omit<DeliveryRow, 'job_id' | 'owner_service' | 'job'>;

export async function deliveriesOfJob(db: Queryable, jobId: string): Promise<DeliveryView[]> {
  const r = await db.query<DeliveryView>(FOR_JOB, [jobId]);
  return r.rows;
}
