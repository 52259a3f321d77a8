// POST /api/v1/jobs/heartbeat — the lease holder extends many leases at once (issue 14):
// up to 1,000 items `{id, worker_id, lease_token, lease_timeout?}`, one guarded statement
// for all of them, one outcome per item in order. Each item is fenced as POST /jobs/{id}/heartbeat: lease_lost
// tells the worker to abort that job (details.reason "paused": released because its queue
// was paused with drain: false); without lease_timeout a lease is extended by the length
// chosen at claim. `"return": "minimal"` answers ok without the job.
import * as z from 'zod/mini';
import { defineFunction } from '../../lib/http/define.ts';
import { settleResult } from '../../lib/http/responses.ts';
import { checkItems, results, toHeartbeatItem } from '../../lib/http/settle.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { heartbeatItems } from '../../lib/jobs/lease-many.ts';
import {
  heartbeatItemSchema,
  leaseBatchSchema,
  MAX_BATCH_ITEMS,
  settleReturn,
} from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-heartbeat-many',
  method: 'POST',
  path: '/api/v1/jobs/heartbeat',
  auth: true,
  access: 'worker',
  summary: 'Extend many leases (lease holder only), one outcome per item',
  body: leaseBatchSchema,
  documentedBody: z.strictObject({
    jobs: z.array(heartbeatItemSchema).check(z.minLength(1), z.maxLength(MAX_BATCH_ITEMS)),
    return: settleReturn,
  }),
  example: {
    jobs: [
      {
        id: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f01',
        worker_id: 'gpu-worker-1',
        lease_token: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80',
        lease_timeout: '15m',
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
    const { db } = c.var.deps;
    const body = await parseBody(c, leaseBatchSchema);
    const shape = body.return ?? 'full';
    const checked = checkItems(heartbeatItemSchema, body.jobs, new Set());
    // No BEGIN/COMMIT: the one write is heartbeatItems' guarded UPDATE (atomic alone), and
    // the SELECT explaining the misses reads no row it wrote (lib/jobs/lease-many.ts). Two
    // round trips fewer on the edge, where each is a WebSocket message to the proxy.
    const settled = await heartbeatItems(
      db,
      checked.valid.map((v) => toHeartbeatItem(v.item)),
      shape,
    );
    return c.json({ results: results(checked, settled, body.jobs.length, shape) });
  },
});
