// GET /api/v1/stats — queue depth, per-type backlog, outcomes and errors over a window
// (?window=1h, ≤ 7 d), durations; never a full-table count.
import * as z from 'zod/mini';
import { defineFunction } from '../lib/http/define.ts';
import { statsResponse } from '../lib/http/responses.ts';
import { parseQuery } from '../lib/http/validate.ts';
import { durationMs } from '../lib/jobs/schemas.ts';
import { jobStats } from '../lib/jobs/stats.ts';
import { unservedBacklog } from '../lib/queues/workers.ts';

const query = z.strictObject({ window: z.optional(durationMs(1000, 7 * 86_400_000)) });

export default defineFunction({
  name: 'stats',
  method: 'GET',
  path: '/api/v1/stats',
  auth: true,
  summary: 'Queue and error counters',
  query,
  responses: { 200: { description: 'queue and window statistics', schema: statsResponse } },
  async handler(c) {
    const { window = 3_600_000 } = parseQuery(c, query);
    const { db, config } = c.var.deps;
    // unserved: pending work no worker seen within WORKER_LIVE_WINDOW claims (issue 11).
    const [stats, unserved] = await Promise.all([
      jobStats(db, window),
      unservedBacklog(db, config.WORKER_LIVE_WINDOW),
    ]);
    return c.json({ ...stats, unserved });
  },
});
