// Bearer-token check for /api/v1/*. Both sides are hashed to fixed-length digests and
// compared without an early exit, so timing reveals neither the token nor its length.
const enc = new TextEncoder();

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(s)));
}

export async function tokenMatches(header: string | undefined, expected: string): Promise<boolean> {
  const m = /^Bearer[ ]+(.+)$/i.exec(header ?? '');
  const given = m?.[1]?.trim() ?? '';
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let diff = given === '' ? 1 : 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
