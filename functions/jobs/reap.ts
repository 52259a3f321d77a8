// POST /api/v1/jobs/reap — one run of the lease reaper and retention prune, for platform
// crons (Kubernetes uses scripts/reap-leases.ts). Behind the token like all /api/v1.
// It also sends due webhook deliveries (one batch), so an API-only deployment with
// external workers still delivers them.
import { defineFunction } from '../../lib/http/define.ts';
import { reapSummary } from '../../lib/http/responses.ts';
import { readJson } from '../../lib/http/validate.ts';
import { reapOnce } from '../../lib/jobs/reap.ts';
import { deliverDue } from '../../lib/webhooks/dispatch.ts';

export default defineFunction({
  name: 'jobs-reap',
  method: 'POST',
  path: '/api/v1/jobs/reap',
  auth: true,
  summary: 'Reap expired leases and prune finished jobs older than JOB_RETENTION',
  responses: { 200: { description: 'what the run did, webhook deliveries included', schema: reapSummary } },
  async handler(c) {
    await readJson(c, true);
    const { db, config, metrics, clock, log } = c.var.deps;
    const reaped = await reapOnce(db, { retentionMs: config.JOB_RETENTION, clock });
    metrics.leasesReaped(reaped.requeued, reaped.failed);
    const webhooks = await deliverDue({ db, config, log, send: c.var.deps.fetch }, { limit: 100 });
    const summary = { ...reaped, webhooks };
    log.info({ request_id: c.var.requestId, ...summary }, 'reap');
    return c.json(summary);
  },
});
