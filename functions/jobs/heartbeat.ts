// POST /api/v1/jobs/{id}/heartbeat — the lease holder extends its lease. 409 lease_lost
// tells the worker to abort: the job was reaped, retried or cancelled.
import { defineFunction } from '../../lib/http/define.ts';
import { jobId, jobJson } from '../../lib/http/job-response.ts';
import { jobResponse } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { heartbeat } from '../../lib/jobs/lease.ts';
import { heartbeatSchema } from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-heartbeat',
  method: 'POST',
  path: '/api/v1/jobs/:id/heartbeat',
  auth: true,
  summary: 'Extend a lease (lease holder only)',
  body: heartbeatSchema,
  example: {
    worker_id: 'gpu-worker-1',
    lease_token: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80',
    lease_timeout: '15m',
  },
  responses: {
    200: { description: 'the job with its new lease_expires_at', schema: jobResponse },
    404: 'not_found: no such job',
    409: 'lease_lost: the lease was reaped, retried or cancelled (details.reason "paused": released because its queue was paused with drain: false)',
  },
  async handler(c) {
    const id = jobId(c);
    const body = await parseBody(c, heartbeatSchema);
    // Without lease_timeout the lease is extended by the length chosen at claim (stored on
    // the job), never by this process's WORKER_LEASE_TIMEOUT.
    const job = await heartbeat(
      c.var.deps.db,
      { id, workerId: body.worker_id, leaseToken: body.lease_token },
      body.lease_timeout,
    );
    return c.json(jobJson(job));
  },
});
