// POST /api/v1/jobs/cancel — pending/running jobs matching a filter become cancelled; a
// running job's worker loses its lease at its next heartbeat and aborts.
import { defineFunction } from '../../lib/http/define.ts';
import { byFilterResult } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { cancelByFilter } from '../../lib/jobs/admin.ts';
import { byFilterSchema } from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-cancel',
  method: 'POST',
  path: '/api/v1/jobs/cancel',
  auth: true,
  summary: 'Cancel pending/running jobs by filter (non-empty filter; dry_run counts only)',
  body: byFilterSchema,
  example: { owner_service: 'telephony', owner_ref: 'beeline/8f2c1d' },
  responses: {
    200: { description: 'the jobs cancelled (or that would be)', schema: byFilterResult },
    400: 'validation_error: empty or invalid filter',
  },
  async handler(c) {
    return c.json(await cancelByFilter(c.var.deps.db, await parseBody(c, byFilterSchema)));
  },
});
