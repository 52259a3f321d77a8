// GET /api/v1/jobs/{id}/webhooks — the job's webhook deliveries with every attempt
// (status, latency, the start of the receiver's answer), newest attempt last.
import { assertSeesJob } from '../../lib/auth/jobs.ts';
import { defineFunction } from '../../lib/http/define.ts';
import { jobId } from '../../lib/http/job-response.ts';
import * as R from '../../lib/http/responses.ts';
import { deliveriesOfJob } from '../../lib/webhooks/deliveries.ts';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export default defineFunction({
  name: 'jobs-webhooks',
  method: 'GET',
  path: '/api/v1/jobs/:id/webhooks',
  auth: true,
  access: 'jobs:read',
  summary: "A job's webhook deliveries and their attempts",
  responses: {
    200: { description: "the job's webhook deliveries and their attempts", schema: R.deliveryList },
    404: 'not_found',
  },
  async handler(c) {
    const id = jobId(c);
    const { db } = c.var.deps;
    await assertSeesJob(db, c.var.principal, id);
    const rows = await deliveriesOfJob(db, id);
    return c.json({
      deliveries: rows.map((d) => ({
        ...d,
        next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
        created_at: iso(d.created_at),
        finished_at: iso(d.finished_at),
      })),
    });
  },
});
