-- Finished jobs counted per minute (issue 14: stats at 1M rows with 100,000 jobs finished in
-- the hour took 403 ms reading every one of them). GET /api/v1/stats, the console's
-- throughput and the live part of usage sum these rows for the whole minutes of their
-- window and read only the ragged edge (< 1 minute) from ai_jobs.
--
-- What it holds: for every minute, what counting ai_jobs by finished_at would give now —
-- jobs, durations and usage per owner × task type × profile × status × error category.
-- Every change of a row is applied as "take out the old version, add the new one" when it
-- touches a finished version: a finish (complete, fail, cancel, cancel by filter, the
-- reaper giving up, a claim taking over an expired lease with no attempts left, any future
-- path) adds; a retry (finished_at back to NULL) takes out; a comparison filling in its
-- parent's attempts replaces the parent's usage; a delete (prune) takes out; TRUNCATE
-- empties it. So the readers' figures do not change meaning, and a test can compare
-- them with a direct count.
--
-- Maintained by statement-level triggers (one call per statement, not per row, and
-- nothing to forget in lib/jobs). Hot rows: two transactions finishing jobs of the same
-- kind in the same minute would upsert the same row and wait on each other's row lock
-- (or deadlock, taking two keys in opposite order). `shard` is the backend's pid, so a
-- row is only ever written by one session at a time: no lock waits, no deadlocks; the
-- readers sum over shards (a shard's row may be negative: a retry in another session).
-- Minutes older than 8 days (the longest window read is 7) are deleted by the reaper
-- (lib/jobs/finishes.ts) in bounded batches.
CREATE TABLE ai_job_finishes (
  minute            timestamptz NOT NULL,
  owner_service     text NOT NULL,
  task_type         text NOT NULL,
  model_profile     text NOT NULL,
  status            text NOT NULL,
  -- '' when the job has none (a primary key column cannot be NULL).
  error_category    text NOT NULL,
  shard             integer NOT NULL,
  jobs              integer NOT NULL,
  -- Over the jobs with a duration_ms (claim to finish).
  duration_jobs     integer NOT NULL,
  duration_sum_ms   bigint NOT NULL,
  -- The usage figures of lib/jobs/usage.ts, summed (0 where a job has none).
  prompt_tokens     double precision NOT NULL,
  completion_tokens double precision NOT NULL,
  audio_seconds     double precision NOT NULL,
  PRIMARY KEY (minute, owner_service, task_type, model_profile, status, error_category, shard)
);

-- A finished job's usage, by the rules of lib/jobs/usage.ts (NULL when it has none). The
-- token ones are single expressions the planner inlines; the audio one holds a subquery,
-- which is never inlined (a SQL function call per row, ~4 µs), so the triggers below
-- write its expression out and only checks and tests call it.
CREATE FUNCTION ai_result_prompt_tokens(result jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(result -> 'usage' -> 'prompt_tokens') = 'number'
              THEN (result -> 'usage' ->> 'prompt_tokens')::float8 END
$$;
CREATE FUNCTION ai_result_completion_tokens(result jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(result -> 'usage' -> 'completion_tokens') = 'number'
              THEN (result -> 'usage' ->> 'completion_tokens')::float8 END
$$;
CREATE FUNCTION ai_result_audio_seconds(result jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(
    CASE WHEN jsonb_typeof(result -> 'audio_duration_sec') = 'number' THEN (result ->> 'audio_duration_sec')::float8 END,
    CASE WHEN jsonb_typeof(result -> 'attempts') = 'array' THEN
      (SELECT max((x ->> 'audio_duration_sec')::float8) FROM jsonb_array_elements(result -> 'attempts') x
       WHERE jsonb_typeof(x -> 'audio_duration_sec') = 'number') END)
$$;

-- The same upsert in each function below, with `sign` +1 (add a version) or -1 (take one
-- out): static SQL, so PL/pgSQL keeps its plan for the session (one shared function taking
-- the rows as dynamic SQL would plan every call). Minutes are UTC (date_bin, not the
-- session's time zone).

-- Updates: only rows with a finished version whose counted columns changed. A claim or a
-- heartbeat (finished_at NULL before and after) is filtered out by the first test.
CREATE FUNCTION ai_jobs_roll_up_updated() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  -- Most statements (claims, heartbeats) touch no finished version: two short scans
  -- instead of the join below.
  IF NOT EXISTS (SELECT 1 FROM finished_new WHERE finished_at IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM finished_old WHERE finished_at IS NOT NULL) THEN
    RETURN NULL;
  END IF;
  INSERT INTO ai_job_finishes AS r (minute, owner_service, task_type, model_profile, status, error_category,
                                    shard, jobs, duration_jobs, duration_sum_ms, prompt_tokens, completion_tokens,
                                    audio_seconds)
  SELECT date_bin('1 minute', f.finished_at, timestamptz '2000-01-01 00:00:00+00'), f.owner_service, f.task_type,
         f.model_profile, f.status, coalesce(f.error_category, ''), pg_backend_pid(), sum(f.sign),
         coalesce(sum(f.sign) FILTER (WHERE f.duration_ms IS NOT NULL), 0), coalesce(sum(f.sign * f.duration_ms), 0),
         coalesce(sum(f.sign * ai_result_prompt_tokens(f.result)), 0),
         coalesce(sum(f.sign * ai_result_completion_tokens(f.result)), 0),
         coalesce(sum(f.sign * coalesce(
           CASE WHEN jsonb_typeof(f.result -> 'audio_duration_sec') = 'number'
                THEN (f.result ->> 'audio_duration_sec')::float8 END,
           CASE WHEN jsonb_typeof(f.result -> 'attempts') = 'array' THEN
             (SELECT max((x ->> 'audio_duration_sec')::float8) FROM jsonb_array_elements(f.result -> 'attempts') x
              WHERE jsonb_typeof(x -> 'audio_duration_sec') = 'number') END)), 0)
  FROM finished_new n JOIN finished_old o ON o.id = n.id
       CROSS JOIN LATERAL (VALUES (n.finished_at, n.owner_service, n.task_type, n.model_profile, n.status, n.error_category, n.duration_ms, n.result, 1), (o.finished_at, o.owner_service, o.task_type, o.model_profile, o.status, o.error_category, o.duration_ms, o.result, -1))
         AS f(finished_at, owner_service, task_type, model_profile, status, error_category, duration_ms, result, sign)
  WHERE (n.finished_at IS NOT NULL OR o.finished_at IS NOT NULL)
    AND (n.finished_at, n.owner_service, n.task_type, n.model_profile, n.status, n.error_category, n.duration_ms, n.result) IS DISTINCT FROM (o.finished_at, o.owner_service, o.task_type, o.model_profile, o.status, o.error_category, o.duration_ms, o.result)
    AND f.finished_at IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (minute, owner_service, task_type, model_profile, status, error_category, shard) DO UPDATE SET
    jobs = r.jobs + EXCLUDED.jobs,
    duration_jobs = r.duration_jobs + EXCLUDED.duration_jobs,
    duration_sum_ms = r.duration_sum_ms + EXCLUDED.duration_sum_ms,
    prompt_tokens = r.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = r.completion_tokens + EXCLUDED.completion_tokens,
    audio_seconds = r.audio_seconds + EXCLUDED.audio_seconds;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER ai_jobs_roll_up_updated AFTER UPDATE ON ai_jobs
  REFERENCING OLD TABLE AS finished_old NEW TABLE AS finished_new
  FOR EACH STATEMENT EXECUTE FUNCTION ai_jobs_roll_up_updated();

CREATE FUNCTION ai_jobs_roll_up_deleted() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO ai_job_finishes AS r (minute, owner_service, task_type, model_profile, status, error_category,
                                    shard, jobs, duration_jobs, duration_sum_ms, prompt_tokens, completion_tokens,
                                    audio_seconds)
  SELECT date_bin('1 minute', f.finished_at, timestamptz '2000-01-01 00:00:00+00'), f.owner_service, f.task_type,
         f.model_profile, f.status, coalesce(f.error_category, ''), pg_backend_pid(), sum(-1),
         coalesce(sum(-1) FILTER (WHERE f.duration_ms IS NOT NULL), 0), coalesce(sum(-1 * f.duration_ms), 0),
         coalesce(sum(-1 * ai_result_prompt_tokens(f.result)), 0),
         coalesce(sum(-1 * ai_result_completion_tokens(f.result)), 0),
         coalesce(sum(-1 * coalesce(
           CASE WHEN jsonb_typeof(f.result -> 'audio_duration_sec') = 'number'
                THEN (f.result ->> 'audio_duration_sec')::float8 END,
           CASE WHEN jsonb_typeof(f.result -> 'attempts') = 'array' THEN
             (SELECT max((x ->> 'audio_duration_sec')::float8) FROM jsonb_array_elements(f.result -> 'attempts') x
              WHERE jsonb_typeof(x -> 'audio_duration_sec') = 'number') END)), 0)
  FROM deleted f
  WHERE f.finished_at IS NOT NULL AND f.finished_at >= now() - interval '8 days'
  GROUP BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (minute, owner_service, task_type, model_profile, status, error_category, shard) DO UPDATE SET
    jobs = r.jobs + EXCLUDED.jobs,
    duration_jobs = r.duration_jobs + EXCLUDED.duration_jobs,
    duration_sum_ms = r.duration_sum_ms + EXCLUDED.duration_sum_ms,
    prompt_tokens = r.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = r.completion_tokens + EXCLUDED.completion_tokens,
    audio_seconds = r.audio_seconds + EXCLUDED.audio_seconds;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER ai_jobs_roll_up_deleted AFTER DELETE ON ai_jobs
  REFERENCING OLD TABLE AS deleted
  FOR EACH STATEMENT EXECUTE FUNCTION ai_jobs_roll_up_deleted();

CREATE FUNCTION ai_jobs_roll_up_truncated() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM ai_job_finishes;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER ai_jobs_roll_up_truncated AFTER TRUNCATE ON ai_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION ai_jobs_roll_up_truncated();

-- Inserts: rows that arrive already finished (a restore, a bulk load). Migration 003's
-- insert trigger already has the inserted rows: one function call does both.
DROP TRIGGER ai_jobs_notify_insert ON ai_jobs;

CREATE FUNCTION ai_jobs_inserted() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('ai_jobs_pending', t.task_type)
  FROM (SELECT DISTINCT task_type FROM inserted WHERE status = 'pending') t;
  IF NOT EXISTS (SELECT 1 FROM inserted WHERE finished_at IS NOT NULL) THEN
    RETURN NULL;
  END IF;
  INSERT INTO ai_job_finishes AS r (minute, owner_service, task_type, model_profile, status, error_category,
                                    shard, jobs, duration_jobs, duration_sum_ms, prompt_tokens, completion_tokens,
                                    audio_seconds)
  SELECT date_bin('1 minute', f.finished_at, timestamptz '2000-01-01 00:00:00+00'), f.owner_service, f.task_type,
         f.model_profile, f.status, coalesce(f.error_category, ''), pg_backend_pid(), sum(1),
         coalesce(sum(1) FILTER (WHERE f.duration_ms IS NOT NULL), 0), coalesce(sum(1 * f.duration_ms), 0),
         coalesce(sum(1 * ai_result_prompt_tokens(f.result)), 0),
         coalesce(sum(1 * ai_result_completion_tokens(f.result)), 0),
         coalesce(sum(1 * coalesce(
           CASE WHEN jsonb_typeof(f.result -> 'audio_duration_sec') = 'number'
                THEN (f.result ->> 'audio_duration_sec')::float8 END,
           CASE WHEN jsonb_typeof(f.result -> 'attempts') = 'array' THEN
             (SELECT max((x ->> 'audio_duration_sec')::float8) FROM jsonb_array_elements(f.result -> 'attempts') x
              WHERE jsonb_typeof(x -> 'audio_duration_sec') = 'number') END)), 0)
  FROM inserted f
  WHERE f.finished_at IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (minute, owner_service, task_type, model_profile, status, error_category, shard) DO UPDATE SET
    jobs = r.jobs + EXCLUDED.jobs,
    duration_jobs = r.duration_jobs + EXCLUDED.duration_jobs,
    duration_sum_ms = r.duration_sum_ms + EXCLUDED.duration_sum_ms,
    prompt_tokens = r.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = r.completion_tokens + EXCLUDED.completion_tokens,
    audio_seconds = r.audio_seconds + EXCLUDED.audio_seconds;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER ai_jobs_notify_insert AFTER INSERT ON ai_jobs
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION ai_jobs_inserted();

-- Rebuilds the minutes of [since, until) from ai_jobs: the jobs finished before this
-- migration, or after a load that bypassed the triggers (ALTER TABLE … DISABLE TRIGGER).
CREATE FUNCTION ai_job_finishes_rebuild(since timestamptz, until timestamptz) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  m0 timestamptz := date_bin('1 minute', since, timestamptz '2000-01-01 00:00:00+00');
  m1 timestamptz := date_bin('1 minute', until, timestamptz '2000-01-01 00:00:00+00') + interval '1 minute';
BEGIN
  DELETE FROM ai_job_finishes WHERE minute >= m0 AND minute < m1;
  INSERT INTO ai_job_finishes AS r (minute, owner_service, task_type, model_profile, status, error_category,
                                    shard, jobs, duration_jobs, duration_sum_ms, prompt_tokens, completion_tokens,
                                    audio_seconds)
  SELECT date_bin('1 minute', f.finished_at, timestamptz '2000-01-01 00:00:00+00'), f.owner_service, f.task_type,
         f.model_profile, f.status, coalesce(f.error_category, ''), 0, sum(1),
         coalesce(sum(1) FILTER (WHERE f.duration_ms IS NOT NULL), 0), coalesce(sum(1 * f.duration_ms), 0),
         coalesce(sum(1 * ai_result_prompt_tokens(f.result)), 0),
         coalesce(sum(1 * ai_result_completion_tokens(f.result)), 0),
         coalesce(sum(1 * coalesce(
           CASE WHEN jsonb_typeof(f.result -> 'audio_duration_sec') = 'number'
                THEN (f.result ->> 'audio_duration_sec')::float8 END,
           CASE WHEN jsonb_typeof(f.result -> 'attempts') = 'array' THEN
             (SELECT max((x ->> 'audio_duration_sec')::float8) FROM jsonb_array_elements(f.result -> 'attempts') x
              WHERE jsonb_typeof(x -> 'audio_duration_sec') = 'number') END)), 0)
  FROM ai_jobs f
  WHERE f.finished_at >= m0 AND f.finished_at < m1
  GROUP BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (minute, owner_service, task_type, model_profile, status, error_category, shard) DO UPDATE SET
    jobs = r.jobs + EXCLUDED.jobs,
    duration_jobs = r.duration_jobs + EXCLUDED.duration_jobs,
    duration_sum_ms = r.duration_sum_ms + EXCLUDED.duration_sum_ms,
    prompt_tokens = r.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = r.completion_tokens + EXCLUDED.completion_tokens,
    audio_seconds = r.audio_seconds + EXCLUDED.audio_seconds;
END
$fn$;

SELECT ai_job_finishes_rebuild(now() - interval '8 days', now());
-- Readers take a range of the primary key (minute first); without statistics the planner
-- guesses a third of the table for it and scans the whole table instead.
ANALYZE ai_job_finishes;
