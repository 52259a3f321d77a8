// Bearer tokens for /api/v1/*: the admin AI_SERVICE_TOKEN, or a caller token (ais_…,
// lib/auth/tokens.ts). With no AI_SERVICE_TOKEN configured (local development) the API
// is open and everyone is the admin.
import { ADMIN, type Principal } from '../auth/principal.ts';
import { principalOfToken, TOKEN_PREFIX } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';
import type { Deps } from './deps.ts';

export async function authenticate(
  deps: Pick<Deps, 'config' | 'db'>,
  header: string | undefined,
): Promise<Principal> {
  const admin = deps.config.AI_SERVICE_TOKEN;
  if (!admin || tokenMatches(header, admin)) return ADMIN;
  const given = /^Bearer[ ]+(.+)$/i.exec(header ?? '')?.[1]?.trim();
  if (given?.startsWith(TOKEN_PREFIX)) {
    const caller = await principalOfToken(deps.db, given);
    if (caller) return caller;
  }
  throw new AppError('unauthorized', 'missing or invalid bearer token');
}

// The admin token check. The comparison always walks the whole expected token
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
