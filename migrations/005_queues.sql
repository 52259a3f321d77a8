-- Queue control enforced at claim time (issue 11) and the lease length a claim chose
-- (issue 10, defect 1). lib/jobs/claim.ts reads all of it inside the claim transaction.

-- The lease length chosen at claim: heartbeats extend by it unless they name another.
ALTER TABLE ai_jobs ADD COLUMN lease_ms integer;
-- Token-aware admission: the estimate reserved at claim for a profile with a token budget
-- (prompt chars / 4 + max_tokens), and the usage reported when the job completed.
ALTER TABLE ai_jobs ADD COLUMN token_cost integer;
ALTER TABLE ai_jobs ADD COLUMN tokens_used integer;

-- Fair claims: the next ready jobs of one owner_service for one task_type × model_profile,
-- in priority order. The claim walks the distinct (owner, task type, profile) triples with
-- pending work on this index (a loose index scan: one descent per triple), drops those the
-- worker does not serve or that are paused or full, and takes a few jobs from each, so a
-- caller with 10,000 queued jobs cannot push a later caller to the back, and a worker
-- never walks past jobs of task types it does not serve.
CREATE INDEX ai_jobs_owner_claim_idx ON ai_jobs (owner_service, task_type, model_profile, priority DESC, run_after, id)
  WHERE status = 'pending';

-- One row per controlled group: a model_profile or a task_type. A run-time limit or token
-- budget here wins over the configuration (PROFILE_LIMITS, TASK_TYPE_LIMITS,
-- PROFILE_TOKEN_BUDGETS) until it is cleared (set to NULL).
CREATE TABLE ai_queues (
  scope         text NOT NULL CHECK (scope IN ('model_profile', 'task_type')),
  name          text NOT NULL,
  max_running   integer CHECK (max_running >= 0),
  token_budget  integer CHECK (token_budget >= 1),
  paused        boolean NOT NULL DEFAULT false,
  -- false: running jobs are released (back to pending) at their next heartbeat.
  drain         boolean NOT NULL DEFAULT true,
  paused_reason text,
  paused_by     text,
  paused_at     timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, name)
);

-- Workers seen by the claim: one row per (worker, claim filter), because a worker's
-- handlers claim in groups and the union of their filters would overstate what it serves.
-- Empty arrays mean "any".
CREATE TABLE ai_workers (
  worker_id      text NOT NULL,
  task_types     text[] NOT NULL,
  model_profiles text[] NOT NULL,
  version        text,
  first_seen     timestamptz NOT NULL DEFAULT now(),
  last_seen      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (worker_id, task_types, model_profiles)
);
CREATE INDEX ai_workers_seen_idx ON ai_workers (last_seen);

-- Settle a token reservation with the usage the job reported. Row-level with a WHEN
-- clause that only budgeted jobs match, so other completions never call the function.
CREATE FUNCTION ai_jobs_settle_tokens() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  used jsonb := NEW.result -> 'usage' -> 'total_tokens';
BEGIN
  IF jsonb_typeof(used) = 'number' THEN
    NEW.tokens_used := least((used #>> '{}')::numeric, 2147483647)::integer;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER ai_jobs_settle_tokens BEFORE UPDATE OF status ON ai_jobs
  FOR EACH ROW WHEN (OLD.token_cost IS NOT NULL AND OLD.status = 'running' AND NEW.status = 'completed')
  EXECUTE FUNCTION ai_jobs_settle_tokens();
