// POST /api/v1/jobs/{id}/retry — a failed or running job goes back to pending with its
// lease revoked and attempts reset; any other state is 409 invalid_state.
import { defineFunction } from '../../lib/http/define.ts';
import { jobId, jobJson } from '../../lib/http/job-response.ts';
import { jobResponse } from '../../lib/http/responses.ts';
import { readJson } from '../../lib/http/validate.ts';
import { retryJob } from '../../lib/jobs/admin.ts';

export default defineFunction({
  name: 'jobs-retry',
  method: 'POST',
  path: '/api/v1/jobs/:id/retry',
  auth: true,
  summary: 'Reset a failed/running job to pending',
  responses: {
    200: { description: 'the job, pending', schema: jobResponse },
    404: 'not_found: no such job',
    409: 'invalid_state: the job is not failed or running',
  },
  async handler(c) {
    const id = jobId(c);
    await readJson(c, true); // an optional empty body; malformed JSON is still refused
    return c.json(jobJson(await retryJob(c.var.deps.db, id)));
  },
});
