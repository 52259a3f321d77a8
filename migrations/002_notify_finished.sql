-- Long-polling readers (GET /api/v1/jobs/{id}?wait=…) wake the moment a job reaches a
-- terminal state instead of re-reading it on a timer. Payload: the job id. Fires only on
-- the transition into a terminal state (WHEN clause), never on claims or heartbeats.
CREATE FUNCTION ai_jobs_notify_finished() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ai_jobs_finished', NEW.id::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER ai_jobs_notify_finished AFTER UPDATE OF status ON ai_jobs
  FOR EACH ROW WHEN (NEW.status IN ('completed', 'failed', 'cancelled') AND OLD.status <> NEW.status)
  EXECUTE FUNCTION ai_jobs_notify_finished();
