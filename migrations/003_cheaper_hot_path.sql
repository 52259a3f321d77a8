-- Cheaper writes on the claim/complete hot path. Measured on the raw SKIP LOCKED loop
-- (PostgreSQL CPU per job, 20k jobs, median of 3): 44 µs with 001+002, 37 µs without the
-- per-row finished trigger, 38 µs without ai_jobs_status_idx, 34 µs without both.

-- 1. ai_jobs_status_idx took a new entry on every claim and every completion. Each status
--    list now has a partial index that rows enter only when they reach that status:
--    pending → ai_jobs_claim_idx, running → ai_jobs_lease_idx, failed and cancelled below;
--    completed (the bulk of the table) is read newest-first from the primary key.
DROP INDEX ai_jobs_status_idx;
CREATE INDEX ai_jobs_failed_idx ON ai_jobs (id DESC) WHERE status = 'failed';
CREATE INDEX ai_jobs_cancelled_idx ON ai_jobs (id DESC) WHERE status = 'cancelled';

-- 2. The finished notification was a plpgsql call per row. The statements that end jobs
--    (lib/jobs: complete, completeMany, fail, cancel, reap) now call this once with all
--    their ids; it sends one NOTIFY per 200 ids (a payload must stay under 8000 bytes).
DROP TRIGGER ai_jobs_notify_finished ON ai_jobs;
DROP FUNCTION ai_jobs_notify_finished();

CREATE FUNCTION ai_jobs_notify_finished(ids uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer := coalesce(array_length(ids, 1), 0);
  i integer := 1;
BEGIN
  WHILE i <= n LOOP
    PERFORM pg_notify('ai_jobs_finished', array_to_string(ids[i:i + 199], ','));
    i := i + 200;
  END LOOP;
  RETURN n;
END
$$;

-- 3. New jobs: one trigger call per INSERT statement instead of per row (a 1,000-job batch
--    made 1,000 calls), one NOTIFY per task type. Requeues (UPDATE to pending) stay
--    per-row: they are rare, and their WHEN clause keeps claims and completions free.
DROP TRIGGER ai_jobs_notify_insert ON ai_jobs;

CREATE FUNCTION ai_jobs_notify_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ai_jobs_pending', t.task_type)
  FROM (SELECT DISTINCT task_type FROM inserted WHERE status = 'pending') t;
  RETURN NULL;
END
$$;

CREATE TRIGGER ai_jobs_notify_insert AFTER INSERT ON ai_jobs
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION ai_jobs_notify_inserted();
