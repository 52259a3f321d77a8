// POST /api/v1/jobs — create one job (201), or return the existing one for a repeated
// idempotency_key (200); the same key for a different job is 409.
import { defineFunction } from '../../lib/http/define.ts';
import { jobJson, labels } from '../../lib/http/job-response.ts';
import { jobResponse } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { createJobCoalesced } from '../../lib/jobs/create-coalesced.ts';
import { createJobSchema } from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-create',
  method: 'POST',
  path: '/api/v1/jobs',
  auth: true,
  summary: 'Create a job (idempotent with idempotency_key)',
  body: createJobSchema,
  example: {
    owner_service: 'telephony',
    owner_ref: 'beeline/8f2c1d',
    task_type: 'call_analysis',
    model_profile: 'qwen2.5-14b',
    input: { system: 'Answer as JSON.', user: 'Classify this call', max_tokens: 256, call_id: '8f2c1d' },
    idempotency_key: 'call_analysis:beeline/8f2c1d',
  },
  responses: {
    201: { description: 'created', schema: jobResponse },
    200: { description: 'idempotent repeat: the existing job', schema: jobResponse },
    409: 'idempotency_conflict: the key belongs to a different job',
  },
  async handler(c) {
    const { db, metrics, log } = c.var.deps;
    const body = await parseBody(c, createJobSchema);
    // Concurrent creates share one INSERT (group commit); each keeps its own outcome.
    const { outcome, job } = await createJobCoalesced(db, body);
    metrics.jobCreated(labels(job), outcome);
    log.debug({ request_id: c.var.requestId, job_id: job.id, outcome }, 'job create');
    return c.json(jobJson(job), outcome === 'created' ? 201 : 200);
  },
});
