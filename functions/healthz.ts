// GET /healthz — the process is alive (Kubernetes liveness). Open; touches nothing.
import { defineFunction } from '../lib/http/define.ts';
import { healthResponse } from '../lib/http/responses.ts';

export default defineFunction({
  name: 'healthz',
  method: 'GET',
  path: '/healthz',
  auth: false,
  db: false,
  summary: 'Process health',
  responses: { 200: { description: 'alive', schema: healthResponse } },
  handler: (c) => c.json({ status: 'ok' }),
});
