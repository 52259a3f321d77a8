// The lease holder's calls, many at once (issue 14): complete, fail and heartbeat for up
// to MAX_BATCH_ITEMS jobs in one request, for external workers that cannot afford one
// request and one transaction per job. Each item is fenced exactly as its single route:
// complete runs completeMany's statement answering the rows it wrote (COMPLETE_ROWS), fail
// runs failMany (fail-many.ts), whose guards are completeJob's and failJob's per row;
// heartbeats run HEARTBEAT_MANY below, the single HEARTBEAT per row. An item whose fence
// matched nothing is explained from one SELECT of the batch's rows, by the single routes'
// rules: not_found, the holder's own earlier complete/fail (a replay: answered ok,
// written once), or lease_lost with the status the job has now. Outcomes are values,
// never thrown: one lost lease does not stop the others.
//
// Shape 'minimal' (the wire's `"return": "minimal"`): the caller wants outcomes only, so
// the statements RETURN the few columns the metrics need (OutcomeRow) instead of whole
// rows — PostgreSQL neither reads back nor sends each job's input and result, and the
// driver parses six columns instead of twenty-odd. The fences and outcomes are the same.
//
// failItems must run inside a transaction (its callers open one, or settle inside the
// claim's): the rows its fence accepted stay locked until the SELECT reads them back, so
// the job answered is the job as this call left it. completeItems and heartbeatItems need
// none: their one write is one guarded statement that RETURNs the rows it wrote, and
// their SELECT reads only the items it did not write (READ COMMITTED gives that SELECT a
// fresh snapshot inside a transaction or not). A failure after the UPDATE leaves it
// committed, like a reply lost on the way: the holder's retry is a replay (complete) or
// one more extension (heartbeat).
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { isRetryable } from './categories.ts';
import { failMany } from './fail-many.ts';
import { type FailRequest, holds, isFailReplay, type LeaseRef } from './lease.ts';
import type { JobRow } from './row.ts';
import { TRANSITIONS } from './transitions.ts';

/** Whole rows in the answer, or the outcome alone (OutcomeRow). */
export type Shape = 'full' | 'minimal';

/** What an ok outcome keeps in shape 'minimal': metrics' labels, status, and usage's inputs. */
export type OutcomeRow = Pick<
  JobRow,
  'id' | 'status' | 'owner_service' | 'task_type' | 'model_profile' | 'duration_ms' | 'result'
>;

export type Settled<R extends OutcomeRow = JobRow> =
  | {
      outcome: 'ok';
      row: R /** answered from an earlier identical call; nothing written now */;
      replay: boolean;
    }
  | { outcome: 'not_found' | 'lease_lost'; error: AppError };

const OUTCOME_COLUMNS = 'id, status, owner_service, task_type, model_profile, duration_ms';

export interface CompleteItem extends LeaseRef {
  result: Record<string, unknown>;
}
export interface FailItem extends LeaseRef {
  failure: FailRequest;
}
export interface HeartbeatItem extends LeaseRef {
  leaseMs?: number;
}

const ROWS = 'SELECT * FROM ai_jobs WHERE id = ANY($1::uuid[])';
// What failItems needs of every row in shape 'minimal': the replay check's columns
// (isFailReplay) and OutcomeRow.
const FAIL_OUTCOMES = `SELECT ${OUTCOME_COLUMNS}, result, worker_id, lease_token, error_category
FROM ai_jobs WHERE id = ANY($1::uuid[])`;

type FailOutcomeRow = OutcomeRow & Pick<JobRow, 'worker_id' | 'lease_token' | 'error_category'>;

async function rowsById<R extends { id: string } = JobRow>(
  tx: Queryable,
  ids: readonly string[],
  sql = ROWS,
): Promise<Map<string, R>> {
  if (ids.length === 0) return new Map();
  const r = await tx.query<R>(sql, [ids]);
  return new Map(r.rows.map((row) => [row.id, row]));
}

/** The single routes' refusal (lease.ts refuse), as a value. */
function refused<R extends OutcomeRow>(
  ref: LeaseRef,
  row: R | undefined,
  isReplay: (row: R) => boolean,
): Settled<R> {
  if (!row) return { outcome: 'not_found', error: new AppError('not_found', `job ${ref.id} not found`) };
  if (isReplay(row)) return { outcome: 'ok', row, replay: true };
  return {
    outcome: 'lease_lost',
    error: new AppError('lease_lost', `the lease on job ${ref.id} is no longer held by this worker`, {
      status: row.status,
    }),
  };
}

// completeMany's statement (lease.ts), answering the rows it wrote instead of their ids:
// the routes answer each job, and reading them back by id would be a second statement
// over the same rows. Fenced per row exactly as COMPLETE / COMPLETE_MANY. `returning` is
// j.* or, in shape 'minimal', OutcomeRow's columns (the result is the item's own).
const completeRows = (returning: string) => `
WITH completed AS (
  UPDATE ai_jobs AS j SET status = 'completed', result = x.result, lease_expires_at = NULL,
         finished_at = now(), updated_at = now(),
         duration_ms = (extract(epoch FROM (now() - j.started_at)) * 1000)::int,
         error_category = NULL, error_message = NULL
  FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, lease_token uuid, worker_id text, result jsonb)
  WHERE j.id = x.id AND j.lease_token = x.lease_token AND j.worker_id = x.worker_id
    AND j.status = ANY($2::text[])
  RETURNING ${returning}
), announced AS MATERIALIZED (
  SELECT ai_jobs_notify_finished(array_agg(id)) FROM completed
)
SELECT completed.* FROM completed, announced`;
const COMPLETE_ROWS = completeRows('j.*');
const COMPLETE_OUTCOMES = completeRows(OUTCOME_COLUMNS.replace(/\w+/g, 'j.$&'));

/** Completes many jobs, each fenced as completeJob; one outcome per item, in order. Ids must be distinct. */
export async function completeItems(
  tx: Queryable,
  items: readonly CompleteItem[],
  shape?: 'full',
): Promise<Settled[]>;
export async function completeItems(
  tx: Queryable,
  items: readonly CompleteItem[],
  shape: Shape,
): Promise<Settled<OutcomeRow>[]>;
export async function completeItems(
  tx: Queryable,
  items: readonly CompleteItem[],
  shape: Shape = 'full',
): Promise<Settled<OutcomeRow>[]> {
  if (items.length === 0) return [];
  const payload = JSON.stringify(
    items.map((i) => ({ id: i.id, lease_token: i.leaseToken, worker_id: i.workerId, result: i.result })),
  );
  const minimal = shape === 'minimal';
  const r = await tx.query<OutcomeRow>(minimal ? COMPLETE_OUTCOMES : COMPLETE_ROWS, [
    payload,
    TRANSITIONS.complete.from,
  ]);
  const written = new Map(r.rows.map((row) => [row.id, row]));
  const rows = await rowsById(
    tx,
    items.filter((i) => !written.has(i.id)).map((i) => i.id),
  );
  return items.map((i): Settled<OutcomeRow> => {
    const row = written.get(i.id);
    // The stored result is the item's (usage is counted from it).
    if (row) return { outcome: 'ok', row: minimal ? { ...row, result: i.result } : row, replay: false };
    // Only this holder's complete leaves the job completed under its lease token.
    return refused<JobRow>(i, rows.get(i.id), (r) => r.status === 'completed' && holds(r, i));
  });
}

/** Fails many jobs, each by failJob's rules and fence; one outcome per item, in order. Ids must be distinct. */
export async function failItems(
  tx: Queryable,
  items: readonly FailItem[],
  shape?: 'full',
): Promise<Settled[]>;
export async function failItems(
  tx: Queryable,
  items: readonly FailItem[],
  shape: Shape,
): Promise<Settled<OutcomeRow>[]>;
export async function failItems(
  tx: Queryable,
  items: readonly FailItem[],
  shape: Shape = 'full',
): Promise<Settled<OutcomeRow>[]> {
  if (items.length === 0) return [];
  const accepted = await failMany(tx, items);
  // Whole rows (JobRow) are a FailOutcomeRow too.
  const rows = await rowsById<FailOutcomeRow>(
    tx,
    items.map((i) => i.id),
    shape === 'minimal' ? FAIL_OUTCOMES : ROWS,
  );
  return items.map((i): Settled<OutcomeRow> => {
    const row = rows.get(i.id);
    if (accepted.has(i.id) && row) return { outcome: 'ok', row, replay: false };
    const retryable = isRetryable(i.failure.category);
    return refused(i, row, (r) => isFailReplay(r, i, i.failure.category, retryable));
  });
}

// HEARTBEAT (lease.ts) per row: extends each lease by its item's lease_ms, or by the
// length chosen at claim; a job whose model_profile or task_type was paused with
// `drain: false` is released instead (pending again, its attempt refunded) and its holder
// learns lease_lost.
const heartbeatMany = (returning: string) => `
WITH x AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, lease_token uuid, worker_id text, lease_ms double precision)
), stop AS (
  SELECT x.id, EXISTS (
    SELECT 1 FROM ai_jobs j JOIN ai_queues q
      ON q.paused AND NOT q.drain
     AND ((q.scope = 'model_profile' AND q.name = j.model_profile) OR (q.scope = 'task_type' AND q.name = j.task_type))
    WHERE j.id = x.id) AS released
  FROM x
)
UPDATE ai_jobs SET
  status = CASE WHEN stop.released THEN 'pending' ELSE status END,
  attempts = CASE WHEN stop.released THEN GREATEST(attempts - 1, 0) ELSE attempts END,
  started_at = CASE WHEN stop.released THEN NULL ELSE started_at END,
  lease_expires_at = CASE WHEN stop.released THEN NULL
    ELSE now() + make_interval(secs => coalesce(x.lease_ms, ai_jobs.lease_ms, 900000) / 1000) END,
  updated_at = now()
FROM x JOIN stop ON stop.id = x.id
WHERE ai_jobs.id = x.id AND ai_jobs.lease_token = x.lease_token AND ai_jobs.worker_id = x.worker_id
  AND ai_jobs.status = ANY($2::text[])
RETURNING ${returning}, stop.released`;
const HEARTBEAT_MANY = heartbeatMany('ai_jobs.*');
const HEARTBEAT_OUTCOMES = heartbeatMany(`${OUTCOME_COLUMNS}, result`.replace(/\w+/g, 'ai_jobs.$&'));

/** Extends many leases, each fenced as heartbeat; one outcome per item, in order. Ids must be distinct. */
export async function heartbeatItems(
  tx: Queryable,
  items: readonly HeartbeatItem[],
  shape?: 'full',
): Promise<Settled[]>;
export async function heartbeatItems(
  tx: Queryable,
  items: readonly HeartbeatItem[],
  shape: Shape,
): Promise<Settled<OutcomeRow>[]>;
export async function heartbeatItems(
  tx: Queryable,
  items: readonly HeartbeatItem[],
  shape: Shape = 'full',
): Promise<Settled<OutcomeRow>[]> {
  if (items.length === 0) return [];
  const payload = JSON.stringify(
    items.map((i) => ({
      id: i.id,
      lease_token: i.leaseToken,
      worker_id: i.workerId,
      lease_ms: i.leaseMs ?? null,
    })),
  );
  const r = await tx.query<OutcomeRow & { released: boolean }>(
    shape === 'minimal' ? HEARTBEAT_OUTCOMES : HEARTBEAT_MANY,
    [payload, TRANSITIONS.heartbeat.from],
  );
  const beat = new Map(r.rows.map(({ released, ...job }) => [job.id, { released, job: job as OutcomeRow }]));
  const misses = items.filter((i) => !beat.has(i.id)).map((i) => i.id);
  const rows = await rowsById(tx, misses);
  return items.map((i): Settled<OutcomeRow> => {
    const b = beat.get(i.id);
    if (!b) return refused<JobRow>(i, rows.get(i.id), () => false);
    if (b.released)
      return {
        outcome: 'lease_lost',
        error: new AppError('lease_lost', `job ${i.id} was released: its queue is paused`, {
          status: 'pending',
          reason: 'paused',
        }),
      };
    return { outcome: 'ok', row: b.job, replay: false };
  });
}
