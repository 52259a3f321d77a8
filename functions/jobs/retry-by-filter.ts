// POST /api/v1/jobs/retry — failed/running jobs matching a filter go back to pending;
// `include_cancelled: true` brings back cancelled ones too.
import { ownerScope } from '../../lib/auth/principal.ts';
import { defineFunction } from '../../lib/http/define.ts';
import { byFilterResult } from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { retryByFilter } from '../../lib/jobs/admin.ts';
import { isEmptyFilter } from '../../lib/jobs/filter.ts';
import { retryByFilterSchema } from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'jobs-retry-by-filter',
  method: 'POST',
  path: '/api/v1/jobs/retry',
  auth: true,
  access: 'jobs:admin',
  summary: 'Retry failed/running jobs by filter (cancelled too with include_cancelled; dry_run counts only)',
  body: retryByFilterSchema,
  example: { owner_service: 'telephony', error_category: ['auth_error'], dry_run: true },
  responses: {
    200: { description: 'the jobs retried (or that would be)', schema: byFilterResult },
    400: 'validation_error: empty or invalid filter',
  },
  async handler(c) {
    const body = await parseBody(c, retryByFilterSchema);
    // An empty filter stays the 400 it is for everyone: a caller's is not widened to "all of mine".
    if (!isEmptyFilter(body)) body.owner_service = ownerScope(c.var.principal, body.owner_service);
    return c.json(await retryByFilter(c.var.deps.db, body));
  },
});
