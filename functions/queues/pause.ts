// POST /api/v1/queues/pause — stop claims for one model_profile or task_type. Pending jobs
// stay pending in their order; running ones finish, or with `drain: false` are released
// at their next heartbeat (the holder gets 409 lease_lost, details.reason "paused").
// Returns once no claim that could miss the pause is still in flight.
import { defineFunction } from '../../lib/http/define.ts';
import * as R from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { pauseQueue } from '../../lib/queues/control.ts';
import { groupOf, pauseSchema } from '../../lib/queues/schemas.ts';

export default defineFunction({
  name: 'queues-pause',
  method: 'POST',
  path: '/api/v1/queues/pause',
  auth: true,
  access: 'admin',
  summary: 'Pause claims for a model_profile or task_type',
  body: pauseSchema,
  example: { model_profile: 'qwen2.5-14b', reason: 'swapping to voxtral', by: 'sre@example', drain: true },
  responses: { 200: { description: 'the queue row', schema: R.queueRow } },
  async handler(c) {
    const body = await parseBody(c, pauseSchema);
    const { db, log } = c.var.deps;
    const q = await pauseQueue(db, groupOf(body), { reason: body.reason, by: body.by, drain: body.drain });
    log.info({ scope: q.scope, name: q.name, by: q.paused_by, drain: q.drain }, 'queue paused');
    return c.json(q);
  },
});
