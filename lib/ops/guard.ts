// Every console route goes through consoleRoute(): it refuses to serve in production
// without AI_SERVICE_TOKEN, sends visitors without a valid session to the login page
// (no data is read before that), checks the CSRF token on every POST, and sets the
// headers every console response carries. The API's bearer middleware only covers
// /api/v1/*, so /ops is guarded here.
import { getCookie } from 'hono/cookie';
import { AppError } from '../errors.ts';
import type { Ctx } from '../http/define.ts';
import { errorResponse } from '../http/errors.ts';
import {
  cookieHeader,
  issueSession,
  readSession,
  SESSION_COOKIE,
  type Session,
  safeEqual,
} from './session.ts';

export interface ConsoleCtx {
  session: Session;
  /** No AI_SERVICE_TOKEN: open console (development), shown in a banner. */
  open: boolean;
  /** Parsed form fields of a POST (after the CSRF check). */
  form: Record<string, string | string[]>;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function secureHeaders(res: Response): Response {
  res.headers.set('content-security-policy', CSP);
  res.headers.set('x-frame-options', 'DENY');
  res.headers.set('x-content-type-options', 'nosniff');
  res.headers.set('referrer-policy', 'same-origin');
  if (!res.headers.has('cache-control')) res.headers.set('cache-control', 'no-store');
  return res;
}

export const isHttps = (c: Ctx): boolean =>
  new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';

/** Not served at all: production without a token would mean an open console. */
export function consoleDisabled(c: Ctx): Response | null {
  const { config } = c.var.deps;
  if (!config.AI_SERVICE_TOKEN && config.NODE_ENV === 'production') {
    return errorResponse(new AppError('not_found', 'the ops console needs AI_SERVICE_TOKEN in production'));
  }
  return null;
}

/** Only same-site relative paths under /ops may be a post-login destination. */
export function safeNext(next: string | undefined | null): string {
  return next && /^\/ops(?:[/?#]|$)/.test(next) && !next.startsWith('//') && !/[\\\r\n]/.test(next)
    ? next
    : '/ops';
}

export function consoleRoute(fn: (c: Ctx, s: ConsoleCtx) => Promise<Response> | Response) {
  return async (c: Ctx): Promise<Response> => {
    const disabled = consoleDisabled(c);
    if (disabled) return disabled;
    const { config, clock } = c.var.deps;
    const token = config.AI_SERVICE_TOKEN ?? '';
    let session = await readSession(token, getCookie(c, SESSION_COOKIE), clock.now());
    let setCookie: string | undefined;
    if (!session) {
      if (token) {
        const url = new URL(c.req.url);
        const next = c.req.method === 'GET' ? url.pathname + url.search : '/ops';
        return secureHeaders(
          new Response(null, {
            status: 303,
            headers: { location: `/ops/login?next=${encodeURIComponent(next)}` },
          }),
        );
      }
      const issued = await issueSession('', clock.now());
      session = issued.session;
      setCookie = cookieHeader(SESSION_COOKIE, issued.cookie, {
        secure: isHttps(c),
        maxAgeS: (issued.session.expiresAt - clock.now()) / 1000,
      });
    }
    let form: Record<string, string | string[]> = {};
    if (c.req.method === 'POST') {
      form = (await c.req.parseBody({ all: true })) as Record<string, string | string[]>;
      const given = form['_csrf'];
      if (typeof given !== 'string' || !safeEqual(given, session.csrf)) {
        return secureHeaders(new Response('invalid or missing CSRF token', { status: 403 }));
      }
    }
    const res = await fn(c, { session, open: !token, form });
    if (setCookie) res.headers.append('set-cookie', setCookie);
    return secureHeaders(res);
  };
}
