// GET /ops/jobs/:id — one job: input, result, attempts, timings, error, lease.
import { defineFunction } from '../../lib/http/define.ts';
import { jobId } from '../../lib/http/job-response.ts';
import { getJob } from '../../lib/jobs/list.ts';
import { consoleRoute } from '../../lib/ops/guard.ts';
import { render } from '../../lib/ops/page.ts';
import { JobDetail } from '../../lib/ops/views/jobs.tsx';

export default defineFunction({
  name: 'ops-job',
  method: 'GET',
  path: '/ops/jobs/:id',
  auth: false,
  access: 'console',
  summary: 'Ops console: one job',
  responses: {
    200: { description: 'HTML', content: 'text/html' },
    404: 'no such job',
    303: { description: 'to the login page', content: 'text/html' },
  },
  handler: consoleRoute(async (c, s) => {
    const id = jobId(c);
    const job = await getJob(c.var.deps.db, id);
    if (!job) {
      return render(c, s, { title: 'Job not found', active: '/ops/jobs', status: 404, body: `no job ${id}` });
    }
    return render(c, s, {
      title: `Job ${job.id}`,
      active: '/ops/jobs',
      body: JobDetail({ job, csrf: s.session.csrf, now: c.var.deps.clock.now() }),
    });
  }),
});
