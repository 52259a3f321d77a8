-- Completion webhooks (issue 15). A job may carry a webhook_url; when it reaches a
-- terminal state whose event it asked for, a delivery row is written by the very
-- transaction that ended it, so no ending can be lost between "job finished" and "send
-- the webhook". Deliveries are durable work of their own: claimed with a lock time (a
-- dispatcher that dies simply lets the lock run out), retried with backoff until a
-- horizon, every attempt logged. A delivery never changes its job.
ALTER TABLE ai_jobs
  ADD COLUMN webhook_url text,
  ADD COLUMN webhook_events text[];

CREATE TABLE ai_webhook_deliveries (
  -- Sent as the `webhook-id` header: stable across retries so receivers can dedupe.
  id              uuid PRIMARY KEY DEFAULT ai_uuidv7(),
  job_id          uuid NOT NULL REFERENCES ai_jobs (id) ON DELETE CASCADE,
  owner_service   text NOT NULL,
  event           text NOT NULL CHECK (event IN ('completed', 'failed', 'cancelled')),
  url             text NOT NULL,
  -- The job as it was when it ended (to_jsonb of the row, minus the lease token): a later
  -- retry of the job must not change what this event reports.
  job             jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  -- When the next attempt is due. A claimed delivery has it moved past its send timeout,
  -- which doubles as the claim's lock: a crashed dispatcher's delivery is due again then.
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  -- Every attempt: {"at","status","latency_ms","error","response"} (newest last, ≤ 50 kept).
  log             jsonb NOT NULL DEFAULT '[]'::jsonb
);

-- The dispatcher's claim: due pending deliveries, oldest first. Partial, so finished
-- deliveries cost the claim nothing.
CREATE INDEX ai_webhook_due_idx ON ai_webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- A job's deliveries (GET /api/v1/jobs/{id}/webhooks) and the cascade on prune.
CREATE INDEX ai_webhook_job_idx ON ai_webhook_deliveries (job_id);

-- Row-level with a WHEN clause: jobs without a webhook (the hot path) never call the function.
CREATE FUNCTION ai_jobs_enqueue_webhook() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.webhook_events IS NULL OR NEW.status = ANY (NEW.webhook_events) THEN
    INSERT INTO ai_webhook_deliveries (job_id, owner_service, event, url, job)
    VALUES (NEW.id, NEW.owner_service, NEW.status, NEW.webhook_url, to_jsonb(NEW) - 'lease_token');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER ai_jobs_enqueue_webhook AFTER UPDATE OF status ON ai_jobs
  FOR EACH ROW WHEN (NEW.webhook_url IS NOT NULL AND OLD.status IS DISTINCT FROM NEW.status
                     AND NEW.status IN ('completed', 'failed', 'cancelled'))
  EXECUTE FUNCTION ai_jobs_enqueue_webhook();
