// POST /api/v1/jobs/claim — atomically lease pending jobs to an external worker.
import { defineFunction } from '../../lib/http/define.ts';
import { jobJson } from '../../lib/http/job-response.ts';
import { claimResult } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { claimJobs } from '../../lib/jobs/claim.ts';
import { claimSchema } from '../../lib/jobs/schemas.ts';
import { queuePolicy } from '../../lib/queues/policy.ts';

export default defineFunction({
  name: 'jobs-claim',
  method: 'POST',
  path: '/api/v1/jobs/claim',
  auth: true,
  summary: 'Claim pending jobs for a worker; each comes with its lease_token',
  body: claimSchema,
  example: { worker_id: 'gpu-worker-1', limit: 4, task_types: ['transcribe'], lease_timeout: '15m' },
  responses: {
    200: { description: 'the claimed jobs with their lease tokens (possibly none)', schema: claimResult },
  },
  async handler(c) {
    const { db, config, metrics } = c.var.deps;
    const body = await parseBody(c, claimSchema);
    const jobs = await claimJobs(db, {
      workerId: body.worker_id,
      limit: body.limit ?? 1,
      leaseMs: body.lease_timeout ?? config.WORKER_LEASE_TIMEOUT,
      taskTypes: body.task_types,
      modelProfiles: body.model_profiles,
      policy: queuePolicy(config),
      workerVersion: body.worker_version,
    });
    metrics.claimBatch(jobs.length);
    return c.json({ jobs: jobs.map((j) => jobJson(j, true)) });
  },
});
