// Transcription A/B figures from the attempts stored in transcribe jobs' results
// (result.attempts[], see docs/ops.md for the contract), computed in SQL over the jobs
// finished in a window — never from one process's memory. Bounded: the newest `limit`
// (default AB_SAMPLE) transcription jobs finished in the window, found through
// ai_jobs_finished_idx; only their results are read and unpacked. Unpacking attempts is
// the cost (≈ 0.1–0.2 ms a job), so the page works on a sample and says so.
import type { Queryable } from '../db/port.ts';

/** Jobs the A/B figures read by default (the newest in the window); ?sample= on the page, ≤ AB_MAX_SAMPLE. */
export const AB_SAMPLE = 200;
export const AB_MAX_SAMPLE = 5000;

export interface ProviderFigures {
  provider: string;
  jobs: number;
  completed: number;
  failed: number;
  skipped: number;
  /** completed / (completed + failed); null when neither. */
  success_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  /** Processing seconds per audio second over completed attempts. */
  rtf: number | null;
  failure_categories: Record<string, number>;
}

export interface AgreementCell {
  provider: string;
  /** The provider whose text was the reference. */
  reference: string;
  /** Mean of stored 1 − WER values. */
  agreement: number;
  pairs: number;
}

export interface AbFigures {
  jobs_scanned: number;
  truncated: boolean;
  providers: ProviderFigures[];
  agreement: AgreementCell[];
}

const AB = `
WITH newest AS (
  SELECT id FROM ai_jobs
  WHERE finished_at > $1::timestamptz AND task_type = $2 AND status IN ('completed', 'failed')
  ORDER BY finished_at DESC LIMIT $3
), t AS (
  SELECT j.id, j.result FROM ai_jobs j JOIN newest USING (id)
  WHERE jsonb_typeof(j.result -> 'attempts') = 'array'
), a AS (
  SELECT t.id, x ->> 'provider' AS provider, x ->> 'status' AS status,
         CASE WHEN jsonb_typeof(x -> 'duration_ms') = 'number' THEN (x ->> 'duration_ms')::float8 END AS dur,
         CASE WHEN jsonb_typeof(x -> 'audio_duration_sec') = 'number'
              THEN (x ->> 'audio_duration_sec')::float8 END AS audio,
         CASE WHEN jsonb_typeof(x -> 'rtf') = 'number' THEN (x ->> 'rtf')::float8 END AS rtf,
         CASE WHEN jsonb_typeof(x -> 'error') = 'object' THEN x -> 'error' ->> 'category' END AS category,
         CASE WHEN jsonb_typeof(x -> 'agreement') = 'object' THEN x -> 'agreement' END AS agreement
  FROM t, jsonb_array_elements(t.result -> 'attempts') x
  WHERE jsonb_typeof(x) = 'object' AND jsonb_typeof(x -> 'provider') = 'string'
), p AS (
  SELECT provider, count(DISTINCT id)::int AS jobs,
         count(*) FILTER (WHERE status = 'completed')::int AS completed,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY dur) FILTER (WHERE status = 'completed') AS p50_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY dur) FILTER (WHERE status = 'completed') AS p95_ms,
         coalesce(
           sum(dur) FILTER (WHERE status = 'completed' AND audio > 0) / 1000
             / nullif(sum(audio) FILTER (WHERE status = 'completed' AND audio > 0 AND dur IS NOT NULL), 0),
           avg(rtf) FILTER (WHERE status = 'completed')) AS rtf
  FROM a GROUP BY provider
), c AS (
  SELECT provider, category, count(*)::int AS n FROM a
  WHERE status = 'failed' GROUP BY provider, category
), m AS (
  SELECT a.provider, k.key AS reference, avg((k.value #>> '{}')::float8) AS agreement, count(*)::int AS pairs
  FROM a, jsonb_each(a.agreement) k
  WHERE a.status = 'completed' AND jsonb_typeof(k.value) = 'number'
  GROUP BY a.provider, k.key
)
SELECT (SELECT count(*)::int FROM newest) AS jobs_scanned,
       (SELECT coalesce(json_agg(p ORDER BY p.provider), '[]') FROM p) AS providers,
       (SELECT coalesce(json_agg(c), '[]') FROM c) AS categories,
       (SELECT coalesce(json_agg(m ORDER BY m.provider, m.reference), '[]') FROM m) AS agreement`;

export async function abFigures(
  db: Queryable,
  since: Date,
  opts: { taskType?: string; limit?: number } = {},
): Promise<AbFigures> {
  const limit = opts.limit ?? AB_SAMPLE;
  const r = await db.query<{
    jobs_scanned: number;
    providers: Omit<ProviderFigures, 'success_rate' | 'failure_categories'>[];
    categories: { provider: string; category: string | null; n: number }[];
    agreement: AgreementCell[];
  }>(AB, [since.toISOString(), opts.taskType ?? 'transcribe', limit]);
  const row = r.rows[0]!;
  return {
    jobs_scanned: row.jobs_scanned,
    truncated: row.jobs_scanned >= limit,
    providers: row.providers.map((p) => {
      const cats: Record<string, number> = {};
      for (const c of row.categories) if (c.provider === p.provider) cats[c.category ?? 'unknown'] = c.n;
      const decided = p.completed + p.failed;
      return { ...p, success_rate: decided ? p.completed / decided : null, failure_categories: cats };
    }),
    agreement: row.agreement,
  };
}

export interface PickerRow {
  id: string;
  owner_ref: string;
  finished_at: Date;
  providers: string[];
}

// The newest 300 transcription jobs of the window by the index, then the compared ones among them.
const PICKER = `
WITH newest AS (
  SELECT id, finished_at FROM ai_jobs
  WHERE finished_at > $1::timestamptz AND task_type = $2 AND status = 'completed'
  ORDER BY finished_at DESC LIMIT 300
)
SELECT j.id, j.owner_ref, n.finished_at,
       ARRAY(SELECT x ->> 'provider' FROM jsonb_array_elements(j.result -> 'attempts') x
             WHERE x ->> 'status' = 'completed') AS providers
FROM newest n JOIN ai_jobs j USING (id)
WHERE j.result ->> 'comparison' = 'complete' AND jsonb_typeof(j.result -> 'attempts') = 'array'
ORDER BY n.finished_at DESC LIMIT 30`;

/** The newest compared jobs in the window, for the side-by-side picker. */
export async function comparedJobs(
  db: Queryable,
  since: Date,
  taskType = 'transcribe',
): Promise<PickerRow[]> {
  return (await db.query<PickerRow>(PICKER, [since.toISOString(), taskType])).rows;
}
