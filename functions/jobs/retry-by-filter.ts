// POST /api/v1/jobs/retry — failed/running jobs matching a filter go back to pending;
// `include_cancelled: true` brings back cancelled ones too.
import { defineFunction } from '../../lib/http/define.ts';
import { byFilterResult } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { retryByFilter } from '../../lib/jobs/admin.ts';
import { retryByFilterSchema } from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-retry-by-filter',
  method: 'POST',
  path: '/api/v1/jobs/retry',
  auth: true,
  summary: 'Retry failed/running jobs by filter (cancelled too with include_cancelled; dry_run counts only)',
  body: retryByFilterSchema,
  example: { owner_service: 'telephony', error_category: ['auth_error'], dry_run: true },
  responses: {
    200: { description: 'the jobs retried (or that would be)', schema: byFilterResult },
    400: 'validation_error: empty or invalid filter',
  },
  async handler(c) {
    return c.json(await retryByFilter(c.var.deps.db, await parseBody(c, retryByFilterSchema)));
  },
});
