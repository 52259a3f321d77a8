// POST /api/v1/jobs — create one job (201), or return the existing one for a repeated
// idempotency_key (200); the same key for a different job is 409.

import { assertOwner } from '../../lib/auth/principal.ts';
import { describeError } from '../../lib/db/transient.ts';
import { defineFunction } from '../../lib/http/define.ts';
import { jobJson, labels } from '../../lib/http/job-response.ts';
import { createdJobResponse } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { createJobCoalesced } from '../../lib/jobs/create-coalesced.ts';
import { createJobSchema } from '../../lib/jobs/schemas.ts';
import { unservedCheck } from '../../lib/queues/unserved.ts';
import { assertWebhookAccepted } from '../../lib/webhooks/accept.ts';

export default defineFunction({
  name: 'jobs-create',
  method: 'POST',
  path: '/api/v1/jobs',
  auth: true,
  access: 'jobs:write',
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
    201: {
      description: 'created (with a `warning` field and Warning header when no live worker serves it)',
      schema: createdJobResponse,
    },
    200: { description: 'idempotent repeat: the existing job', schema: createdJobResponse },
    409: 'idempotency_conflict: the key belongs to a different job',
    422: 'unserved: REJECT_UNSERVED=true and no live worker serves the task_type/model_profile',
  },
  async handler(c) {
    const { db, metrics, log, config } = c.var.deps;
    const body = await parseBody(c, createJobSchema);
    assertOwner(c.var.principal, body.owner_service);
    assertWebhookAccepted(config, body);
    // With REJECT_UNSERVED the check decides whether the job is created, so it goes first.
    // Without it, it only words a warning: it runs alongside the INSERT (where the pool
    // has a second connection, one round trip of waiting instead of two; on the edge each
    // is a WebSocket message to the proxy), and a check that fails costs the warning,
    // never the answer: an error for a job that was created would invite a duplicate.
    const check = config.REJECT_UNSERVED
      ? await unservedCheck(c.var.deps, body.task_type, body.model_profile)
      : unservedCheck(c.var.deps, body.task_type, body.model_profile).catch((err: unknown) => {
          log.warn(
            { request_id: c.var.requestId, err: describeError(err) },
            'unserved check failed; no warning given',
          );
          return undefined;
        });
    // Concurrent creates share one INSERT (group commit); each keeps its own outcome.
    const [warning, { outcome, job }] = await Promise.all([check, createJobCoalesced(db, body)]);
    metrics.jobCreated(labels(job), outcome);
    log.debug({ request_id: c.var.requestId, job_id: job.id, outcome }, 'job create');
    if (warning) c.header('Warning', `199 ai-service "${warning}"`);
    return c.json(warning ? { ...jobJson(job), warning } : jobJson(job), outcome === 'created' ? 201 : 200);
  },
});
