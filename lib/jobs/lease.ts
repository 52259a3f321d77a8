// The lease holder's calls: heartbeat, complete, fail, release. Each is one UPDATE
// fenced by `status = 'running' AND lease_token = … AND worker_id = …`, so a worker whose
// lease was reaped, retried or cancelled matches nothing and learns it (lease_lost)
// instead of overwriting the newer state.
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { type FailureCategory, isRetryable } from './categories.ts';
import { announceFinished } from './notify.ts';
import type { JobRow } from './row.ts';
import { BACKOFF } from './transitions.ts';

export interface LeaseRef {
  id: string;
  workerId: string;
  leaseToken: string;
}

const FENCE = `id = $1 AND status = 'running' AND lease_token = $2 AND worker_id = $3`;
const ELAPSED_MS = `(extract(epoch FROM (now() - started_at)) * 1000)::int`;

/** Explains why a fenced update matched nothing, or returns the row for an idempotent replay. */
async function refuse(db: Queryable, ref: LeaseRef, replayStatus: JobRow['status'] | null): Promise<JobRow> {
  const r = await db.query<JobRow>('SELECT * FROM ai_jobs WHERE id = $1', [ref.id]);
  const row = r.rows[0];
  if (!row) throw new AppError('not_found', `job ${ref.id} not found`);
  // The same lease holder repeating a call whose answer it lost (network blip) gets the
  // same answer, not an error.
  if (
    replayStatus &&
    row.status === replayStatus &&
    row.lease_token === ref.leaseToken &&
    row.worker_id === ref.workerId
  )
    return row;
  throw new AppError('lease_lost', `the lease on job ${ref.id} is no longer held by this worker`, {
    status: row.status,
  });
}

/**
 * Extends the lease by `leaseMs`, or by the length chosen at claim (ai_jobs.lease_ms).
 * A job whose model_profile or task_type was paused with `drain: false` is released
 * instead (pending again, its order and attempt kept) and the holder gets lease_lost.
 */
export async function heartbeat(db: Queryable, ref: LeaseRef, leaseMs?: number): Promise<JobRow> {
  const r = await db.query<JobRow & { released: boolean }>(
    `WITH stop AS (
       SELECT EXISTS (
         SELECT 1 FROM ai_jobs j JOIN ai_queues q
           ON q.paused AND NOT q.drain
          AND ((q.scope = 'model_profile' AND q.name = j.model_profile) OR (q.scope = 'task_type' AND q.name = j.task_type))
         WHERE j.id = $1) AS released
     )
     UPDATE ai_jobs SET
       status = CASE WHEN stop.released THEN 'pending' ELSE status END,
       attempts = CASE WHEN stop.released THEN GREATEST(attempts - 1, 0) ELSE attempts END,
       started_at = CASE WHEN stop.released THEN NULL ELSE started_at END,
       lease_expires_at = CASE WHEN stop.released THEN NULL
         ELSE now() + make_interval(secs => coalesce($4::double precision, lease_ms, 900000) / 1000) END,
       updated_at = now()
     FROM stop
     WHERE ${FENCE} RETURNING ai_jobs.*, stop.released`,
    [ref.id, ref.leaseToken, ref.workerId, leaseMs ?? null],
  );
  const row = r.rows[0];
  if (!row) return refuse(db, ref, null);
  const { released, ...job } = row;
  if (released)
    throw new AppError('lease_lost', `job ${ref.id} was released: its queue is paused`, {
      status: 'pending',
      reason: 'paused',
    });
  return job;
}

const COMPLETE_SET = `status = 'completed', lease_expires_at = NULL, finished_at = now(), updated_at = now(),
  duration_ms = ${ELAPSED_MS}, error_category = NULL, error_message = NULL`;

export async function completeJob(
  db: Queryable,
  ref: LeaseRef,
  result: Record<string, unknown>,
): Promise<JobRow> {
  const r = await db.query<JobRow>(
    announceFinished(`UPDATE ai_jobs SET ${COMPLETE_SET}, result = $4::jsonb WHERE ${FENCE} RETURNING *`),
    [ref.id, ref.leaseToken, ref.workerId, JSON.stringify(result)],
  );
  return r.rows[0] ?? refuse(db, ref, 'completed');
}

/**
 * Completes many jobs in one statement (the built-in runner batches its completions).
 * Each row is fenced exactly like completeJob; returns the ids that were accepted.
 */
export async function completeMany(
  db: Queryable,
  items: readonly (LeaseRef & { result: Record<string, unknown> })[],
): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const payload = JSON.stringify(
    items.map((i) => ({ id: i.id, lease_token: i.leaseToken, worker_id: i.workerId, result: i.result })),
  );
  const r = await db.query<{ id: string }>(
    announceFinished(
      `UPDATE ai_jobs AS j SET status = 'completed', lease_expires_at = NULL, finished_at = now(), updated_at = now(),
              duration_ms = (extract(epoch FROM (now() - j.started_at)) * 1000)::int,
              error_category = NULL, error_message = NULL, result = x.result
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, lease_token uuid, worker_id text, result jsonb)
       WHERE j.id = x.id AND j.status = 'running' AND j.lease_token = x.lease_token AND j.worker_id = x.worker_id
       RETURNING j.id, j.status`,
      { select: 'u.id' },
    ),
    [payload],
  );
  return new Set(r.rows.map((x) => x.id));
}

export interface FailRequest {
  category: FailureCategory;
  message?: string;
  retryAfterMs?: number;
  result?: Record<string, unknown>;
}

/** Stored messages are bounded; NULs would be refused by PostgreSQL. */
export const cleanMessage = (m: string | undefined): string | null =>
  m === undefined ? null : m.replaceAll(String.fromCharCode(0), '').slice(0, 2000);

// Retryable and attempts left → pending after max(retry_after, backoff·jitter);
// otherwise failed. `attempts` already counts the attempt that is failing.
const RETRY_IF = `($4::boolean AND attempts < max_attempts)`;
export const BACKOFF_MS_SQL = (retryAfterParam: string) =>
  `GREATEST(coalesce(${retryAfterParam}::double precision, 0),
     LEAST(${BACKOFF.capMs}::double precision, ${BACKOFF.baseMs} * power(2, GREATEST(attempts - 1, 0)))
     * (0.5 + random() / 2))`;

export async function failJob(db: Queryable, ref: LeaseRef, req: FailRequest): Promise<JobRow> {
  const r = await db.query<JobRow>(
    announceFinished(`UPDATE ai_jobs SET
       status = CASE WHEN ${RETRY_IF} THEN 'pending' ELSE 'failed' END,
       run_after = CASE WHEN ${RETRY_IF}
                   THEN now() + make_interval(secs => ${BACKOFF_MS_SQL('$7')} / 1000) ELSE run_after END,
       finished_at = CASE WHEN ${RETRY_IF} THEN NULL ELSE now() END,
       lease_expires_at = NULL, error_category = $5, error_message = $6,
       result = coalesce($8::jsonb, result), duration_ms = ${ELAPSED_MS}, updated_at = now()
     WHERE ${FENCE} RETURNING *`),
    [
      ref.id,
      ref.leaseToken,
      ref.workerId,
      isRetryable(req.category),
      req.category,
      cleanMessage(req.message),
      req.retryAfterMs ?? null,
      req.result ? JSON.stringify(req.result) : null,
    ],
  );
  return r.rows[0] ?? refuse(db, ref, null);
}

/** Gives a job back untouched (graceful shutdown): pending again, the attempt refunded. */
export async function releaseJob(db: Queryable, ref: LeaseRef): Promise<JobRow | null> {
  const r = await db.query<JobRow>(
    `UPDATE ai_jobs SET status = 'pending', attempts = GREATEST(attempts - 1, 0), lease_expires_at = NULL,
            run_after = now(), started_at = NULL, updated_at = now()
     WHERE ${FENCE} RETURNING *`,
    [ref.id, ref.leaseToken, ref.workerId],
  );
  return r.rows[0] ?? null;
}
