// Usage per calling service: tokens (prompt/completion), audio seconds and busy seconds
// per owner_service × model_profile over the jobs finished in a window (≤ 7 days). Read by
// GET /api/v1/usage and the console's Usage page. Whole hours that are over come from the
// hourly rollup of migration 008 (filled here, lazily, the first time an hour is asked
// for); the other whole minutes from the per-minute rollup of migration 013 (kept by
// triggers); only the window's ragged edges (< 1 minute at each end) are read from
// ai_jobs by ai_jobs_finished_idx.
//
// Where the figures come from, per finished (completed or failed) job:
//   prompt/completion tokens  result.usage.prompt_tokens / completion_tokens (LLM jobs)
//   audio seconds             result.audio_duration_sec, else the largest
//                             result.attempts[].audio_duration_sec (transcription)
//   busy seconds              duration_ms (claim to finish)
// usageOfResult() applies the same rules in JS, for the Prometheus counters a worker
// increments when it completes a job.
import type { Queryable } from '../db/port.ts';
import { minuteAfter } from './finishes.ts';

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

// Live: every job finished in the window, read from ai_jobs (used for windows within one
// minute, and to check the rollups against).
const USAGE_LIVE = `
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

// Hours of [$1, $2) not rolled up yet.
const MISSING_HOURS = `
SELECT h AS hour FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 hour', interval '1 hour') h
WHERE NOT EXISTS (SELECT 1 FROM ai_usage_hours d WHERE d.hour = h)
ORDER BY h`;

// Rolls up the hours in $1 (all within [$2, $3)); concurrent fillers compute the same rows
// and the second one's inserts are no-ops.
const FILL_HOURS = `
WITH m AS (SELECT unnest($1::timestamptz[]) AS hour),
j AS (
  SELECT to_timestamp(floor(extract(epoch FROM finished_at) / 3600) * 3600) AS hour,
         owner_service, model_profile, status, duration_ms, result
  FROM ai_jobs
  WHERE finished_at >= $2::timestamptz AND finished_at < $3::timestamptz AND status IN ('completed', 'failed')
), u AS (
  SELECT hour, owner_service, model_profile, status, duration_ms,
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
  FROM j WHERE hour IN (SELECT hour FROM m)
), rolled AS (
  INSERT INTO ai_usage_hourly (hour, owner_service, model_profile, jobs, completed, failed, prompt_tokens,
                               completion_tokens, audio_seconds, busy_seconds)
  SELECT hour, owner_service, model_profile, count(*), count(*) FILTER (WHERE status = 'completed'),
         count(*) FILTER (WHERE status = 'failed'), coalesce(sum(prompt), 0), coalesce(sum(completion), 0),
         coalesce(sum(audio), 0), coalesce(sum(duration_ms), 0) / 1000.0
  FROM u GROUP BY hour, owner_service, model_profile
  ON CONFLICT DO NOTHING
)
INSERT INTO ai_usage_hours (hour) SELECT hour FROM m ON CONFLICT DO NOTHING`;

// The edges ($1, $3) and [$4, $2] from ai_jobs; the whole minutes [$3, $4) from the
// per-minute rollup, except the settled hours [$5, $6) taken from the hourly one ($5 and
// $6 null when there are none).
const USAGE_ROLLED = `
WITH j AS (
  SELECT owner_service, model_profile, status, duration_ms, result
  FROM ai_jobs
  WHERE ((finished_at > $1::timestamptz AND finished_at < $3::timestamptz)
         OR (finished_at >= $4::timestamptz AND finished_at <= $2::timestamptz))
    AND status IN ('completed', 'failed') AND ($7::text IS NULL OR owner_service = $7)
), u AS (
  SELECT owner_service, model_profile, 1 AS jobs, (status = 'completed')::int AS completed,
         (status = 'failed')::int AS failed,
         CASE WHEN jsonb_typeof(result -> 'usage' -> 'prompt_tokens') = 'number'
              THEN (result -> 'usage' ->> 'prompt_tokens')::float8 END AS prompt,
         CASE WHEN jsonb_typeof(result -> 'usage' -> 'completion_tokens') = 'number'
              THEN (result -> 'usage' ->> 'completion_tokens')::float8 END AS completion,
         coalesce(
           CASE WHEN jsonb_typeof(result -> 'audio_duration_sec') = 'number'
                THEN (result ->> 'audio_duration_sec')::float8 END,
           CASE WHEN jsonb_typeof(result -> 'attempts') = 'array' THEN
             (SELECT max((x ->> 'audio_duration_sec')::float8) FROM jsonb_array_elements(result -> 'attempts') x
              WHERE jsonb_typeof(x -> 'audio_duration_sec') = 'number') END) AS audio,
         coalesce(duration_ms, 0) / 1000.0 AS busy
  FROM j
  UNION ALL
  SELECT owner_service, model_profile, jobs, (status = 'completed')::int * jobs, (status = 'failed')::int * jobs,
         prompt_tokens, completion_tokens, audio_seconds, duration_sum_ms / 1000.0
  FROM ai_job_finishes
  WHERE ((minute >= $3::timestamptz AND minute < coalesce($5::timestamptz, $4::timestamptz))
         OR (minute >= coalesce($6::timestamptz, $4::timestamptz) AND minute < $4::timestamptz))
    AND status IN ('completed', 'failed') AND ($7::text IS NULL OR owner_service = $7)
  UNION ALL
  SELECT owner_service, model_profile, jobs, completed, failed, prompt_tokens, completion_tokens, audio_seconds,
         busy_seconds::numeric
  FROM ai_usage_hourly
  WHERE hour >= $5::timestamptz AND hour < $6::timestamptz AND ($7::text IS NULL OR owner_service = $7)
)
SELECT owner_service, model_profile, sum(jobs)::int AS jobs, sum(completed)::int AS completed,
       sum(failed)::int AS failed, coalesce(sum(prompt), 0)::float8 AS prompt_tokens,
       coalesce(sum(completion), 0)::float8 AS completion_tokens, coalesce(sum(audio), 0)::float8 AS audio_seconds,
       coalesce(sum(busy), 0)::float8 AS busy_seconds
FROM u
GROUP BY owner_service, model_profile
HAVING sum(jobs) <> 0
ORDER BY owner_service, model_profile
LIMIT 1000`;

const USAGE_CHECKING_HOURS = checkingHours(USAGE_ROLLED, '$5', '$6', 'r.owner_service, r.model_profile');

export interface UsageQuery {
  since: Date;
  until: Date;
  owner_service?: string;
}

const HOUR_MS = 3_600_000;
/** An hour is rolled up once it ended this long before `until` (no job can still finish inside it). */
export const SETTLE_MS = 10 * 60_000;
/** Hours rolled up per statement when filling (a day of jobs per statement at most). */
const FILL_CHUNK = 24;

const withRollup = new WeakSet<Queryable>();

/** Whether migration 008's rollup tables exist (remembered once they do). */
export async function hasRollup(db: Queryable): Promise<boolean> {
  if (withRollup.has(db)) return true;
  const r = await db.query<{ ok: boolean }>(`SELECT to_regclass('ai_usage_hours') IS NOT NULL AS ok`);
  if (r.rows[0]?.ok) withRollup.add(db);
  return r.rows[0]?.ok ?? false;
}

/** The whole, settled hours of a window: [first, lastEnd) in ms, or null when there are none. */
export function wholeHours(q: UsageQuery): { first: number; lastEnd: number } | null {
  const first = Math.ceil(q.since.getTime() / HOUR_MS) * HOUR_MS;
  const lastEnd = Math.floor((q.until.getTime() - SETTLE_MS) / HOUR_MS) * HOUR_MS;
  return lastEnd > first ? { first, lastEnd } : null;
}

export async function usageByOwner(db: Queryable, q: UsageQuery): Promise<UsageRow[]> {
  const owner = q.owner_service ?? null;
  const m0 = minuteAfter(q.since.getTime());
  const mEnd = minuteAfter(q.until.getTime()) - 60_000;
  if (m0 >= mEnd) return usageLive(db, q);
  const hours = wholeHours(q);
  const iso = (ms: number) => new Date(ms).toISOString();
  const edges = [q.since.toISOString(), q.until.toISOString(), iso(m0), iso(mEnd)];
  if (hours !== null && (await hasRollup(db))) {
    const params = [...edges, iso(hours.first), iso(hours.lastEnd), owner];
    return readRolledUp<UsageRow>(db, USAGE_CHECKING_HOURS, params, hours, 'owner_service');
  }
  return (await db.query<UsageRow>(USAGE_ROLLED, [...edges, null, null, owner])).rows;
}

/**
 * A read over the hourly rollup whose settled hours are [first, last) — `first` and
 * `last` the statement's parameters for them, e.g. '$5' and '$6' — answering alongside
 * its rows how many of those hours are not rolled up yet, in the same snapshot (a
 * one-row `m` LEFT JOINed to the rows, so an empty read still says it; `order` is the
 * read's ORDER BY again, for the joined rows). readRolledUp runs it.
 */
export function checkingHours(sql: string, first: string, last: string, order: string): string {
  return `
WITH r AS MATERIALIZED (${sql}
), m AS (
  SELECT count(*)::int AS missing
  FROM generate_series(${first}::timestamptz, ${last}::timestamptz - interval '1 hour', interval '1 hour') h
  WHERE NOT EXISTS (SELECT 1 FROM ai_usage_hours d WHERE d.hour = h)
)
SELECT m.missing, r.* FROM m LEFT JOIN r ON true
ORDER BY ${order}`;
}

/**
 * Runs a checkingHours statement: one round trip when every settled hour is rolled up
 * already (the rows are then complete: a fill writes its figures and marks its hours in
 * one statement); otherwise rolls the missing hours up and reads again, as a check first
 * and a read after would have. `key` is a column every real row has (not null).
 */
export async function readRolledUp<R>(
  db: Queryable,
  text: string,
  params: readonly unknown[],
  hours: { first: number; lastEnd: number },
  key: keyof R,
): Promise<R[]> {
  let r = await db.query<R & { missing: number }>(text, params);
  if ((r.rows[0]?.missing ?? 0) > 0) {
    await rollUpHours(db, hours.first, hours.lastEnd);
    r = await db.query<R & { missing: number }>(text, params);
  }
  return r.rows.filter((row) => row[key] !== null).map(({ missing: _, ...row }) => row as R);
}

/** Rolls up the hours of [firstMs, lastEndMs) not rolled up yet (hour-aligned, settled). */
export async function rollUpHours(db: Queryable, firstMs: number, lastEndMs: number): Promise<void> {
  const range = [new Date(firstMs).toISOString(), new Date(lastEndMs).toISOString()];
  const missing = (await db.query<{ hour: Date }>(MISSING_HOURS, range)).rows.map((r) =>
    new Date(r.hour).getTime(),
  );
  for (let i = 0; i < missing.length; i += FILL_CHUNK) {
    const chunk = missing.slice(i, i + FILL_CHUNK);
    await db.query(FILL_HOURS, [
      chunk.map((h) => new Date(h).toISOString()),
      new Date(Math.min(...chunk)).toISOString(),
      new Date(Math.max(...chunk) + HOUR_MS).toISOString(),
    ]);
  }
}

/** The same figures read from ai_jobs only (no rollup): for checking the rollup. */
export async function usageLive(db: Queryable, q: UsageQuery): Promise<UsageRow[]> {
  return (
    await db.query<UsageRow>(USAGE_LIVE, [
      q.since.toISOString(),
      q.until.toISOString(),
      q.owner_service ?? null,
    ])
  ).rows;
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
