// POST /api/v1/jobs/reap — one run of the lease reaper and retention prune, for platform
// crons (Kubernetes uses scripts/reap-leases.ts). Behind the token like all /api/v1.
import { defineFunction } from '../../lib/http/define.ts';
import { reapSummary } from '../../lib/http/responses.ts';
import { readJson } from '../../lib/http/validate.ts';
import { reapOnce } from '../../lib/jobs/reap.ts';

export default defineFunction({
  name: 'jobs-reap',
  method: 'POST',
  path: '/api/v1/jobs/reap',
  auth: true,
  summary: 'Reap expired leases and prune finished jobs older than JOB_RETENTION',
  responses: { 200: { description: 'what the run did', schema: reapSummary } },
  async handler(c) {
    await readJson(c, true);
    const { db, config, metrics, clock, log } = c.var.deps;
    const summary = await reapOnce(db, { retentionMs: config.JOB_RETENTION, clock });
    metrics.leasesReaped(summary.requeued, summary.failed);
    log.info({ request_id: c.var.requestId, ...summary }, 'reap');
    return c.json(summary);
  },
});
