// The reaper's cron logic, apart from the bundle import so a test can drive it with a
// fake handler: build the same authenticated POST a platform cron would send over HTTP,
// hand it to the bundle's fetch in-process, and fail loudly on a non-2xx answer (a
// thrown error marks the cron run failed in the Workers dashboard and logs).

export const REAP_PATH = '/api/v1/jobs/reap';

/**
 * @param {{ fetch: (request: Request, env: unknown, ctx: unknown) => Response | Promise<Response> }} handler
 * @param {Record<string, unknown>} env the Worker's env (vars and secrets)
 * @param {unknown} [ctx] the ExecutionContext, passed through to the bundle
 * @returns {Promise<{ status: number, body: string }>}
 */
export async function reapOnSchedule(handler, env, ctx) {
  const headers = new Headers({ 'content-type': 'application/json' });
  // Without AI_SERVICE_TOKEN the API runs open and expects no header; with it, the
  // bundle rejects a request that does not carry it.
  const token = typeof env.AI_SERVICE_TOKEN === 'string' ? env.AI_SERVICE_TOKEN.trim() : '';
  if (token) headers.set('authorization', `Bearer ${token}`);
  // The host is never resolved: the request goes straight to the bundle's fetch.
  const request = new Request(`https://ai-service.internal${REAP_PATH}`, {
    method: 'POST',
    headers,
    body: '{}',
  });
  const response = await handler.fetch(request, env, ctx);
  const body = await response.text();
  if (!response.ok) {
    throw new Error(`lease reap failed: HTTP ${response.status}: ${body.slice(0, 300)}`);
  }
  console.log(JSON.stringify({ msg: 'lease reap done', status: response.status, body: body.slice(0, 300) }));
  return { status: response.status, body };
}
