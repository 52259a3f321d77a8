// Bearer-token check for /api/v1/*. The comparison always walks the whole expected token
// (out-of-range reads of the given one compare as 0) and folds a length mismatch into the
// result, so its time depends only on the expected token's length — nothing about the
// given token leaks. Synchronous: hashing both sides with WebCrypto cost ~12% of a GET.
export function tokenMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer[ ]+(.+)$/i.exec(header ?? '');
  const given = m?.[1]?.trim() ?? '';
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (given.charCodeAt(i) | 0) ^ expected.charCodeAt(i);
  return diff === 0 && given.length > 0;
}
