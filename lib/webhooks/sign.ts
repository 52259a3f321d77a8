// Standard Webhooks signatures (standardwebhooks.com): `webhook-signature` is `v1,` +
// base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)), the key being the base64 after
// the `whsec_` prefix. Web Crypto only, so the same code signs in the worker, in an edge
// bundle's reap run and in the typed client's verifier.

const encoder = new TextEncoder();

function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The HMAC key of a `whsec_…` secret (a bare base64 secret is accepted too). */
export function secretKeyBytes(secret: string): Uint8Array<ArrayBuffer> {
  return base64ToBytes(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret);
}

/** True when `secret` is a usable Standard Webhooks secret (base64 of ≥ 16 bytes). */
export function isValidSecret(secret: string): boolean {
  try {
    return secretKeyBytes(secret).length >= 16;
  } catch {
    return false;
  }
}

async function hmac(secret: string, content: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    'raw',
    secretKeyBytes(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(content)));
}

/** The `webhook-signature` header value for one message. */
export async function sign(secret: string, id: string, timestampSec: number, body: string): Promise<string> {
  return `v1,${bytesToBase64(await hmac(secret, `${id}.${timestampSec}.${body}`))}`;
}

/** Constant-time comparison of two equal-length strings (length itself is not secret here). */
function sameString(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export interface VerifyOptions {
  /** Largest accepted clock difference in seconds (default 300, as the spec recommends). */
  toleranceSec?: number;
  nowSec?: number;
}

/**
 * Verifies a received webhook; true when one of the space-separated `v1,` signatures
 * matches and the timestamp is within the tolerance (replays of old messages refused).
 */
export async function verify(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  opts: VerifyOptions = {},
): Promise<boolean> {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts)) return false;
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (opts.toleranceSec ?? 300)) return false;
  const expected = await sign(secret, headers.id, ts, body);
  return headers.signature.split(' ').some((s) => sameString(s, expected));
}
