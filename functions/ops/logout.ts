// POST /ops/logout — drops the session cookie (CSRF-checked like every console POST).
import { defineFunction } from '../../lib/http/define.ts';
import { consoleRoute, isHttps } from '../../lib/ops/guard.ts';
import { cookieHeader, SESSION_COOKIE } from '../../lib/ops/session.ts';

export default defineFunction({
  name: 'ops-logout',
  method: 'POST',
  path: '/ops/logout',
  auth: false,
  access: 'console',
  summary: 'Ops console: log out',
  responses: { 303: { description: 'to the login page', content: 'text/html' } },
  handler: consoleRoute((c) => {
    const res = new Response(null, { status: 303, headers: { location: '/ops/login' } });
    res.headers.append('set-cookie', cookieHeader(SESSION_COOKIE, '', { secure: isHttps(c), maxAgeS: 0 }));
    return res;
  }),
});
