// POST /ops/actions — retry or cancel by filter, in two steps: step=preview runs the dry
// run (count and ids), step=confirm acts. Both validate the filter with the API's
// byFilterSchema and call the same retryByFilter/cancelByFilter as POST
// /api/v1/jobs/retry|cancel. CSRF-checked by consoleRoute.
import { AppError } from '../../lib/errors.ts';
import { defineFunction } from '../../lib/http/define.ts';
import { validate } from '../../lib/http/validate.ts';
import { cancelByFilter, retryByFilter } from '../../lib/jobs/admin.ts';
import { byFilterSchema } from '../../lib/jobs/schemas.ts';
import { consoleRoute } from '../../lib/ops/guard.ts';
import { render } from '../../lib/ops/page.ts';
import { ActionDone, ActionPreview } from '../../lib/ops/views/failures.tsx';

export default defineFunction({
  name: 'ops-actions',
  method: 'POST',
  path: '/ops/actions',
  auth: false,
  access: 'console',
  summary: 'Ops console: retry/cancel by filter (preview, then confirm)',
  responses: {
    200: { description: 'HTML', content: 'text/html' },
    400: 'bad filter',
    403: 'CSRF token missing or wrong',
  },
  handler: consoleRoute(async (c, s) => {
    const action = s.form['action'];
    const step = s.form['step'];
    if ((action !== 'retry' && action !== 'cancel') || (step !== 'preview' && step !== 'confirm')) {
      throw new AppError('validation_error', 'action must be retry|cancel and step preview|confirm');
    }
    let raw: unknown;
    try {
      raw = JSON.parse(typeof s.form['filter'] === 'string' ? s.form['filter'] : '');
    } catch {
      throw new AppError('invalid_json', 'filter is not valid JSON');
    }
    const { dry_run: _ignored, ...filter } = validate(byFilterSchema, raw, 'filter');
    const run = action === 'retry' ? retryByFilter : cancelByFilter;
    const db = c.var.deps.db;
    if (step === 'preview') {
      const dry = await run(db, { ...filter, dry_run: true });
      return render(c, s, {
        title: `${action === 'retry' ? 'Retry' : 'Cancel'}: preview`,
        active: '/ops/failures',
        body: ActionPreview({ action, filter, dry, csrf: s.session.csrf }),
      });
    }
    const done = await run(db, filter);
    c.var.deps.log.info(
      { request_id: c.var.requestId, action, count: done.count, filter },
      'ops console action',
    );
    return render(c, s, {
      title: `${action === 'retry' ? 'Retried' : 'Cancelled'}`,
      active: '/ops/failures',
      body: ActionDone({ action, done }),
    });
  }),
});
