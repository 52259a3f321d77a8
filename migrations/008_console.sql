-- Usage per calling service, rolled up by hour (lib/jobs/usage.ts). GET /api/v1/usage and
-- the console's Usage page sum these for the whole hours of their window and read only
-- the ragged edges from ai_jobs: without them a 24 h window at 1M rows read ~33k results
-- (≈1 s) and 7 days ~230k. Filled lazily by those reads, never on the job write path: an
-- hour is rolled up the first time it is asked for once it is over (10 minutes after its
-- end, when no job can still be given a finished_at inside it).
-- Kept when old jobs are pruned, so usage outlives JOB_RETENTION. A job retried after its
-- hour was rolled up is counted again when it finishes again: it did use the resources twice.
CREATE TABLE ai_usage_hourly (
  hour              timestamptz NOT NULL,
  owner_service     text NOT NULL,
  model_profile     text NOT NULL,
  jobs              integer NOT NULL,
  completed         integer NOT NULL,
  failed            integer NOT NULL,
  prompt_tokens     double precision NOT NULL,
  completion_tokens double precision NOT NULL,
  audio_seconds     double precision NOT NULL,
  busy_seconds      double precision NOT NULL,
  PRIMARY KEY (hour, owner_service, model_profile)
);

-- Which hours are rolled up (an hour without jobs has no rows above but is still done).
CREATE TABLE ai_usage_hours (
  hour        timestamptz PRIMARY KEY,
  computed_at timestamptz NOT NULL DEFAULT now()
);
