// GET /api/v1/usage — tokens (prompt/completion), audio seconds and busy seconds per
// owner_service × model_profile over the jobs finished in a window (?window=24h, ≤ 7 d;
// ?owner_service= to narrow). Same figures as the console's Usage page.

import * as z from 'zod/mini';
import { ownerScope } from '../lib/auth/principal.ts';
import { defineFunction } from '../lib/http/define.ts';
import * as R from '../lib/http/responses.ts';
import { parseQuery } from '../lib/http/validate.ts';
import { durationMs, ownerService } from '../lib/jobs/schemas.ts';
import { usageByOwner } from '../lib/jobs/usage.ts';

const query = z.strictObject({
  window: z.optional(durationMs(60_000, 7 * 86_400_000)),
  owner_service: z.optional(ownerService),
});

export default defineFunction({
  name: 'usage',
  method: 'GET',
  path: '/api/v1/usage',
  auth: true,
  access: 'jobs:read',
  summary: 'Usage per owner_service × model_profile over a window',
  query,
  responses: {
    200: { description: 'usage per owner_service × model_profile', schema: R.usageResponse },
    400: 'bad window',
  },
  async handler(c) {
    const { window = 86_400_000, owner_service } = parseQuery(c, query);
    const until = new Date(c.var.deps.clock.now());
    const since = new Date(until.getTime() - window);
    const usage = await usageByOwner(c.var.deps.db, {
      since,
      until,
      owner_service: ownerScope(c.var.principal, owner_service),
    });
    return c.json({ window_ms: window, since: since.toISOString(), until: until.toISOString(), usage });
  },
});
