// POST /api/v1/jobs/fail — the lease holder reports many failures at once (issue 14): up
// to 1,000 items `{id, worker_id, lease_token, category, message?, retry_after?, result?}`,
// one transaction, one outcome per item in order. Each item follows POST /jobs/{id}/fail:
// retryable categories go back to pending with backoff until max_attempts, the fence is
// the same, a lost lease is that item's lease_lost, and the holder repeating its fail
// gets ok and the job again. `"return": "minimal"` answers ok without the job.
import * as z from 'zod/mini';
import { defineFunction } from '../../lib/http/define.ts';
import { settleResult } from '../../lib/http/responses.ts';
import { checkItems, countFailed, results, toFailItem } from '../../lib/http/settle.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { failItems } from '../../lib/jobs/lease-many.ts';
import { failItemSchema, leaseBatchSchema, MAX_BATCH_ITEMS, settleReturn } from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-fail-many',
  method: 'POST',
  path: '/api/v1/jobs/fail',
  auth: true,
  access: 'worker',
  summary: 'Report many failures (lease holder only), one outcome per item',
  body: leaseBatchSchema,
  documentedBody: z.strictObject({
    jobs: z.array(failItemSchema).check(z.minLength(1), z.maxLength(MAX_BATCH_ITEMS)),
    return: settleReturn,
  }),
  example: {
    jobs: [
      {
        id: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f01',
        worker_id: 'gpu-worker-1',
        lease_token: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80',
        category: 'rate_limited',
        message: 'provider answered 429',
        retry_after: 30,
      },
    ],
  },
  responses: {
    200: {
      description:
        'one outcome per item, in order: ok with the job (without it for "return": "minimal"), or its error',
      schema: settleResult,
    },
    400: 'validation_error: the body is not {"jobs": [1..1000 items]} (an invalid item is its own outcome)',
  },
  async handler(c) {
    const { db, metrics } = c.var.deps;
    const body = await parseBody(c, leaseBatchSchema);
    const shape = body.return ?? 'full';
    const checked = checkItems(failItemSchema, body.jobs, new Set());
    const items = checked.valid.map((v) => toFailItem(v.item));
    const settled = await db.transaction((tx) => failItems(tx, items, shape));
    countFailed(metrics, items, settled);
    return c.json({ results: results(checked, settled, body.jobs.length, shape) });
  },
});
