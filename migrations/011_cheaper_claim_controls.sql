-- ai_claim_controls (migration 010) again, with the same locks in the same order and the
-- same answer, at a fraction of the cost: with a profile limit on, it cost a claim of 500
-- jobs ~4.6 ms more than with nothing configured (1,500 running rows: +10 % PostgreSQL
-- CPU per job in the burn-down, issue 11's budget for all of queue control). Where it went
-- and what changed:
--
--   * The running count matched each row against a CASE over the group key (LIKE +
--     substr per row) and summed token_cost, so it fetched every running row of every
--     group from the heap. It is now `model_profile = $name` or `task_type = $name`, an
--     index-only scan of ai_jobs_lease_idx (it INCLUDEs both columns), and token_cost is
--     summed only for a group with a token budget.
--   * pg_locks (a copy of the whole lock table) was read twice per limited group to count
--     the claims holding it shared. No more claimers can hold it than there are backends,
--     so while running + backends × max_claim stays under the limit (a limit far from
--     reach, e.g. 1,000,000) it is not read at all.
--   * A limit smaller than one claim of max_claim can never be taken shared, so the
--     count before the lock (the one that chooses the mode) is skipped for it: the small
--     GPU limits (2-16) count once, with the lock held.
--   * With nothing configured (empty limits and budgets, ai_queues empty) the function
--     returns after the shared control lock and one probe of ai_queues.
--
--   * One race fixed: near the limit, the claims holding a group shared are read before
--     the count that is checked against them, not after it (see the shared branch below).
--
-- The rules are otherwise those of migration 010: the shared queue-control lock first,
-- the groups read after it, group locks in group-key order (no deadlocks), every count
-- that decides taken with a fresh snapshot after the lock it depends on (VOLATILE: each
-- statement here takes its own snapshot), a shared group re-checked under its lock and
-- left alone by this claim when the re-check fails.
--
-- One column more (so the function is dropped and created again): token_factor, for a
-- budgeted profile with policy.token_quantile below 1 (TOKEN_ESTIMATE_QUANTILE), that
-- quantile of completion_tokens / max_tokens over the profile's last 200 completed
-- answers (ai_jobs_token_usage_idx, migration 012), NULL (the worst case) until 20 have
-- completed. Computed here rather than in the claim statement, whose generic plan would
-- otherwise carry its cost for every claim.
DROP FUNCTION ai_claim_controls(text[], text[], jsonb, integer);
CREATE FUNCTION ai_claim_controls(task_types text[], model_profiles text[], policy jsonb, claim_limit integer)
RETURNS TABLE (g text, max_running integer, budget integer, paused boolean, locked boolean,
               running integer, reserved bigint, token_factor double precision)
LANGUAGE plpgsql VOLATILE ROWS 10 AS $$
DECLARE
  -- The largest claim any claimer issues (the HTTP schema and WORKER_CLAIM_LIMIT stop at 1000).
  max_claim integer := coalesce((policy ->> 'max_claim')::int, 1000);
  -- Every process that could hold a group lock (PostgreSQL's MaxBackends, plus prepared
  -- transactions): a bound on the claims holding a group shared.
  backends integer;
  grp record;
  is_profile boolean;
  key_name text;
  limited boolean;
  n integer;
  holders integer;
  share boolean;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(1634300259, 0);
  IF coalesce(policy -> 'limits', '{}') = '{}' AND coalesce(policy -> 'budgets', '{}') = '{}'
     AND NOT EXISTS (SELECT 1 FROM ai_queues) THEN
    RETURN;
  END IF;
  backends := current_setting('max_connections')::int + current_setting('autovacuum_max_workers')::int + 1
            + current_setting('max_worker_processes')::int + current_setting('max_wal_senders')::int
            + current_setting('max_prepared_transactions')::int;
  FOR grp IN
    SELECT c.g,
           coalesce(q.max_running, (policy -> 'limits' ->> c.g)::int) AS max_running,
           coalesce(q.token_budget, CASE WHEN c.g LIKE 'model_profile:%'
                                         THEN (policy -> 'budgets' ->> substr(c.g, 15))::int END) AS budget,
           coalesce(q.paused, false) AS paused
    FROM (
      SELECT jsonb_object_keys(coalesce(policy -> 'limits', '{}'))
      UNION SELECT 'model_profile:' || jsonb_object_keys(coalesce(policy -> 'budgets', '{}'))
      UNION SELECT q0.scope || ':' || q0.name FROM ai_queues q0
    ) c(g)
    LEFT JOIN ai_queues q ON q.scope || ':' || q.name = c.g
    ORDER BY c.g
  LOOP
    g := grp.g;
    max_running := grp.max_running;
    budget := grp.budget;
    paused := grp.paused;
    locked := false;
    running := NULL;
    reserved := NULL;
    token_factor := NULL;
    is_profile := grp.g LIKE 'model_profile:%';
    key_name := substr(grp.g, strpos(grp.g, ':') + 1);
    -- Only a group with a limit or budget that this worker could draw from is locked and
    -- counted; the claim leaves any other limited group alone.
    limited := (grp.max_running IS NOT NULL OR grp.budget IS NOT NULL)
      AND CASE WHEN is_profile THEN cardinality(model_profiles) = 0 OR key_name = ANY(model_profiles)
               ELSE cardinality(task_types) = 0 OR key_name = ANY(task_types) END;
    IF limited THEN
      -- Headroom: a limit that even every claimer now holding the group shared, plus this
      -- one, each leasing max_claim jobs, could not pass is taken SHARED, so such claims
      -- run side by side. Otherwise (a limit that may bind, a token budget, a claim larger
      -- than max_claim) it is taken exclusively.
      share := false;
      IF claim_limit <= max_claim AND grp.budget IS NULL AND grp.max_running >= max_claim THEN
        IF is_profile THEN
          SELECT count(*)::int INTO n FROM ai_jobs j WHERE j.status = 'running' AND j.model_profile = key_name;
        ELSE
          SELECT count(*)::int INTO n FROM ai_jobs j WHERE j.status = 'running' AND j.task_type = key_name;
        END IF;
        IF n + backends * max_claim <= grp.max_running THEN
          share := true;
        ELSE
          SELECT count(*)::int INTO holders FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.classid = 1634300263 AND l.objid::int = hashtext(grp.g)
            AND l.objsubid = 2 AND l.mode = 'ShareLock' AND l.granted;
          share := n + (holders + 1) * max_claim <= grp.max_running;
        END IF;
      END IF;
      IF share THEN
        PERFORM pg_advisory_xact_lock_shared(1634300263, hashtext(grp.g));
        -- Near the limit the claims holding the group shared are read BEFORE the count:
        -- one that commits in between is then counted twice (as a holder and in the
        -- count), never missed, because a transaction's commit is visible before its
        -- locks are released. Read after the count (migration 010, and this function's
        -- first draft), a holder that committed in between was in neither, and a racing
        -- claim could pass the limit by one (test/core/concurrency.test.ts, "filling a
        -- limit with headroom", ended once at 301 of 300). Far from the limit every
        -- backend counted as a holder still fits, and pg_locks is not read.
        holders := NULL;
        IF n + backends * max_claim > grp.max_running THEN
          SELECT count(*)::int INTO holders FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.classid = 1634300263 AND l.objid::int = hashtext(grp.g)
            AND l.objsubid = 2 AND l.mode = 'ShareLock' AND l.granted;
        END IF;
      ELSE
        PERFORM pg_advisory_xact_lock(1634300263, hashtext(grp.g));
      END IF;
      -- With the lock held: every claim of the group that committed before is counted,
      -- none can commit meanwhile except shared holders (bounded below).
      IF grp.budget IS NOT NULL THEN
        IF is_profile THEN
          SELECT count(*)::int, coalesce(sum(j.token_cost), 0)::bigint INTO n, reserved
          FROM ai_jobs j WHERE j.status = 'running' AND j.model_profile = key_name;
        ELSE
          SELECT count(*)::int, coalesce(sum(j.token_cost), 0)::bigint INTO n, reserved
          FROM ai_jobs j WHERE j.status = 'running' AND j.task_type = key_name;
        END IF;
      ELSIF is_profile THEN
        SELECT count(*)::int INTO n FROM ai_jobs j WHERE j.status = 'running' AND j.model_profile = key_name;
      ELSE
        SELECT count(*)::int INTO n FROM ai_jobs j WHERE j.status = 'running' AND j.task_type = key_name;
      END IF;
      IF share AND holders IS NULL AND n + backends * max_claim > grp.max_running THEN
        -- The group filled up since the count before the lock: holders, then count again.
        SELECT count(*)::int INTO holders FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.classid = 1634300263 AND l.objid::int = hashtext(grp.g)
          AND l.objsubid = 2 AND l.mode = 'ShareLock' AND l.granted;
        IF is_profile THEN
          SELECT count(*)::int INTO n FROM ai_jobs j WHERE j.status = 'running' AND j.model_profile = key_name;
        ELSE
          SELECT count(*)::int INTO n FROM ai_jobs j WHERE j.status = 'running' AND j.task_type = key_name;
        END IF;
      END IF;
      running := n;
      reserved := coalesce(reserved, 0);
      -- A group held shared is usable only if the headroom still holds now that the lock is
      -- held: what runs (committed) + max_claim for every shared holder, this one included.
      -- Each in-flight shared claim leases at most max_claim, an exclusive claim runs alone,
      -- so the committed count never passes the limit. Failing the re-check, the group is
      -- left alone by this claim (it is then at the edge; the next claim takes it exclusively).
      locked := NOT share OR holders IS NULL OR n + holders * max_claim <= grp.max_running;
      IF grp.budget IS NOT NULL AND is_profile AND (policy ->> 'token_quantile')::float8 < 1 THEN
        SELECT CASE WHEN count(*) >= 20
                    THEN percentile_cont((policy ->> 'token_quantile')::float8) WITHIN GROUP (ORDER BY s.r) END
          INTO token_factor
        FROM (
          SELECT (j.result -> 'usage' ->> 'completion_tokens')::float8
                   / CASE WHEN jsonb_typeof(j.input -> 'max_tokens') = 'number'
                          THEN greatest((j.input ->> 'max_tokens')::float8, 1)
                          ELSE (policy ->> 'default_max_tokens')::float8 END AS r
          FROM ai_jobs j
          WHERE j.tokens_used IS NOT NULL AND j.model_profile = key_name
            AND jsonb_typeof(j.result -> 'usage' -> 'completion_tokens') = 'number'
          ORDER BY j.finished_at DESC
          LIMIT 200
        ) s;
      END IF;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;
