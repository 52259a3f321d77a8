// GET /api/v1/queues — every model_profile and task_type with work, a limit, a token
// budget or a pause: state, effective limits (run-time over config), backlog, running,
// reserved tokens, and backlog no live worker serves.
import { defineFunction } from '../../lib/http/define.ts';
import * as R from '../../lib/http/responses.ts';
import { listQueues } from '../../lib/queues/control.ts';
import { queuePolicy } from '../../lib/queues/policy.ts';

export default defineFunction({
  name: 'queues-list',
  method: 'GET',
  path: '/api/v1/queues',
  auth: true,
  access: 'jobs:read',
  summary: 'Queue state per model_profile and task_type: pause, limits, backlog, running, unserved',
  responses: {
    200: { description: 'every group with work, a limit, a budget or a pause', schema: R.queueList },
  },
  async handler(c) {
    const { db, config } = c.var.deps;
    const queues = await listQueues(db, queuePolicy(config), config.WORKER_LIVE_WINDOW);
    return c.json({ queues });
  },
});
