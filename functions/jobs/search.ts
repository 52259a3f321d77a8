// POST /api/v1/jobs/search — the list's filters in a JSON body, for filters too large for
// a URL (1,000 `ids` are ~37 KB; Node refuses request heads over 16 KiB). Same answer
// and pagination as GET /api/v1/jobs; reads nothing else.
import { defineFunction } from '../../lib/http/define.ts';
import { jobJson } from '../../lib/http/job-response.ts';
import { jobPage } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { listJobs } from '../../lib/jobs/list.ts';
import { listQuerySchema } from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-search',
  method: 'POST',
  path: '/api/v1/jobs/search',
  auth: true,
  summary: 'List jobs by filter given as a JSON body (for large id sets: up to 1,000 ids)',
  body: listQuerySchema,
  example: {
    ids: ['0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80', '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f81'],
    status: ['completed', 'failed'],
    limit: 100,
  },
  responses: { 200: { description: 'one page of jobs, newest first', schema: jobPage } },
  async handler(c) {
    const q = await parseBody(c, listQuerySchema);
    const page = await listJobs(c.var.deps.db, q);
    return c.json({ jobs: page.jobs.map((j) => jobJson(j)), next_cursor: page.next_cursor });
  },
});
