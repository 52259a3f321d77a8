// GET /api/v1/workers — workers seen by the claim (built-in and external): what each
// claims for, its version, last seen, and whether it is live (seen within WORKER_LIVE_WINDOW).
import { defineFunction } from '../../lib/http/define.ts';
import * as R from '../../lib/http/responses.ts';
import { listWorkers } from '../../lib/queues/workers.ts';

export default defineFunction({
  name: 'workers-list',
  method: 'GET',
  path: '/api/v1/workers',
  auth: true,
  access: 'jobs:read',
  summary: 'Workers that claimed recently, with what they serve and whether they are live',
  responses: { 200: { description: 'workers seen within the live window', schema: R.workerList } },
  async handler(c) {
    const { db, config } = c.var.deps;
    return c.json({ workers: await listWorkers(db, config.WORKER_LIVE_WINDOW) });
  },
});
