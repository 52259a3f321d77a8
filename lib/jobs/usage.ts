// Usage per calling service: tokens (prompt/completion), audio seconds and busy seconds
// per owner_service × model_profile over the jobs finished in a window. Read by GET
// /api/v1/usage and the console's Usage page. Bounded by ai_jobs_finished_idx (the window
// is at most 7 days); result is fetched only for the rows in the window.
//
// Where the figures come from, per finished (completed or failed) job:
//   prompt/completion tokens  result.usage.prompt_tokens / completion_tokens (LLM jobs)
//   audio seconds             result.audio_duration_sec, else the largest
//                             result.attempts[].audio_duration_sec (transcription)
//   busy seconds              duration_ms (claim to finish)
// usageOfResult() applies the same rules in JS, for the Prometheus counters a worker
// increments when it completes a job.
import type { Queryable } from '../db/port.ts';

export interface UsageRow {
  owner_service: string;
  model_profile: string;
  jobs: number;
  completed: number;
  failed: number;
  prompt_tokens: number;
  completion_tokens: number;
  audio_seconds: number;
  busy_seconds: number;
}

const USAGE = `
WITH j AS (
  SELECT owner_service, model_profile, status, duration_ms, result
  FROM ai_jobs
  WHERE finished_at > $1::timestamptz AND finished_at <= $2::timestamptz
    AND status IN ('completed', 'failed') AND ($3::text IS NULL OR owner_service = $3)
), u AS (
  SELECT owner_service, model_profile, status, duration_ms,
         CASE WHEN jsonb_typeof(result -> 'usage' -> 'prompt_tokens') = 'number'
              THEN (result -> 'usage' ->> 'prompt_tokens')::float8 END AS prompt,
         CASE WHEN jsonb_typeof(result -> 'usage' -> 'completion_tokens') = 'number'
              THEN (result -> 'usage' ->> 'completion_tokens')::float8 END AS completion,
         coalesce(
           CASE WHEN jsonb_typeof(result -> 'audio_duration_sec') = 'number'
                THEN (result ->> 'audio_duration_sec')::float8 END,
           CASE WHEN jsonb_typeof(result -> 'attempts') = 'array' THEN
             (SELECT max((x ->> 'audio_duration_sec')::float8) FROM jsonb_array_elements(result -> 'attempts') x
              WHERE jsonb_typeof(x -> 'audio_duration_sec') = 'number') END) AS audio
  FROM j
)
SELECT owner_service, model_profile, count(*)::int AS jobs,
       count(*) FILTER (WHERE status = 'completed')::int AS completed,
       count(*) FILTER (WHERE status = 'failed')::int AS failed,
       coalesce(sum(prompt), 0)::float8 AS prompt_tokens,
       coalesce(sum(completion), 0)::float8 AS completion_tokens,
       coalesce(sum(audio), 0)::float8 AS audio_seconds,
       (coalesce(sum(duration_ms), 0) / 1000.0)::float8 AS busy_seconds
FROM u
GROUP BY owner_service, model_profile
ORDER BY owner_service, model_profile
LIMIT 1000`;

export interface UsageQuery {
  since: Date;
  until: Date;
  owner_service?: string;
}

export async function usageByOwner(db: Queryable, q: UsageQuery): Promise<UsageRow[]> {
  const r = await db.query<UsageRow>(USAGE, [
    q.since.toISOString(),
    q.until.toISOString(),
    q.owner_service ?? null,
  ]);
  return r.rows;
}

export interface JobUsage {
  prompt_tokens: number;
  completion_tokens: number;
  audio_seconds: number;
  busy_seconds: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** One finished job's usage, by the same rules as the SQL above. */
export function usageOfResult(result: unknown, durationMs: number | null): JobUsage {
  const r = obj(result);
  const u = obj(r['usage']);
  let audio = num(r['audio_duration_sec']);
  if (!audio && Array.isArray(r['attempts'])) {
    for (const a of r['attempts']) audio = Math.max(audio, num(obj(a)['audio_duration_sec']));
  }
  return {
    prompt_tokens: num(u['prompt_tokens']),
    completion_tokens: num(u['completion_tokens']),
    audio_seconds: audio,
    busy_seconds: num(durationMs) / 1000,
  };
}
