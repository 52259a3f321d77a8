-- Transcription comparisons off the caller's critical path (issue 12).
--
-- A `transcribe` job completes with its first successful provider's transcript; the other
-- providers of TRANSCRIPTION_PROVIDERS are marked `pending` in result.attempts and run
-- afterwards as jobs of their own: task_type `transcribe_compare`, model_profile = the
-- provider, parent_id = the transcript's job. Being ai_jobs rows, they are leased,
-- heartbeaten, reaped and retried like any job, and per-profile limits and pause apply to
-- them at claim time. Callers never see them: the list and stats queries keep to
-- `parent_id IS NULL`.
--
-- Who writes the parent's attempts[i] (never its status, finished_at or updated_at, so the
-- transcript is never reopened or re-announced):
--   completed  the comparison worker, in one transaction that locks the parent row and
--              stores the transcript with its agreement to every other completed provider
--              (lib/jobs/comparisons.ts: WER is computed in TypeScript, not here);
--   failed     the trigger below, when the comparison job ends failed or cancelled by any
--              path (final failure, retries exhausted, reaper, cancel by filter).
-- Both only touch an entry that is still `pending`, and set result.comparison to
-- 'complete' once none is left.

ALTER TABLE ai_jobs ADD COLUMN parent_id uuid;

-- One comparison job per (transcript, provider): the enqueue below is idempotent, and
-- this is how a transcript's comparisons are found. Partial: callers' jobs (parent_id
-- NULL) are not in it, so it costs nothing on their writes. No foreign key: prune deletes
-- finished parents in batches and must not wait on their children; a comparison whose
-- parent is gone ends without doing anything.
CREATE UNIQUE INDEX ai_jobs_parent_idx ON ai_jobs (parent_id, model_profile) WHERE parent_id IS NOT NULL;

-- Enqueue, atomic with the transcript's completion (the same statement: complete or
-- completeMany). Priority: below every caller-settable priority (-1000..1000), keeping
-- the parents' relative order, so a claim always takes first transcripts first.
-- max_attempts follows the parent's.
CREATE FUNCTION ai_jobs_enqueue_comparisons() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.result->>'comparison' IS DISTINCT FROM 'pending' THEN
    RETURN NULL;
  END IF;
  INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input, priority, max_attempts, parent_id)
  SELECT NEW.owner_service, NEW.owner_ref, 'transcribe_compare', a.value->>'provider',
         jsonb_build_object('attempt', a.n - 1, 'provider', a.value->>'provider'),
         NEW.priority - 2001, NEW.max_attempts, NEW.id
  FROM jsonb_array_elements(NEW.result->'attempts') WITH ORDINALITY AS a(value, n)
  WHERE a.value->>'status' = 'pending'
  ON CONFLICT (parent_id, model_profile) WHERE parent_id IS NOT NULL DO NOTHING;
  RETURN NULL;
END
$$;

-- Row-level with a WHEN clause, like ai_jobs_notify_requeue: claims, heartbeats and every
-- other task type's completions never call the function.
CREATE TRIGGER ai_jobs_enqueue_comparisons AFTER UPDATE OF status ON ai_jobs
  FOR EACH ROW WHEN (NEW.status = 'completed' AND OLD.status <> 'completed' AND NEW.task_type = 'transcribe')
  EXECUTE FUNCTION ai_jobs_enqueue_comparisons();

-- A comparison that ended without a transcript: its entry becomes `failed` with the job's
-- error. The parent row is locked first, so this serialises with a sibling comparison
-- recording its transcript (lib/jobs/comparisons.ts takes the same lock).
CREATE FUNCTION ai_jobs_comparison_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  i integer := (NEW.input->>'attempt')::integer;
  entries jsonb;
BEGIN
  SELECT result->'attempts' INTO entries FROM ai_jobs WHERE id = NEW.parent_id FOR UPDATE;
  IF i IS NULL OR entries IS NULL OR entries->i->>'status' IS DISTINCT FROM 'pending' THEN
    RETURN NULL;
  END IF;
  entries := jsonb_set(entries, ARRAY[i::text], (entries->i) || jsonb_build_object(
    'status', 'failed',
    'text', '',
    'segments', '[]'::jsonb,
    'duration_ms', coalesce(NEW.duration_ms, 0),
    'error', jsonb_build_object(
      'category', coalesce(NEW.error_category, 'cancelled'),
      'message', coalesce(NEW.error_message, 'comparison ' || NEW.status))));
  UPDATE ai_jobs SET result = result || jsonb_build_object(
      'attempts', entries,
      'comparison', CASE WHEN jsonb_path_exists(entries, '$[*] ? (@.status == "pending")')
                         THEN 'pending' ELSE 'complete' END)
  WHERE id = NEW.parent_id;
  RETURN NULL;
END
$$;

CREATE TRIGGER ai_jobs_comparison_ended AFTER UPDATE OF status ON ai_jobs
  FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL AND NEW.status IN ('failed', 'cancelled') AND OLD.status <> NEW.status)
  EXECUTE FUNCTION ai_jobs_comparison_ended();
