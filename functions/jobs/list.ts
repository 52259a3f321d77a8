// GET /api/v1/jobs — list jobs newest first, filtered, with keyset pagination.
import { defineFunction } from '../../lib/http/define.ts';
import { jobJson } from '../../lib/http/job-response.ts';
import { jobPage } from '../../lib/http/responses.ts';
import { parseQuery } from '../../lib/http/validate.ts';
import { listJobs } from '../../lib/jobs/list.ts';
import { listQuerySchema } from '../../lib/jobs/schemas.ts';

export const LIST_ARRAYS = ['status', 'task_type', 'model_profile', 'error_category', 'ids'] as const;

export default defineFunction({
  name: 'jobs-list',
  method: 'GET',
  path: '/api/v1/jobs',
  auth: true,
  summary: 'List jobs by filter (repeat or comma-separate multi-valued filters)',
  query: listQuerySchema,
  responses: { 200: { description: 'one page of jobs, newest first', schema: jobPage } },
  async handler(c) {
    const q = parseQuery(c, listQuerySchema, { arrays: LIST_ARRAYS, ints: ['limit'] });
    const page = await listJobs(c.var.deps.db, q);
    return c.json({ jobs: page.jobs.map((j) => jobJson(j)), next_cursor: page.next_cursor });
  },
});
