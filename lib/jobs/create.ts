// create and batch create. An idempotency_key is unique per owner_service: a repeat with
// the same job returns the existing one; the same key for a different job is a conflict.
// "The same job" means the same owner_ref, task_type, model_profile and input (compared
// as jsonb, so key order does not matter); priority, run_after and max_attempts are
// scheduling hints and do not make a repeat a conflict.

import type { Db, Queryable } from '../db/port.ts';
import { prepared } from '../db/prepared.ts';
import { AppError } from '../errors.ts';
import { uuidv7 } from './ids.ts';
import { insertedRow } from './inserted.ts';
import type { JobRow } from './row.ts';
import type { CreateJob } from './schemas.ts';

export type CreateOutcome = { outcome: 'created' | 'existing'; job: JobRow };

const INSERT_ONE = `
INSERT INTO ai_jobs (id, owner_service, owner_ref, task_type, model_profile, input, priority, run_after,
                     max_attempts, idempotency_key, webhook_url, webhook_events)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, coalesce($7, 0), coalesce($8::timestamptz, now()), coalesce($9, 3), $10,
        $11, $12::text[])
ON CONFLICT (owner_service, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING *`;
prepared('aisvc_create_job', INSERT_ONE);

const FIND_BY_KEY = `
SELECT *, (owner_ref = $3 AND task_type = $4 AND model_profile = $5 AND input = $6::jsonb) AS same
FROM ai_jobs WHERE owner_service = $1 AND idempotency_key = $2`;

export async function createJob(db: Queryable, job: CreateJob): Promise<CreateOutcome> {
  const input = JSON.stringify(job.input);
  // Loop only for the rare race where the conflicting row is pruned between statements.
  for (let i = 0; i < 3; i++) {
    const ins = await db.query<JobRow>(INSERT_ONE, [
      uuidv7(),
      job.owner_service,
      job.owner_ref,
      job.task_type,
      job.model_profile,
      input,
      job.priority ?? null,
      job.run_after ?? null,
      job.max_attempts ?? null,
      job.idempotency_key ?? null,
      job.webhook_url ?? null,
      job.webhook_events ?? null,
    ]);
    if (ins.rows[0]) return { outcome: 'created', job: ins.rows[0] };
    const found = await db.query<JobRow & { same: boolean }>(FIND_BY_KEY, [
      job.owner_service,
      job.idempotency_key,
      job.owner_ref,
      job.task_type,
      job.model_profile,
      input,
    ]);
    const row = found.rows[0];
    if (row) {
      if (!row.same) throw conflict(job, row.id);
      const { same: _, ...existing } = row;
      return { outcome: 'existing', job: existing };
    }
  }
  throw new AppError('unavailable', 'could not create the job; try again');
}

export function conflict(job: CreateJob, existingId: string, index?: number): AppError {
  return new AppError(
    'idempotency_conflict',
    `idempotency_key "${job.idempotency_key}" of ${job.owner_service} already names a different job`,
    { existing_id: existingId, ...(index === undefined ? {} : { index }) },
  );
}

// One statement inserts every item; items whose key already existed are resolved with
// one more statement (createJobs: in one transaction; a batch without keys is one
// statement, atomic on its own). Inserting in key order keeps two concurrent batches with
// shared keys from deadlocking; without keys there is nothing to order. The INSERT
// returns only what PostgreSQL chose — which rows it wrote, the statement's now() (on the
// row of $2, an item without a key, which is always written, and on keyed rows), run_after
// where one was given — and the rows are built from what was sent (lib/jobs/inserted.ts):
// reading 1,000 rows back cost more than writing them.
const insertManyText = (ordered: boolean) => `
INSERT INTO ai_jobs (id, owner_service, owner_ref, task_type, model_profile, input, priority, run_after,
                     max_attempts, idempotency_key, webhook_url, webhook_events)
SELECT id, owner_service, owner_ref, task_type, model_profile, input, coalesce(priority, 0),
       coalesce(run_after, now()), coalesce(max_attempts, 3), idempotency_key, webhook_url,
       nullif(webhook_events, '{}')
FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, owner_service text, owner_ref text, task_type text,
     model_profile text, input jsonb, priority int, run_after timestamptz, max_attempts int, idempotency_key text,
     webhook_url text, webhook_events text[])${ordered ? '\nORDER BY owner_service, idempotency_key' : ''}
ON CONFLICT (owner_service, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id, nullif(run_after, created_at) AS run_after,
          CASE WHEN id = $2::uuid OR idempotency_key IS NOT NULL THEN created_at END AS created_at`;
export const INSERT_MANY_KEYED = prepared('aisvc_create_jobs_keyed', insertManyText(true));
export const INSERT_MANY = prepared('aisvc_create_jobs', insertManyText(false));

/**
 * Inserts `jobs` in one statement: each item's outcome `created` with its row, or
 * undefined where its idempotency key already existed (the caller looks those up).
 */
export async function insertMany(
  q: Queryable,
  jobs: readonly CreateJob[],
): Promise<(CreateOutcome | undefined)[]> {
  const ids = jobs.map(() => uuidv7());
  const inputs = jobs.map((j) => JSON.stringify(j.input));
  // Built as text: each input is serialised once, for the statement and for its row.
  let payload = '[';
  let keyed = false;
  let unkeyed: string | null = null;
  for (let i = 0; i < jobs.length; i++) {
    const { input: _, ...rest } = jobs[i]!;
    if (rest.idempotency_key !== undefined) keyed = true;
    else unkeyed ??= ids[i]!;
    const head = JSON.stringify({ ...rest, id: ids[i] });
    payload += `${i ? ',' : ''}${head.slice(0, -1)},"input":${inputs[i]}}`;
  }
  payload += ']';
  const returned = await q.query<{ id: string; run_after: Date | null; created_at: Date | null }>(
    keyed ? INSERT_MANY_KEYED : INSERT_MANY,
    [payload, unkeyed],
  );
  const now = returned.rows.find((r) => r.created_at)?.created_at;
  const byId = new Map(returned.rows.map((r) => [r.id, r]));
  return ids.map((id, i) => {
    const r = byId.get(id);
    return r && now
      ? { outcome: 'created', job: insertedRow(id, jobs[i]!, inputs[i]!, now, r.run_after) }
      : undefined;
  });
}

export const FIND_MANY_BY_KEY = `
SELECT j.*, x.i, (j.owner_ref = x.owner_ref AND j.task_type = x.task_type AND j.model_profile = x.model_profile
                  AND j.input = x.input) AS same
FROM jsonb_to_recordset($1::jsonb) AS x(i int, owner_service text, idempotency_key text, owner_ref text,
     task_type text, model_profile text, input jsonb)
JOIN ai_jobs j ON j.owner_service = x.owner_service AND j.idempotency_key = x.idempotency_key`;

export async function createJobs(db: Db, jobs: readonly CreateJob[]): Promise<CreateOutcome[]> {
  if (!jobs.some((j) => j.idempotency_key !== undefined)) {
    const out = await insertMany(db, jobs);
    if (out.some((o) => !o)) throw new AppError('unavailable', 'could not create the batch; try again');
    return out as CreateOutcome[];
  }
  return db.transaction(async (tx) => {
    const out = await insertMany(tx, jobs);
    const missing = out.flatMap((o, i) => (o ? [] : [i]));
    if (missing.length === 0) return out as CreateOutcome[];

    const lookup = missing.map((i) => {
      const j = jobs[i]!;
      return {
        i,
        owner_service: j.owner_service,
        idempotency_key: j.idempotency_key,
        owner_ref: j.owner_ref,
        task_type: j.task_type,
        model_profile: j.model_profile,
        input: j.input,
      };
    });
    const found = await tx.query<JobRow & { i: number; same: boolean }>(FIND_MANY_BY_KEY, [
      JSON.stringify(lookup),
    ]);
    const conflicts: { index: number; existing_id: string }[] = [];
    for (const { i, same, ...row } of found.rows) {
      if (same) out[i] = { outcome: 'existing', job: row };
      else conflicts.push({ index: i, existing_id: row.id });
    }
    if (conflicts.length > 0) {
      throw new AppError('idempotency_conflict', 'some idempotency keys already name different jobs', {
        items: conflicts.sort((a, b) => a.index - b.index),
      });
    }
    if (out.some((o) => !o)) throw new AppError('unavailable', 'could not create the batch; try again');
    return out as CreateOutcome[];
  });
}
