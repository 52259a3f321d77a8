-- The job table and the indexes each access path needs. Every index here is paid for on
-- every state change, so each one names the query it serves.

-- Time-ordered UUID v7 (RFC 9562) without an extension: PostgreSQL 15-17 lack uuidv7().
-- Newest-first listing and keyset pagination then need only the primary key.
CREATE FUNCTION ai_uuidv7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

CREATE TABLE ai_jobs (
  id               uuid PRIMARY KEY DEFAULT ai_uuidv7(),
  owner_service    text NOT NULL,
  owner_ref        text NOT NULL,
  task_type        text NOT NULL,
  model_profile    text NOT NULL,
  input            jsonb NOT NULL,
  result           jsonb,
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  priority         integer NOT NULL DEFAULT 0,
  run_after        timestamptz NOT NULL DEFAULT now(),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  worker_id        text,
  lease_token      uuid,
  lease_expires_at timestamptz,
  error_category   text,
  error_message    text,
  idempotency_key  text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  duration_ms      integer,
  -- A running job always holds a lease; nothing else may.
  CONSTRAINT ai_jobs_running_has_lease CHECK ((status = 'running') = (lease_expires_at IS NOT NULL))
);

-- claim: the next pending jobs by priority, then run_after. Partial, so it holds only the
-- (usually small) pending set no matter how many finished jobs the table keeps.
CREATE INDEX ai_jobs_claim_idx ON ai_jobs (priority DESC, run_after, id)
  INCLUDE (task_type, model_profile) WHERE status = 'pending';

-- reap: expired leases; also running counts per task_type/model_profile for stats.
CREATE INDEX ai_jobs_lease_idx ON ai_jobs (lease_expires_at)
  INCLUDE (task_type, model_profile) WHERE status = 'running';

-- create with idempotency_key: one job per (owner_service, key).
CREATE UNIQUE INDEX ai_jobs_idempotency_idx ON ai_jobs (owner_service, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- list by owner (the callers' main read: "my results for beeline/{call_id}"), newest first.
CREATE INDEX ai_jobs_owner_idx ON ai_jobs (owner_service, owner_ref, id DESC);

-- list by status, newest first (failed jobs to inspect or retry, etc.).
CREATE INDEX ai_jobs_status_idx ON ai_jobs (status, id DESC);

-- prune and the recent-window stats (durations, error counters) read finished jobs by time.
CREATE INDEX ai_jobs_finished_idx ON ai_jobs (finished_at)
  INCLUDE (status, error_category, duration_ms, task_type, model_profile)
  WHERE finished_at IS NOT NULL;

-- Wake idle workers the moment a job becomes claimable (insert, retry, backoff re-queue).
-- Row-level with a WHEN clause so claims and completes never call the function; identical
-- notifications in one transaction are folded by PostgreSQL, so a batch insert sends one
-- per task_type.
CREATE FUNCTION ai_jobs_notify_pending() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ai_jobs_pending', NEW.task_type);
  RETURN NULL;
END
$$;

CREATE TRIGGER ai_jobs_notify_insert AFTER INSERT ON ai_jobs
  FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION ai_jobs_notify_pending();
CREATE TRIGGER ai_jobs_notify_requeue AFTER UPDATE OF status ON ai_jobs
  FOR EACH ROW WHEN (NEW.status = 'pending' AND OLD.status <> 'pending') EXECUTE FUNCTION ai_jobs_notify_pending();
