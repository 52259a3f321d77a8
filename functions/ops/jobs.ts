// GET /ops/jobs — the job list with every filter GET /api/v1/jobs has (same schema, same
// listJobs), newest first, keyset paging by cursor.
import { AppError } from '../../lib/errors.ts';
import { defineFunction } from '../../lib/http/define.ts';
import { validate } from '../../lib/http/validate.ts';
import { listJobs } from '../../lib/jobs/list.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import { listQuerySchema } from '../../lib/jobs/schemas.ts';
import { consoleRoute } from '../../lib/ops/guard.ts';
import { render } from '../../lib/ops/page.ts';
import { type FilterValues, JobsList } from '../../lib/ops/views/jobs.tsx';
import { LIST_ARRAYS } from '../jobs/list.ts';

const FIELDS = [
  'status',
  'owner_service',
  'owner_ref',
  'task_type',
  'model_profile',
  'worker_id',
  'error_category',
  'created_after',
  'created_before',
  'ids',
  'limit',
  'cursor',
] as const;

export default defineFunction({
  name: 'ops-jobs',
  method: 'GET',
  path: '/ops/jobs',
  auth: false,
  access: 'console',
  summary: 'Ops console: jobs list',
  responses: {
    200: { description: 'HTML', content: 'text/html' },
    400: 'HTML with the filter error',
    303: { description: 'to the login page', content: 'text/html' },
  },
  handler: consoleRoute(async (c, s) => {
    const url = new URL(c.req.url);
    // Form fields left empty are absent filters, not empty strings.
    const values: FilterValues = {};
    for (const k of FIELDS) {
      const vs = url.searchParams
        .getAll(k)
        .flatMap((v) => ((LIST_ARRAYS as readonly string[]).includes(k) ? v.split(',') : [v]))
        .map((v) => v.trim())
        .filter(Boolean);
      if (vs.length) values[k] = vs;
    }
    const q: Record<string, unknown> = {};
    for (const [k, vs] of Object.entries(values)) {
      if ((LIST_ARRAYS as readonly string[]).includes(k)) q[k] = vs;
      else if (k === 'limit') q[k] = /^\d{1,9}$/.test(vs[0]!) ? Number(vs[0]) : vs[0];
      else q[k] = vs[0];
    }
    let jobs: JobRow[] = [];
    let nextHref: string | null = null;
    let error: string | null = null;
    try {
      const page = await listJobs(c.var.deps.db, validate(listQuerySchema, q, 'filter'));
      jobs = page.jobs;
      if (page.next_cursor) {
        const next = new URLSearchParams();
        for (const [k, vs] of Object.entries(values)) if (k !== 'cursor') next.set(k, vs.join(','));
        next.set('cursor', page.next_cursor);
        nextHref = `/ops/jobs?${next}`;
      }
    } catch (e) {
      if (!(e instanceof AppError) || e.status !== 400) throw e;
      const issues =
        (e.details as { issues?: { path: string; message: string }[] } | undefined)?.issues ?? [];
      error = `${e.message}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`;
    }
    return render(c, s, {
      title: 'Jobs',
      active: '/ops/jobs',
      status: error ? 400 : 200,
      body: JobsList({ values, jobs, nextHref, error }),
    });
  }),
});
