// POST /api/v1/jobs/{id}/complete — the lease holder stores the result. A lost lease
// (reaped, retried, cancelled) is 409 lease_lost and nothing is written; the holder
// repeating its complete gets the completed job back.
import { defineFunction } from '../../lib/http/define.ts';
import { jobId, jobJson, labels } from '../../lib/http/job-response.ts';
import { jobResponse } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { completeJob, wasReplay } from '../../lib/jobs/lease.ts';
import { completeSchema } from '../../lib/jobs/schemas.ts';
import { usageOfResult } from '../../lib/jobs/usage.ts';

export default defineFunction({
  name: 'jobs-complete',
  method: 'POST',
  path: '/api/v1/jobs/:id/complete',
  auth: true,
  summary: 'Store a successful result (lease holder only)',
  body: completeSchema,
  example: {
    worker_id: 'gpu-worker-1',
    lease_token: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80',
    result: { content: '{"label":"complaint"}', model: 'qwen2.5-14b' },
  },
  responses: {
    200: { description: 'the completed job', schema: jobResponse },
    404: 'not_found: no such job',
    409: 'lease_lost: the lease was reaped, retried or cancelled',
  },
  async handler(c) {
    const id = jobId(c);
    const body = await parseBody(c, completeSchema);
    const { db, metrics } = c.var.deps;
    const job = await completeJob(
      db,
      { id, workerId: body.worker_id, leaseToken: body.lease_token },
      body.result,
    );
    if (!wasReplay(job)) {
      metrics.jobCompleted(labels(job), job.duration_ms);
      metrics.jobUsage(job, usageOfResult(job.result, job.duration_ms));
    }
    return c.json(jobJson(job));
  },
});
