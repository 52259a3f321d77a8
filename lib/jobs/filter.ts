// Turns a JobFilter into a parameterised WHERE clause. Shared by list, retry-by-filter
// and cancel-by-filter so the three always mean the same thing by the same filter.
import type { JobFilter } from './schemas.ts';

export interface Where {
  sql: string;
  params: unknown[];
}

export function buildWhere(filter: JobFilter, params: unknown[] = []): Where {
  const clauses: string[] = [];
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
  if (filter.created_after) clauses.push(`created_at > ${p(filter.created_after)}::timestamptz`);
  if (filter.created_before) clauses.push(`created_at < ${p(filter.created_before)}::timestamptz`);
  if (filter.ids) clauses.push(`id = ANY(${p(filter.ids)}::uuid[])`);
  return { sql: clauses.length ? clauses.join(' AND ') : 'TRUE', params };
}

export const isEmptyFilter = (f: JobFilter): boolean =>
  Object.values(f).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
