-- The claim in one statement (lib/jobs/claim.ts). Queue control needs its state read
-- AFTER its locks are held, and a statement's own snapshot is taken before anything in it
-- runs; a VOLATILE function's statements each take a fresh snapshot, so this function is
-- where the claim takes its locks and then reads what they guard:
--
--   1. the shared queue-control lock (pause/resume/limit changes take it exclusively, so
--      a control change either is visible below or waits for this claim to commit);
--   2. every group with a limit, a token budget or a pause (configuration in `policy`,
--      run-time values in ai_queues winning), read after 1;
--   3. one advisory lock per limited group this claim could draw from (the worker's
--      filter; empty = any), in a fixed order (no deadlocks), held to commit: exclusive,
--      or shared while the limit is far from reach (see "Headroom" below);
--   4. with those held, what each locked group runs and has reserved: every claim of the
--      group that committed before is counted, none can commit meanwhile.
--
-- VOLATILE is the point: declared STABLE, its reads would use the calling statement's
-- snapshot, and the two "a claim that waited behind …" tests in test/core/concurrency.test.ts
-- fail (a pause missed, a limit of 2 overshot to 4). With nothing configured it takes one
-- shared lock and reads the (empty) ai_queues.
-- Lock class ids: 0x61697163 "aiqc" (control), 0x61697167 "aiqg" (group), as in claim.ts.
CREATE FUNCTION ai_claim_controls(task_types text[], model_profiles text[], policy jsonb, claim_limit integer)
RETURNS TABLE (g text, max_running integer, budget integer, paused boolean, locked boolean,
               running integer, reserved bigint)
LANGUAGE plpgsql VOLATILE ROWS 10 AS $$
DECLARE
  -- The largest claim any claimer issues (the HTTP schema and WORKER_CLAIM_LIMIT stop at 1000).
  max_claim integer := coalesce((policy ->> 'max_claim')::int, 1000);
  limited text[];
  lim_max integer[];
  lim_budget integer[];
  shared text[] := '{}';
  k text;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(1634300259, 0);
  SELECT coalesce(array_agg(c.g ORDER BY c.g), '{}'),
         coalesce(array_agg(coalesce(q.max_running, (policy -> 'limits' ->> c.g)::int) ORDER BY c.g), '{}'),
         coalesce(array_agg(coalesce(q.token_budget, CASE WHEN c.g LIKE 'model_profile:%'
                                     THEN (policy -> 'budgets' ->> substr(c.g, 15))::int END) ORDER BY c.g), '{}')
    INTO limited, lim_max, lim_budget
  FROM (
    SELECT jsonb_object_keys(policy -> 'limits') AS g
    UNION SELECT 'model_profile:' || jsonb_object_keys(policy -> 'budgets')
    UNION SELECT q1.scope || ':' || q1.name FROM ai_queues q1
    WHERE q1.max_running IS NOT NULL OR q1.token_budget IS NOT NULL
  ) c
  LEFT JOIN ai_queues q ON q.scope || ':' || q.name = c.g
  WHERE CASE WHEN c.g LIKE 'model_profile:%'
             THEN cardinality(model_profiles) = 0 OR substr(c.g, 15) = ANY(model_profiles)
             ELSE cardinality(task_types) = 0 OR substr(c.g, 11) = ANY(task_types) END;
  FOR i IN 1 .. cardinality(limited) LOOP
    k := limited[i];
    -- Headroom: a limit that even every claimer now holding the group shared, plus this
    -- one, each leasing max_claim jobs, could not pass is taken SHARED, so such claims run
    -- side by side; re-checked below with the lock held. Otherwise (a limit that may bind,
    -- a token budget, a claim larger than max_claim) it is taken exclusively.
    IF claim_limit <= max_claim AND lim_budget[i] IS NULL AND lim_max[i] IS NOT NULL
       AND (SELECT count(*) FROM ai_jobs j
            WHERE j.status = 'running'
              AND CASE WHEN k LIKE 'model_profile:%' THEN j.model_profile = substr(k, 15)
                       ELSE j.task_type = substr(k, 11) END)
         + (1 + (SELECT count(*) FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.classid = 1634300263 AND l.objid::int = hashtext(k)
                   AND l.objsubid = 2 AND l.mode = 'ShareLock' AND l.granted)) * max_claim
         <= lim_max[i] THEN
      PERFORM pg_advisory_xact_lock_shared(1634300263, hashtext(k));
      shared := shared || k;
    ELSE
      PERFORM pg_advisory_xact_lock(1634300263, hashtext(k));
    END IF;
  END LOOP;
  RETURN QUERY
  WITH controls AS (
    SELECT k2.g, substr(k2.g, strpos(k2.g, ':') + 1) AS name, k2.g LIKE 'model_profile:%' AS is_profile,
           coalesce(q.max_running, (policy -> 'limits' ->> k2.g)::int) AS max_running,
           coalesce(q.token_budget, CASE WHEN k2.g LIKE 'model_profile:%'
                                         THEN (policy -> 'budgets' ->> substr(k2.g, 15))::int END) AS budget,
           coalesce(q.paused, false) AS paused
    FROM (
      SELECT jsonb_object_keys(policy -> 'limits') AS g
      UNION SELECT 'model_profile:' || jsonb_object_keys(policy -> 'budgets')
      UNION SELECT q0.scope || ':' || q0.name FROM ai_queues q0
    ) k2
    LEFT JOIN ai_queues q ON q.scope || ':' || q.name = k2.g
  )
  -- A group held shared is usable only if the headroom still holds now that the lock is
  -- held: what runs (committed) + max_claim for every shared holder, this one included.
  -- Each in-flight shared claim leases at most max_claim, an exclusive claim runs alone,
  -- so the committed count never passes the limit. Failing the re-check, the group is
  -- left alone by this claim (it is then at the edge; the next claim takes it exclusively).
  SELECT c.g, c.max_running, c.budget, c.paused,
         c.g = ANY(limited) AND (NOT c.g = ANY(shared) OR u.running + h.holders * max_claim <= c.max_running),
         u.running, u.reserved
  FROM controls c
  LEFT JOIN LATERAL (
    SELECT count(*)::int AS running, coalesce(sum(j.token_cost), 0)::bigint AS reserved
    FROM ai_jobs j
    WHERE c.g = ANY(limited) AND j.status = 'running'
      AND ((c.is_profile AND j.model_profile = c.name) OR (NOT c.is_profile AND j.task_type = c.name))
  ) u ON c.g = ANY(limited)
  LEFT JOIN LATERAL (
    SELECT count(*)::int AS holders FROM pg_locks l
    WHERE c.g = ANY(shared) AND l.locktype = 'advisory' AND l.classid = 1634300263
      AND l.objid::int = hashtext(c.g) AND l.objsubid = 2 AND l.mode = 'ShareLock' AND l.granted
  ) h ON true;
END
$$;
