// Bulk rows for the scale scenario: INSERT … SELECT generate_series straight into our
// ai_jobs table (the migrated schema, every index and trigger in place), with a realistic
// mix over the last 30 days: ~90 % completed, 6 % failed, 3 % cancelled, 0.1 % pending,
// 0.1 % running. Ids are UUID v7 built from each row's created_at, so id order is creation
// order as in production. Owners: 5 services × 40,000 refs, ≈5 jobs per owner at 1M.
import type { Db } from '../../lib/db/port.ts';

export const OWNER_SERVICES = ['telephony', 'monitoring-tg', 'crm', 'search', 'support'];
export const OWNER_REFS = 40_000;

const UUIDV7_AT = `
CREATE OR REPLACE FUNCTION bench_uuidv7_at(ts timestamptz) RETURNS uuid
LANGUAGE sql VOLATILE AS $$
  SELECT encode(set_bit(set_bit(
    overlay(uuid_send(gen_random_uuid())
            PLACING substring(int8send(floor(extract(epoch FROM ts) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
    52, 1), 53, 1), 'hex')::uuid
$$`;

/** Inserts rows numbered [from, to) in chunks (one statement per chunk). */
export async function seedJobs(db: Db, from: number, to: number, chunk = 100_000): Promise<void> {
  await db.exec(UUIDV7_AT);
  for (let a = from; a < to; a += chunk) {
    const b = Math.min(to, a + chunk);
    await db.query(
      `
WITH g AS (
  SELECT i, ((i::bigint * 7919) % 1000)::int AS r, (i / 5) % ${OWNER_REFS} AS ref,
         now() - make_interval(secs => ((i::bigint * 48271) % 2592000)::double precision) AS created
  FROM generate_series($1::int, $2::int - 1) AS i
), s AS (
  SELECT g.*, CASE WHEN r < 900 THEN 'completed' WHEN r < 960 THEN 'failed' WHEN r < 990 THEN 'cancelled'
                   WHEN r < 998 THEN 'completed' WHEN r = 998 THEN 'running' ELSE 'pending' END AS status,
         (ARRAY['llm_chat', 'transcribe', 'call_analysis'])[1 + i % 3] AS task_type,
         (i % 5000) + 200 AS dur
  FROM g
)
INSERT INTO ai_jobs (id, owner_service, owner_ref, task_type, model_profile, input, result, status, priority,
                     run_after, attempts, max_attempts, worker_id, lease_token, lease_expires_at, error_category,
                     error_message, created_at, updated_at, started_at, finished_at, duration_ms)
SELECT bench_uuidv7_at(created),
       ($3::text[])[1 + i % 5],
       'call/' || ref,
       task_type,
       CASE WHEN task_type = 'transcribe' THEN 'whisperx' ELSE 'qwen2.5-14b' END,
       jsonb_build_object('system', 'You are a strict classifier.',
                          'user', 'Classify the sentiment of this message as JSON. Message #' || i || ': the delivery was late.',
                          'max_tokens', 64, 'call_id', 'c-' || i),
       CASE WHEN status = 'completed' THEN jsonb_build_object('content', '{"label":"neutral"}', 'model', 'qwen2.5-14b',
                                                               'usage', jsonb_build_object('total_tokens', 120 + i % 50)) END,
       status,
       0,
       created,
       CASE WHEN status = 'pending' THEN 0 WHEN status = 'failed' THEN 3 ELSE 1 END,
       3,
       CASE WHEN status = 'pending' THEN NULL ELSE 'worker-' || (i % 8) END,
       CASE WHEN status = 'pending' THEN NULL ELSE gen_random_uuid() END,
       CASE WHEN status = 'running' THEN now() + interval '15 minutes' END,
       CASE WHEN status = 'failed' THEN (ARRAY['provider_unavailable', 'timeout', 'invalid_input', 'provider_error'])[1 + i % 4] END,
       CASE WHEN status = 'failed' THEN 'upstream said no' END,
       created,
       created + make_interval(secs => dur / 1000.0),
       CASE WHEN status = 'pending' THEN NULL ELSE created END,
       CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN created + make_interval(secs => dur / 1000.0) END,
       CASE WHEN status IN ('completed', 'failed') THEN dur END
FROM s`,
      [a, b, OWNER_SERVICES],
    );
  }
}

/** The owner of row i (as seedJobs assigns it). */
export function ownerOf(i: number): { owner_service: string; owner_ref: string } {
  return { owner_service: OWNER_SERVICES[i % 5]!, owner_ref: `call/${Math.floor(i / 5) % OWNER_REFS}` };
}

/** An owner with at least one of the first `loaded` rows. */
export const randomOwner = (loaded: number) => ownerOf(Math.floor(Math.random() * loaded));
