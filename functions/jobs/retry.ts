// POST /api/v1/jobs/{id}/retry — a failed or running job goes back to pending with its
// lease revoked and attempts reset; with `{"include_cancelled": true}` a cancelled job
// does too (a cancel made by mistake). Any other state is 409 invalid_state.
import { defineFunction } from '../../lib/http/define.ts';
import { jobId, jobJson } from '../../lib/http/job-response.ts';
import { jobResponse } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { retryJob } from '../../lib/jobs/admin.ts';
import { retryOneSchema } from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-retry',
  method: 'POST',
  path: '/api/v1/jobs/:id/retry',
  auth: true,
  summary: 'Reset a failed/running job to pending (cancelled too with include_cancelled)',
  body: retryOneSchema,
  example: { include_cancelled: true },
  responses: {
    200: { description: 'the job, pending', schema: jobResponse },
    404: 'not_found: no such job',
    409: 'invalid_state: the job is not failed or running (or cancelled, with include_cancelled)',
  },
  async handler(c) {
    const id = jobId(c);
    // The body is optional; malformed JSON is still refused.
    const body = await parseBody(c, retryOneSchema, true);
    return c.json(jobJson(await retryJob(c.var.deps.db, id, { includeCancelled: body.include_cancelled })));
  },
});
