// POST /api/v1/jobs/complete — the lease holder stores many results at once (issue 14):
// up to 1,000 items `{id, worker_id, lease_token, result}`, one guarded statement for all
// of them, one outcome per item in order. Each item is fenced exactly as POST /jobs/{id}/complete: a lost
// lease is that item's lease_lost (with the job's status now) and the others still
// complete; the holder repeating a complete gets ok and the job again. `"return":
// "minimal"` answers ok without the job (outcomes only; errors unchanged).
import * as z from 'zod/mini';
import { defineFunction } from '../../lib/http/define.ts';
import { fastCompleteItem } from '../../lib/http/item-fast-path.ts';
import { settleResult } from '../../lib/http/responses.ts';
import { checkItems, countCompleted, results, toCompleteItem } from '../../lib/http/settle.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { completeItems } from '../../lib/jobs/lease-many.ts';
import {
  completeItemSchema,
  leaseBatchSchema,
  MAX_BATCH_ITEMS,
  settleReturn,
} from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-complete-many',
  method: 'POST',
  path: '/api/v1/jobs/complete',
  auth: true,
  access: 'worker',
  summary: 'Store many successful results (lease holder only), one outcome per item',
  body: leaseBatchSchema,
  documentedBody: z.strictObject({
    jobs: z.array(completeItemSchema).check(z.minLength(1), z.maxLength(MAX_BATCH_ITEMS)),
    return: settleReturn,
  }),
  example: {
    jobs: [
      {
        id: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f01',
        worker_id: 'gpu-worker-1',
        lease_token: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80',
        result: { content: '{"label":"complaint"}' },
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
    const checked = checkItems(completeItemSchema, body.jobs, new Set(), fastCompleteItem);
    // No BEGIN/COMMIT: the one write is completeItems' guarded UPDATE (atomic alone), and
    // the SELECT explaining the misses reads no row it wrote (lib/jobs/lease-many.ts). Two
    // round trips fewer on the edge, where each is a WebSocket message to the proxy.
    const settled = await completeItems(
      db,
      checked.valid.map((v) => toCompleteItem(v.item)),
      shape,
    );
    countCompleted(metrics, settled);
    return c.json({ results: results(checked, settled, body.jobs.length, shape) });
  },
});
