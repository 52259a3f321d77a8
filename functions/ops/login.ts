// GET /ops/login — the login form. A short-lived random cookie is echoed in the form
// (double submit), so a cross-site page cannot log a browser in with its own token.
import { getCookie } from 'hono/cookie';
import { defineFunction } from '../../lib/http/define.ts';
import { consoleDisabled, isHttps, safeNext, secureHeaders } from '../../lib/ops/guard.ts';
import {
  cookieHeader,
  LOGIN_COOKIE,
  randomNonce,
  readSession,
  SESSION_COOKIE,
} from '../../lib/ops/session.ts';
import { LoginPage } from '../../lib/ops/views/login.tsx';

export default defineFunction({
  name: 'ops-login',
  method: 'GET',
  path: '/ops/login',
  auth: false,
  access: 'console',
  summary: 'Ops console: login form',
  responses: {
    200: { description: 'HTML form', content: 'text/html' },
    303: { description: 'already logged in (or no token configured)', content: 'text/html' },
  },
  async handler(c) {
    const disabled = consoleDisabled(c);
    if (disabled) return disabled;
    const { config, clock } = c.var.deps;
    const next = safeNext(c.req.query('next'));
    const token = config.AI_SERVICE_TOKEN;
    if (!token || (await readSession(token, getCookie(c, SESSION_COOKIE), clock.now()))) {
      return secureHeaders(new Response(null, { status: 303, headers: { location: next } }));
    }
    const nonce = randomNonce();
    const res = await c.html(LoginPage({ next, loginCsrf: nonce }));
    res.headers.append('set-cookie', cookieHeader(LOGIN_COOKIE, nonce, { secure: isHttps(c), maxAgeS: 600 }));
    return secureHeaders(res);
  },
});
