// The caller's corrective actions: retry (one, or by filter) and cancel (by filter).
// By-filter actions refuse an empty filter, lock their targets in id order (so two of
// them cannot deadlock) and touch at most `limit` rows per call; `dry_run` only counts.
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { buildWhere, isEmptyFilter } from './filter.ts';
import { announceFinished } from './notify.ts';
import type { JobRow } from './row.ts';
import type { ByFilter, JobFilter, JobStatus } from './schemas.ts';
import { TRANSITIONS } from './transitions.ts';

const RETRY_SET = `status = 'pending', lease_token = NULL, lease_expires_at = NULL, attempts = 0,
  run_after = now(), result = NULL, error_category = NULL, error_message = NULL, worker_id = NULL,
  started_at = NULL, finished_at = NULL, duration_ms = NULL, updated_at = now()`;
// The lease token is kept on cancel so the (former) lease holder is told why it lost it.
const CANCEL_SET = `status = 'cancelled', lease_expires_at = NULL, finished_at = now(), updated_at = now(),
  error_category = 'cancelled', error_message = 'cancelled by request'`;

export async function retryJob(db: Queryable, id: string): Promise<JobRow> {
  const r = await db.query<JobRow>(
    `UPDATE ai_jobs SET ${RETRY_SET} WHERE id = $1 AND status = ANY($2::text[]) RETURNING *`,
    [id, TRANSITIONS.retry.from],
  );
  if (r.rows[0]) return r.rows[0];
  const cur = await db.query<{ status: JobStatus }>('SELECT status FROM ai_jobs WHERE id = $1', [id]);
  if (!cur.rows[0]) throw new AppError('not_found', `job ${id} not found`);
  throw new AppError('invalid_state', `a ${cur.rows[0].status} job cannot be retried`, {
    status: cur.rows[0].status,
    allowed_from: TRANSITIONS.retry.from,
  });
}

export interface ByFilterResult {
  count: number;
  ids: string[];
  dry_run: boolean;
  /** More rows matched than `limit`: call again to continue. */
  has_more: boolean;
}

async function byFilter(
  db: Queryable,
  action: 'retry' | 'cancel',
  req: ByFilter,
  set: string,
): Promise<ByFilterResult> {
  const { dry_run = false, limit = 1000, ...filter } = req;
  if (isEmptyFilter(filter as JobFilter)) {
    throw new AppError('validation_error', `${action} by filter needs at least one filter`, {
      issues: [{ path: '', message: 'empty filter would match every job' }],
    });
  }
  const allowed = TRANSITIONS[action].from.filter((s) => !filter.status || filter.status.includes(s));
  if (allowed.length === 0) return { count: 0, ids: [], dry_run, has_more: false };
  const where = buildWhere({ ...filter, status: undefined });
  const params = where.params;
  params.push(allowed);
  const statusParam = `$${params.length}::text[]`;
  params.push(limit);
  const limitParam = `$${params.length}`;

  if (dry_run) {
    const r = await db.query<{ count: number; ids: string[] | null }>(
      `SELECT count(*)::int AS count, (array_agg(id ORDER BY id))[1:${limitParam}] AS ids
       FROM ai_jobs WHERE ${where.sql} AND status = ANY(${statusParam})`,
      params,
    );
    const count = r.rows[0]?.count ?? 0;
    return { count, ids: r.rows[0]?.ids ?? [], dry_run, has_more: count > limit };
  }
  // Fetch one more than the limit to know whether another call is needed.
  const r = await db.query<{ id: string; more: boolean }>(
    announceFinished(
      `UPDATE ai_jobs AS j SET ${set}
       FROM locked WHERE j.id = locked.id AND j.status = ANY(${statusParam})
       RETURNING j.id, j.status, (SELECT count(*) FROM target) > ${limitParam} AS more`,
      {
        ctes: `target AS (
          SELECT id FROM ai_jobs WHERE ${where.sql} AND status = ANY(${statusParam})
          ORDER BY id LIMIT ${limitParam} + 1
        ), locked AS (
          SELECT id FROM ai_jobs WHERE id IN (SELECT id FROM target ORDER BY id LIMIT ${limitParam})
          ORDER BY id FOR UPDATE
        )`,
        select: 'u.id, u.more',
      },
    ),
    params,
  );
  const ids = r.rows.map((x) => x.id).sort();
  return { count: ids.length, ids, dry_run, has_more: r.rows[0]?.more ?? false };
}

export const retryByFilter = (db: Queryable, req: ByFilter) => byFilter(db, 'retry', req, RETRY_SET);
export const cancelByFilter = (db: Queryable, req: ByFilter) => byFilter(db, 'cancel', req, CANCEL_SET);
