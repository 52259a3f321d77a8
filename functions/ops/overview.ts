// GET /ops — Overview: backlog, throughput charts, workers, providers/infra, expired
// leases. ?fragment=1 answers only the live section, which ops.js swaps in every 5 s.
import { defineFunction } from '../../lib/http/define.ts';
import { fetchInfraStatus } from '../../lib/infra/status.ts';
import { jobStats } from '../../lib/jobs/stats.ts';
import { consoleRoute } from '../../lib/ops/guard.ts';
import { backlog, expiredLeases, hourlyThroughput, liveWorkers, throughput } from '../../lib/ops/overview.ts';
import { render } from '../../lib/ops/page.ts';
import { type OverviewData, OverviewLive } from '../../lib/ops/views/overview.tsx';

export default defineFunction({
  name: 'ops-overview',
  method: 'GET',
  path: '/ops',
  auth: false,
  access: 'console',
  summary: 'Ops console: overview (session cookie; see docs/ops.md)',
  responses: {
    200: { description: 'HTML', content: 'text/html' },
    303: { description: 'to the login page', content: 'text/html' },
  },
  handler: consoleRoute(async (c, s) => {
    const { db, config, fetch, clock, probeProviders } = c.var.deps;
    const [stats, rows, hour, day, workers, expired, providers, infra] = await Promise.all([
      jobStats(db, 3_600_000),
      backlog(db),
      throughput(db, 300_000, 12),
      hourlyThroughput(db, clock.now(), 24),
      liveWorkers(db),
      expiredLeases(db),
      probeProviders ? probeProviders().catch(() => null) : Promise.resolve(null),
      fetchInfraStatus({
        url: config.INFRA_STATUS_URL,
        token: config.INFRA_STATUS_TOKEN,
        timeoutMs: config.PROVIDER_PROBE_TIMEOUT,
        fetch,
        now: clock.now,
      }),
    ]);
    const d: OverviewData = {
      now: clock.now(),
      stats,
      backlog: rows,
      hour,
      day,
      workers,
      expired,
      providers,
      infra,
    };
    if (c.req.query('fragment') === '1') return c.html(OverviewLive({ d }));
    return render(c, s, { title: 'Overview', active: '/ops', body: OverviewLive({ d }) });
  }),
});
