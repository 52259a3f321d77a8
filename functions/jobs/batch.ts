// POST /api/v1/jobs/batch — create up to 1,000 jobs in one transaction. `defaults` are
// merged into each item; any invalid item rejects the whole batch (400, naming the
// item indexes); an idempotency conflict rejects it too (409); otherwise one result per
// item, in order: created or existing, with the job — or only its id when the body asks
// `"return": "minimal"` (a producer that keeps ids need not receive 1,000 jobs back).
import * as z from 'zod/mini';
import { assertOwner } from '../../lib/auth/principal.ts';
import { AppError } from '../../lib/errors.ts';
import { defineFunction } from '../../lib/http/define.ts';
import { jobJson, labels } from '../../lib/http/job-response.ts';
import { batchResult } from '../../lib/http/responses.ts';
import { issuesOf, readJson, validate } from '../../lib/http/validate.ts';
import { type CreateOutcome, createJobs } from '../../lib/jobs/create.ts';
import { plainBatch, plainCreateJob } from '../../lib/jobs/create-check.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import {
  batchCreateSchema,
  type CreateJob,
  createJobSchema,
  MAX_BATCH_ITEMS,
} from '../../lib/jobs/schemas.ts';
import { webhookIssues } from '../../lib/webhooks/accept.ts';

// Items are checked one by one after merging `defaults` (so one bad item is reported by
// index, not as a body error); documented as what each item may hold.
const documentedBody = z.strictObject({
  defaults: batchCreateSchema.shape.defaults,
  jobs: z.array(z.partial(createJobSchema)).check(z.minLength(1), z.maxLength(MAX_BATCH_ITEMS)),
  return: batchCreateSchema.shape.return,
});

export default defineFunction({
  name: 'jobs-batch',
  method: 'POST',
  path: '/api/v1/jobs/batch',
  auth: true,
  access: 'jobs:write',
  summary: 'Create many jobs with shared defaults (all or nothing)',
  body: batchCreateSchema,
  example: {
    defaults: { owner_service: 'monitoring-tg', task_type: 'tg_analysis', model_profile: 'qwen2.5-14b' },
    jobs: [
      { owner_ref: 'channel/1001', input: { user: 'Summarise message 1001' }, idempotency_key: 'tg:1001' },
      { owner_ref: 'channel/1002', input: { user: 'Summarise message 1002' }, idempotency_key: 'tg:1002' },
    ],
  },
  documentedBody,
  responses: {
    200: {
      description: 'one result per item, in order: with the job, or only its id for "return": "minimal"',
      schema: batchResult,
    },
    400: 'validation_error: invalid items (details.items names their indexes and issues)',
    409: "idempotency_conflict: an item's key belongs to a different job",
  },
  async handler(c) {
    const { db, metrics, config } = c.var.deps;
    // The common shapes skip zod (lib/jobs/create-check.ts); anything else, and every
    // error, is zod's.
    const raw = await readJson(c);
    const body = plainBatch(raw) ?? validate(batchCreateSchema, raw, 'request body');
    const items: CreateJob[] = [];
    const invalid: { index: number; issues: ReturnType<typeof issuesOf> }[] = [];
    body.jobs.forEach((item, index) => {
      const merged = { ...body.defaults, ...item };
      const plain = plainCreateJob(merged);
      const r = plain ? { success: true as const, data: plain } : createJobSchema.safeParse(merged);
      if (r.success) assertOwner(c.var.principal, r.data.owner_service);
      const issues = r.success ? webhookIssues(config, r.data) : issuesOf(r.error);
      if (r.success && issues.length === 0) items.push(r.data);
      else invalid.push({ index, issues });
    });
    if (invalid.length > 0) {
      throw new AppError('validation_error', `${invalid.length} of ${body.jobs.length} jobs are invalid`, {
        items: invalid,
      });
    }
    const results = await createJobs(db, items);
    // Counted per label set: prom-client's label checks cost more than the count itself.
    const counts = new Map<string, { job: JobRow; outcome: CreateOutcome['outcome']; n: number }>();
    for (const r of results) {
      const key = `${r.outcome}\u0000${r.job.task_type}\u0000${r.job.model_profile}`;
      const seen = counts.get(key);
      if (seen) seen.n++;
      else counts.set(key, { job: r.job, outcome: r.outcome, n: 1 });
    }
    for (const { job, outcome, n } of counts.values()) metrics.jobCreated(labels(job), outcome, n);
    if (body.return === 'minimal') {
      return c.json({ results: results.map((r, index) => ({ index, outcome: r.outcome, id: r.job.id })) });
    }
    return c.json({
      results: results.map((r, index) => ({ index, outcome: r.outcome, job: jobJson(r.job) })),
    });
  },
});
