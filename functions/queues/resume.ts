// POST /api/v1/queues/resume — claims for the group start again, oldest first as before.
import { AppError } from '../../lib/errors.ts';
import { defineFunction } from '../../lib/http/define.ts';
import * as R from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { resumeQueue } from '../../lib/queues/control.ts';
import { groupOf, resumeSchema } from '../../lib/queues/schemas.ts';

export default defineFunction({
  name: 'queues-resume',
  method: 'POST',
  path: '/api/v1/queues/resume',
  auth: true,
  access: 'admin',
  summary: 'Resume claims for a model_profile or task_type',
  body: resumeSchema,
  example: { model_profile: 'qwen2.5-14b' },
  responses: {
    200: { description: 'the queue row', schema: R.queueRow },
    404: 'not_found (never paused or limited)',
  },
  async handler(c) {
    const body = await parseBody(c, resumeSchema);
    const { db, log } = c.var.deps;
    const ref = groupOf(body);
    const q = await resumeQueue(db, ref);
    if (!q) throw new AppError('not_found', `no queue state for ${ref.scope} ${ref.name}`);
    log.info({ scope: q.scope, name: q.name }, 'queue resumed');
    return c.json(q);
  },
});
