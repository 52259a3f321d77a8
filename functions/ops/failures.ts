// GET /ops/failures — failures grouped by error_category × task_type × model_profile over
// a window (created since), each with retry/cancel buttons that preview first.
import { defineFunction } from '../../lib/http/define.ts';
import { failureGroups } from '../../lib/ops/failures.ts';
import { consoleRoute } from '../../lib/ops/guard.ts';
import { render, windowParam } from '../../lib/ops/page.ts';
import { FailuresPage } from '../../lib/ops/views/failures.tsx';

export default defineFunction({
  name: 'ops-failures',
  method: 'GET',
  path: '/ops/failures',
  auth: false,
  access: 'console',
  summary: 'Ops console: failure groups',
  responses: {
    200: { description: 'HTML', content: 'text/html' },
    303: { description: 'to the login page', content: 'text/html' },
  },
  handler: consoleRoute(async (c, s) => {
    const w = windowParam(c, '24h');
    const since = new Date(c.var.deps.clock.now() - w.ms).toISOString();
    const groups = await failureGroups(c.var.deps.db, new Date(since));
    return render(c, s, {
      title: 'Failures',
      active: '/ops/failures',
      body: FailuresPage({ groups, since, window: w.label, csrf: s.session.csrf }),
    });
  }),
});
