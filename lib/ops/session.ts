// Console sessions: the login form exchanges AI_SERVICE_TOKEN for a signed, expiring
// cookie; every POST carries a CSRF token bound to that session. Web Crypto only (the
// console's functions are bundled for the edge like the rest).
//
//   cookie  ops_session = <expires_ms>.<nonce>.<sig>   sig = HMAC(K, "s." + expires + "." + nonce)
//   csrf    HMAC(K, "c." + nonce)                       (a page form field; never a cookie)
//   K       HMAC(AI_SERVICE_TOKEN, "ai-service ops console v1") — rotates with the token,
//           so changing the token logs every console user out.
// With no token configured (local development) K is derived from the empty string: the
// console is open anyway, and the CSRF token still needs the session nonce, which a
// cross-site page cannot read.
export const SESSION_COOKIE = 'ops_session';
export const LOGIN_COOKIE = 'ops_login';
export const SESSION_TTL_MS = 12 * 3_600_000;

const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function b64url(buf: ArrayBuffer | Uint8Array): string {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function hmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
}

/** The signing key for a service token (cached per token; "" for the open console). */
function keyFor(token: string): Promise<CryptoKey> {
  let k = keys.get(token);
  if (!k) {
    k = (async () => {
      const root = await hmacKey(enc.encode(token.length ? token : '\u0000open-console'));
      const derived = await crypto.subtle.sign('HMAC', root, enc.encode('ai-service ops console v1'));
      return hmacKey(new Uint8Array(derived));
    })();
    keys.set(token, k);
  }
  return k;
}

async function sign(token: string, msg: string): Promise<string> {
  return b64url(await crypto.subtle.sign('HMAC', await keyFor(token), enc.encode(msg)));
}

/** Constant-time for equal lengths; a length difference is not secret (all sigs are 43 chars). */
export function safeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a.charCodeAt(i) | 0) ^ b.charCodeAt(i);
  return diff === 0;
}

export const randomNonce = (): string => b64url(crypto.getRandomValues(new Uint8Array(18)));

export interface Session {
  nonce: string;
  expiresAt: number;
  csrf: string;
}

export async function issueSession(
  token: string,
  now: number,
): Promise<{ cookie: string; session: Session }> {
  const nonce = randomNonce();
  const expiresAt = now + SESSION_TTL_MS;
  const sig = await sign(token, `s.${expiresAt}.${nonce}`);
  return {
    cookie: `${expiresAt}.${nonce}.${sig}`,
    session: { nonce, expiresAt, csrf: await csrfFor(token, nonce) },
  };
}

export async function readSession(
  token: string,
  cookie: string | undefined,
  now: number,
): Promise<Session | null> {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{10,64})\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
  if (!m) return null;
  const expiresAt = Number(m[1]);
  const nonce = m[2]!;
  const expected = await sign(token, `s.${expiresAt}.${nonce}`);
  if (!safeEqual(m[3]!, expected) || expiresAt <= now) return null;
  return { nonce, expiresAt, csrf: await csrfFor(token, nonce) };
}

export const csrfFor = (token: string, nonce: string): Promise<string> => sign(token, `c.${nonce}`);

/** Set-Cookie value: HttpOnly, SameSite=Strict, Path=/ops, Secure when served over HTTPS. */
export function cookieHeader(
  name: string,
  value: string,
  opts: { secure: boolean; maxAgeS: number },
): string {
  return [
    `${name}=${value}`,
    'Path=/ops',
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeS))}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(opts.secure ? ['Secure'] : []),
  ].join('; ');
}

/** The token given in the login form equals the configured one (constant time). */
export function tokenEquals(given: string, expected: string): boolean {
  return given.length > 0 && safeEqual(given, expected);
}
