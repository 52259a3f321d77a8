// GET /ops/usage — tokens, audio seconds and busy seconds per owner_service × model_profile.
import { defineFunction } from '../../lib/http/define.ts';
import { usageByOwner } from '../../lib/jobs/usage.ts';
import { consoleRoute } from '../../lib/ops/guard.ts';
import { render, windowParam } from '../../lib/ops/page.ts';
import { fmtTime } from '../../lib/ops/views/parts.tsx';
import { UsagePage } from '../../lib/ops/views/usage.tsx';

export default defineFunction({
  name: 'ops-usage',
  method: 'GET',
  path: '/ops/usage',
  auth: false,
  access: 'console',
  summary: 'Ops console: usage per calling service',
  responses: {
    200: { description: 'HTML', content: 'text/html' },
    303: { description: 'to the login page', content: 'text/html' },
  },
  handler: consoleRoute(async (c, s) => {
    const w = windowParam(c, '24h');
    const until = new Date(c.var.deps.clock.now());
    const since = new Date(until.getTime() - w.ms);
    const rows = await usageByOwner(c.var.deps.db, { since, until });
    return render(c, s, {
      title: 'Usage',
      active: '/ops/usage',
      body: UsagePage({ window: w.label, rows, since: fmtTime(since), until: fmtTime(until) }),
    });
  }),
});
