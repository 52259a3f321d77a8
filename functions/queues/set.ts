// PUT /api/v1/queues/{name} — run-time limit (max running jobs across all workers) and/or
// token budget for a model_profile (or, with scope "task_type", a task type). A value
// here wins over PROFILE_LIMITS / TASK_TYPE_LIMITS / PROFILE_TOKEN_BUDGETS until it is
// cleared with null; a field left out keeps its value.
import { AppError } from '../../lib/errors.ts';
import { defineFunction } from '../../lib/http/define.ts';
import * as R from '../../lib/http/responses.ts';
import { parseBody, validate } from '../../lib/http/validate.ts';
import { modelProfile } from '../../lib/jobs/schemas.ts';
import { setQueueLimits } from '../../lib/queues/control.ts';
import { setQueueSchema } from '../../lib/queues/schemas.ts';

export default defineFunction({
  name: 'queues-set',
  method: 'PUT',
  path: '/api/v1/queues/:name',
  auth: true,
  access: 'admin',
  summary: 'Set or clear (null) the run-time limit and token budget of a model_profile or task_type',
  body: setQueueSchema,
  example: { limit: 2 },
  responses: { 200: { description: 'the queue row', schema: R.queueRow }, 400: 'validation_error' },
  async handler(c) {
    const name = validate(modelProfile, decodeURIComponent(c.req.param('name') ?? ''), 'path');
    const body = await parseBody(c, setQueueSchema);
    const scope = body.scope ?? 'model_profile';
    if (scope === 'task_type' && body.token_budget !== undefined && body.token_budget !== null)
      throw new AppError('validation_error', 'token_budget applies to a model_profile only');
    const q = await setQueueLimits(c.var.deps.db, { scope, name }, body);
    c.var.deps.log.info(
      { scope, name, limit: q.max_running, token_budget: q.token_budget },
      'queue limits set',
    );
    return c.json(q);
  },
});
