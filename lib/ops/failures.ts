// Failure groups for the console: failed jobs and jobs waiting to retry after an error,
// created since a given time, grouped by error_category × task_type × model_profile. The
// group's "retry these"/"cancel these" use exactly the filter described by groupFilter(),
// so the dry-run count the page shows is the count of the rows the group holds.
// Bounded: failed rows through ai_jobs_failed_idx (id DESC, partial) from the UUID v7
// lower bound of the window; retrying rows from the pending set (ai_jobs_claim_idx).
import type { Queryable } from '../db/port.ts';
import type { ByFilter } from '../jobs/schemas.ts';

export interface FailureGroup {
  error_category: string;
  task_type: string;
  model_profile: string;
  failed: number;
  retrying: number;
  first_seen: Date;
  last_seen: Date;
  sample_id: string;
  sample_message: string | null;
}

// The id bound: a UUID v7 starts with its 48-bit millisecond time, so every id minted
// after `since` (less an hour for clock skew between app and database) sorts above it —
// the same bound lib/jobs/filter.ts adds for created_after, so the actions read as little.
const GROUPS = `
WITH f AS (
  SELECT id, status, error_category, task_type, model_profile, error_message, updated_at AS at
  FROM ai_jobs
  WHERE status = 'failed' AND error_category IS NOT NULL AND created_at > $1::timestamptz
    AND id >= (lpad(to_hex(floor(extract(epoch FROM $1::timestamptz - interval '1 hour') * 1000)::bigint), 12, '0')
               || repeat('0', 20))::uuid
  UNION ALL
  SELECT id, status, error_category, task_type, model_profile, error_message, updated_at
  FROM ai_jobs
  WHERE status = 'pending' AND error_category IS NOT NULL AND created_at > $1::timestamptz
)
SELECT error_category, task_type, model_profile,
       count(*) FILTER (WHERE status = 'failed')::int AS failed,
       count(*) FILTER (WHERE status = 'pending')::int AS retrying,
       min(at) AS first_seen, max(at) AS last_seen,
       (array_agg(id ORDER BY at DESC))[1] AS sample_id,
       (array_agg(error_message ORDER BY at DESC))[1] AS sample_message
FROM f
GROUP BY error_category, task_type, model_profile
ORDER BY count(*) DESC, error_category, task_type, model_profile
LIMIT 200`;

export async function failureGroups(db: Queryable, since: Date): Promise<FailureGroup[]> {
  return (await db.query<FailureGroup>(GROUPS, [since.toISOString()])).rows;
}

/** The by-filter request a group's action runs (POST /api/v1/jobs/retry|cancel semantics). */
export function groupFilter(
  g: { error_category: string; task_type: string; model_profile: string },
  since: string,
  action: 'retry' | 'cancel',
): ByFilter {
  return {
    // retry: the failed ones; cancel: the ones still waiting to retry.
    status: [action === 'retry' ? 'failed' : 'pending'],
    error_category: [g.error_category as NonNullable<ByFilter['error_category']>[number]],
    task_type: [g.task_type],
    model_profile: [g.model_profile],
    created_after: since,
  };
}
