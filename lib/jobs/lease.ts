// The lease holder's calls: heartbeat, complete, fail, release. Each is one UPDATE
// fenced by `id, lease_token, worker_id` and the transition's "from" states
// (TRANSITIONS), so a worker whose lease was reaped, retried or cancelled matches nothing
// and learns it (lease_lost) instead of overwriting the newer state. The statements that
// end a job also announce it on ai_jobs_finished (migration 003's
// ai_jobs_notify_finished), inside the same statement: the NOTIFY goes out on commit.
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { type FailureCategory, isRetryable } from './categories.ts';
import type { JobRow } from './row.ts';
import { BACKOFF, type JobStatus, TERMINAL_STATUSES, TRANSITIONS } from './transitions.ts';

export interface LeaseRef {
  id: string;
  workerId: string;
  leaseToken: string;
}

/** Does `row` still carry this holder's lease token and worker id? */
export const holds = (row: Pick<JobRow, 'lease_token' | 'worker_id'>, ref: LeaseRef) =>
  row.lease_token === ref.leaseToken && row.worker_id === ref.workerId;

// Rows returned for a replay rather than written now: the answer is the same, but a
// caller counting outcomes (metrics) must not count the job twice.
const replays = new WeakSet<JobRow>();
/** True when `row` answered a repeated complete/fail (nothing was written this time). */
export const wasReplay = (row: JobRow): boolean => replays.has(row);

/**
 * Explains why a fenced update matched nothing — or, when `isReplay` recognises the row as
 * the outcome of this very holder's earlier call (its answer was lost), returns it: the
 * same holder repeating a call gets the same answer, not an error.
 */
async function refuse(db: Queryable, ref: LeaseRef, isReplay: (row: JobRow) => boolean): Promise<JobRow> {
  const r = await db.query<JobRow>('SELECT * FROM ai_jobs WHERE id = $1', [ref.id]);
  const row = r.rows[0];
  if (!row) throw new AppError('not_found', `job ${ref.id} not found`);
  if (isReplay(row)) {
    replays.add(row);
    return row;
  }
  throw new AppError('lease_lost', `the lease on job ${ref.id} is no longer held by this worker`, {
    status: row.status,
  });
}

const never = () => false;

// Extends the lease by $4, or by the length last granted (ai_jobs.lease_ms: set at claim,
// replaced by a heartbeat that names one). A job
// whose model_profile or task_type was paused with `drain: false` is released instead
// (pending again, its order and attempt kept) and the holder learns lease_lost.
const HEARTBEAT = `
WITH stop AS (
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
  -- A heartbeat that names a length makes it the job's lease from then on.
  lease_ms = coalesce($4::integer, lease_ms),
  updated_at = now()
FROM stop
WHERE ai_jobs.id = $1 AND ai_jobs.lease_token = $2 AND ai_jobs.worker_id = $3 AND ai_jobs.status = ANY($5::text[])
RETURNING ai_jobs.*, stop.released`;

export async function heartbeat(db: Queryable, ref: LeaseRef, leaseMs?: number): Promise<JobRow> {
  const r = await db.query<JobRow & { released: boolean }>(HEARTBEAT, [
    ref.id,
    ref.leaseToken,
    ref.workerId,
    leaseMs ?? null,
    TRANSITIONS.heartbeat.from,
  ]);
  const row = r.rows[0];
  if (!row) return refuse(db, ref, never);
  const { released, ...job } = row;
  if (released)
    throw new AppError('lease_lost', `job ${ref.id} was released: its queue is paused`, {
      status: 'pending',
      reason: 'paused',
    });
  return job;
}

const COMPLETE = `
WITH completed AS (
  UPDATE ai_jobs SET status = 'completed', result = $4::jsonb, lease_expires_at = NULL,
         finished_at = now(), updated_at = now(),
         duration_ms = (extract(epoch FROM (now() - started_at)) * 1000)::int,
         error_category = NULL, error_message = NULL
  WHERE id = $1 AND lease_token = $2 AND worker_id = $3 AND status = ANY($5::text[])
  RETURNING *
), announced AS MATERIALIZED (
  SELECT ai_jobs_notify_finished(array_agg(id)) FROM completed
)
SELECT completed.* FROM completed, announced`;

export async function completeJob(
  db: Queryable,
  ref: LeaseRef,
  result: Record<string, unknown>,
): Promise<JobRow> {
  const r = await db.query<JobRow>(COMPLETE, [
    ref.id,
    ref.leaseToken,
    ref.workerId,
    JSON.stringify(result),
    TRANSITIONS.complete.from,
  ]);
  // Only this holder's complete leaves the job completed under its lease token.
  return r.rows[0] ?? refuse(db, ref, (row) => row.status === 'completed' && holds(row, ref));
}

const COMPLETE_MANY = `
WITH completed AS (
  UPDATE ai_jobs AS j SET status = 'completed', result = x.result, lease_expires_at = NULL,
         finished_at = now(), updated_at = now(),
         duration_ms = (extract(epoch FROM (now() - j.started_at)) * 1000)::int,
         error_category = NULL, error_message = NULL
  FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, lease_token uuid, worker_id text, result jsonb)
  WHERE j.id = x.id AND j.lease_token = x.lease_token AND j.worker_id = x.worker_id
    AND j.status = ANY($2::text[])
  RETURNING j.id
), announced AS MATERIALIZED (
  SELECT ai_jobs_notify_finished(array_agg(id)) FROM completed
)
SELECT completed.id FROM completed, announced`;

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
  const r = await db.query<{ id: string }>(COMPLETE_MANY, [payload, TRANSITIONS.complete.from]);
  return new Set(r.rows.map((x) => x.id));
}

export interface FailRequest {
  category: FailureCategory;
  message?: string;
  retryAfterMs?: number;
  result?: Record<string, unknown>;
}

/**
 * Stored messages are bounded. The HTTP routes refuse NUL with a 400 (the wire schema);
 * the worker's own failures carry provider text, which may hold anything, so NUL is
 * dropped here rather than turning a provider's garbage into a database error.
 */
export const cleanMessage = (m: string | undefined): string | null =>
  m === undefined ? null : m.replaceAll(String.fromCharCode(0), '').slice(0, 2000);

// Retryable ($4) and attempts left → pending after max(retry_after, backoff·jitter);
// otherwise failed. `attempts` already counts the attempt that is failing. The lease
// token and worker stay on the row: they are how a replay of this call is recognised.
const FAIL = `
WITH failed AS (
  UPDATE ai_jobs SET
    status = CASE WHEN $4::boolean AND attempts < max_attempts THEN 'pending' ELSE 'failed' END,
    run_after = CASE WHEN $4::boolean AND attempts < max_attempts
                THEN now() + make_interval(secs => GREATEST(
                       coalesce($7::double precision, 0),
                       LEAST($12::double precision, $11 * power(2, GREATEST(attempts - 1, 0)))
                         * (0.5 + random() / 2)) / 1000)
                ELSE run_after END,
    finished_at = CASE WHEN $4::boolean AND attempts < max_attempts THEN NULL ELSE now() END,
    lease_expires_at = NULL, error_category = $5, error_message = $6,
    result = coalesce($8::jsonb, result),
    duration_ms = (extract(epoch FROM (now() - started_at)) * 1000)::int, updated_at = now()
  WHERE id = $1 AND lease_token = $2 AND worker_id = $3 AND status = ANY($9::text[])
  RETURNING *
), announced AS MATERIALIZED (
  SELECT ai_jobs_notify_finished(array_agg(id)) FROM failed WHERE status = ANY($10::text[])
)
SELECT failed.* FROM failed, announced`;

export async function failJob(db: Queryable, ref: LeaseRef, req: FailRequest): Promise<JobRow> {
  const retryable = isRetryable(req.category);
  const r = await db.query<JobRow>(FAIL, [
    ref.id,
    ref.leaseToken,
    ref.workerId,
    retryable,
    req.category,
    cleanMessage(req.message),
    req.retryAfterMs ?? null,
    req.result ? JSON.stringify(req.result) : null,
    TRANSITIONS.fail.from,
    TERMINAL_STATUSES,
    BACKOFF.baseMs,
    BACKOFF.capMs,
  ]);
  return r.rows[0] ?? refuse(db, ref, (row) => isFailReplay(row, ref, req.category, retryable));
}

/**
 * Is `row` what this holder's fail with `category` left behind? Both outcomes keep the
 * lease token and worker, so the token alone is not enough: a reaped job is also pending
 * (or failed) under the old token. The row must also hold this category, in a state the
 * category leads to (final → failed; retryable → pending, or failed at max_attempts).
 * A claim by anyone else replaces the token, retry clears it, cancel changes the status:
 * after any of those the old holder is refused. The one look-alike — the reaper ended
 * the attempt as `timeout` and the holder now reports `timeout` — is the same outcome.
 */
export function isFailReplay(
  row: Pick<JobRow, 'lease_token' | 'worker_id' | 'error_category' | 'status'>,
  ref: LeaseRef,
  category: FailureCategory,
  retryable: boolean,
): boolean {
  const outcomes: readonly JobStatus[] = retryable ? TRANSITIONS.fail.to : ['failed'];
  return holds(row, ref) && row.error_category === category && outcomes.includes(row.status);
}

const RELEASE = `
UPDATE ai_jobs SET status = 'pending', attempts = GREATEST(attempts - 1, 0), lease_expires_at = NULL,
       run_after = now(), started_at = NULL, updated_at = now()
WHERE id = $1 AND lease_token = $2 AND worker_id = $3 AND status = ANY($4::text[])
RETURNING *`;

/** Gives a job back untouched (graceful shutdown): pending again, the attempt refunded. */
export async function releaseJob(db: Queryable, ref: LeaseRef): Promise<JobRow | null> {
  const r = await db.query<JobRow>(RELEASE, [ref.id, ref.leaseToken, ref.workerId, TRANSITIONS.release.from]);
  return r.rows[0] ?? null;
}
