// POST /ops/login — exchanges AI_SERVICE_TOKEN for a signed, expiring session cookie
// (HttpOnly, SameSite=Strict, Secure over HTTPS). A wrong token gets the form again, 401.
import { getCookie } from 'hono/cookie';
import { defineFunction } from '../../lib/http/define.ts';
import { consoleDisabled, isHttps, safeNext, secureHeaders } from '../../lib/ops/guard.ts';
import {
  cookieHeader,
  issueSession,
  LOGIN_COOKIE,
  randomNonce,
  SESSION_COOKIE,
  safeEqual,
  tokenEquals,
} from '../../lib/ops/session.ts';
import { LoginPage } from '../../lib/ops/views/login.tsx';

export default defineFunction({
  name: 'ops-login-post',
  method: 'POST',
  path: '/ops/login',
  auth: false,
  access: 'console',
  summary: 'Ops console: log in with the service token',
  responses: {
    303: { description: 'logged in: session cookie set', content: 'text/html' },
    401: 'wrong token',
    403: 'missing form token',
  },
  async handler(c) {
    const disabled = consoleDisabled(c);
    if (disabled) return disabled;
    const { config, clock } = c.var.deps;
    const token = config.AI_SERVICE_TOKEN;
    if (!token) return secureHeaders(new Response(null, { status: 303, headers: { location: '/ops' } }));
    const form = await c.req.parseBody();
    const field = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : '');
    const next = safeNext(field('next'));
    const secure = isHttps(c);
    const again = async (status: 401 | 403, error: string) => {
      const nonce = randomNonce();
      const res = await c.html(LoginPage({ next, loginCsrf: nonce, error }), status);
      res.headers.append('set-cookie', cookieHeader(LOGIN_COOKIE, nonce, { secure, maxAgeS: 600 }));
      return secureHeaders(res);
    };
    const loginCookie = getCookie(c, LOGIN_COOKIE) ?? '';
    if (!loginCookie || !safeEqual(field('_login'), loginCookie)) {
      return again(403, 'The form expired; please try again.');
    }
    if (!tokenEquals(field('token'), token)) {
      c.var.deps.log.warn({ request_id: c.var.requestId }, 'ops console: wrong token');
      return again(401, 'Wrong token.');
    }
    const { cookie, session } = await issueSession(token, clock.now());
    const res = new Response(null, { status: 303, headers: { location: next } });
    res.headers.append(
      'set-cookie',
      cookieHeader(SESSION_COOKIE, cookie, { secure, maxAgeS: (session.expiresAt - clock.now()) / 1000 }),
    );
    res.headers.append('set-cookie', cookieHeader(LOGIN_COOKIE, '', { secure, maxAgeS: 0 }));
    return secureHeaders(res);
  },
});
