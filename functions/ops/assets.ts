// GET /ops/assets/:file — the console's stylesheet and script, from the app itself (no
// CDN). Not behind the login: they hold no data.
import { defineFunction } from '../../lib/http/define.ts';
import { OPS_CSS, OPS_JS } from '../../lib/ops/assets.ts';
import { consoleDisabled, secureHeaders } from '../../lib/ops/guard.ts';

const FILES: Record<string, { type: string; body: string }> = {
  'ops.css': { type: 'text/css; charset=utf-8', body: OPS_CSS },
  'ops.js': { type: 'text/javascript; charset=utf-8', body: OPS_JS },
};

export default defineFunction({
  name: 'ops-assets',
  method: 'GET',
  path: '/ops/assets/:file',
  auth: false,
  access: 'console',
  summary: 'Ops console stylesheet and script',
  responses: {
    200: { description: 'text/css or text/javascript', content: 'text/css' },
    404: 'unknown file',
  },
  handler(c) {
    const disabled = consoleDisabled(c);
    if (disabled) return disabled;
    const f = FILES[c.req.param('file') ?? ''];
    if (!f) return secureHeaders(new Response('not found', { status: 404 }));
    return secureHeaders(
      new Response(f.body, { headers: { 'content-type': f.type, 'cache-control': 'public, max-age=300' } }),
    );
  },
});
