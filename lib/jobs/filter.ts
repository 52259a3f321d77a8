// Turns a JobFilter into a parameterised WHERE clause. Shared by list, retry-by-filter
// and cancel-by-filter so the three always mean the same thing by the same filter.
import { COMPARE_TASK_TYPE } from './comparisons.ts';
import type { JobFilter } from './schemas.ts';

export interface Where {
  sql: string;
  params: unknown[];
}

export function buildWhere(filter: JobFilter, params: unknown[] = []): Where {
  // Comparison jobs (a transcript's deferred A/B providers, migration 006) are the
  // service's own work, not a caller's: no filter reaches them unless it names their
  // task type (an operator stopping an A/B run).
  const clauses: string[] = filter.task_type?.includes(COMPARE_TASK_TYPE) ? [] : ['parent_id IS NULL'];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (filter.status) clauses.push(`status = ANY(${p(filter.status)}::text[])`);
  if (filter.owner_service) clauses.push(`owner_service = ${p(filter.owner_service)}`);
  if (filter.owner_ref) clauses.push(`owner_ref = ${p(filter.owner_ref)}`);
  if (filter.task_type) clauses.push(`task_type = ANY(${p(filter.task_type)}::text[])`);
  if (filter.model_profile) clauses.push(`model_profile = ANY(${p(filter.model_profile)}::text[])`);
  if (filter.worker_id) clauses.push(`worker_id = ${p(filter.worker_id)}`);
  if (filter.error_category) clauses.push(`error_category = ANY(${p(filter.error_category)}::text[])`);
  if (filter.created_after) {
    const after = p(filter.created_after);
    clauses.push(`created_at > ${after}::timestamptz`);
    // Ids are UUID v7 (lib/jobs/ids.ts, ai_uuidv7()): their first 48 bits are the creation
    // millisecond, so the same bound as an id range lets the primary key or a partial
    // (id DESC) index stop at the window's start instead of reading every older row. One
    // hour of slack covers clock skew between the app that minted the id and the database.
    clauses.push(
      `id >= (lpad(to_hex(least(greatest(floor(extract(epoch FROM ${after}::timestamptz - interval '1 hour') * 1000), 0), 281474976710655)::bigint), 12, '0') || repeat('0', 20))::uuid`,
    );
  }
  if (filter.created_before) clauses.push(`created_at < ${p(filter.created_before)}::timestamptz`);
  if (filter.ids) clauses.push(`id = ANY(${p(filter.ids)}::uuid[])`);
  return { sql: clauses.length ? clauses.join(' AND ') : 'TRUE', params };
}

export const isEmptyFilter = (f: JobFilter): boolean =>
  Object.values(f).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
