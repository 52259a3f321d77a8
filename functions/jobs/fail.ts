// POST /api/v1/jobs/{id}/fail — the lease holder reports a failure category. Retryable
// categories go back to pending with backoff (honouring retry_after) until max_attempts.
// The holder repeating a fail whose answer it lost gets the job back (200), not 409.
import { defineFunction } from '../../lib/http/define.ts';
import { jobId, jobJson, labels } from '../../lib/http/job-response.ts';
import { jobResponse } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { failJob, wasReplay } from '../../lib/jobs/lease.ts';
import { failSchema } from '../../lib/jobs/schemas.ts';
import { usageOfResult } from '../../lib/jobs/usage.ts';

export default defineFunction({
  name: 'jobs-fail',
  method: 'POST',
  path: '/api/v1/jobs/:id/fail',
  auth: true,
  summary: 'Report a failure category and message (lease holder only)',
  body: failSchema,
  example: {
    worker_id: 'gpu-worker-1',
    lease_token: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80',
    category: 'rate_limited',
    message: 'provider answered 429',
    retry_after: 30,
  },
  responses: {
    200: {
      description: 'the job (pending again, or failed); also to the holder repeating its fail',
      schema: jobResponse,
    },
    404: 'not_found: no such job',
    409: 'lease_lost: the lease was reaped, retried or cancelled',
  },
  async handler(c) {
    const id = jobId(c);
    const body = await parseBody(c, failSchema);
    const { db, metrics } = c.var.deps;
    const job = await failJob(
      db,
      { id, workerId: body.worker_id, leaseToken: body.lease_token },
      { category: body.category, message: body.message, retryAfterMs: body.retry_after, result: body.result },
    );
    if (!wasReplay(job)) {
      metrics.jobFailed(labels(job), body.category, job.status === 'failed');
      // A final failure still spent worker time: counted like GET /api/v1/usage counts it.
      if (job.status === 'failed') metrics.jobUsage(job, usageOfResult(job.result, job.duration_ms));
    }
    return c.json(jobJson(job));
  },
});
