// The caller tokens repository (migration 009) and the lookup every authenticated request
// makes: SHA-256 of the presented token, matched through the unique index, cached per
// process for TOKEN_CACHE_MS so a busy API does not query for every request. A revoked
// token stops working at once in the process that revoked it and within TOKEN_CACHE_MS
// everywhere else. Tokens are shown once, at creation, and never logged.
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import type { Principal, Scope } from './principal.ts';

export const TOKEN_PREFIX = 'ais_';
export const TOKEN_CACHE_MS = 10_000;

export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const b64 = btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
  return `${TOKEN_PREFIX}${b64}`;
}

export interface TokenRow {
  id: string;
  name: string;
  owner_services: string[];
  scopes: Scope[];
  task_types: string[] | null;
  model_profiles: string[] | null;
  created_at: Date;
  revoked_at: Date | null;
}

const toPrincipal = (r: TokenRow): Principal => ({
  kind: 'caller',
  id: r.id,
  name: r.name,
  ownerServices: r.owner_services,
  scopes: r.scopes,
  taskTypes: r.task_types,
  modelProfiles: r.model_profiles,
});

const cache = new Map<string, { principal: Principal | null; until: number }>();

/** The caller a token belongs to, or null for an unknown or revoked token. */
export async function principalOfToken(
  db: Queryable,
  token: string,
  now = Date.now(),
): Promise<Principal | null> {
  const hash = await hashToken(token);
  const hit = cache.get(hash);
  if (hit && hit.until > now) return hit.principal;
  const r = await db.query<TokenRow>(
    `SELECT id, name, owner_services, scopes, task_types, model_profiles, created_at, revoked_at
     FROM ai_caller_tokens WHERE token_hash = $1 AND revoked_at IS NULL`,
    [hash],
  );
  const principal = r.rows[0] ? toPrincipal(r.rows[0]) : null;
  if (cache.size > 10_000) cache.clear(); // bounded: unknown tokens must not grow it forever
  cache.set(hash, { principal, until: now + TOKEN_CACHE_MS });
  return principal;
}

export interface NewToken {
  name: string;
  owner_services: string[];
  scopes: Scope[];
  task_types?: string[] | undefined;
  model_profiles?: string[] | undefined;
}

export async function createToken(db: Queryable, t: NewToken): Promise<{ token: string; row: TokenRow }> {
  const token = newToken();
  const r = await db.query<TokenRow>(
    `INSERT INTO ai_caller_tokens (name, token_hash, owner_services, scopes, task_types, model_profiles)
     VALUES ($1, $2, $3::text[], $4::text[], $5::text[], $6::text[])
     ON CONFLICT (name) DO NOTHING
     RETURNING id, name, owner_services, scopes, task_types, model_profiles, created_at, revoked_at`,
    [
      t.name,
      await hashToken(token),
      t.owner_services,
      t.scopes,
      t.task_types ?? null,
      t.model_profiles ?? null,
    ],
  );
  if (!r.rows[0]) throw new AppError('invalid_state', `a token named ${t.name} already exists`);
  return { token, row: r.rows[0] };
}

export async function listTokens(db: Queryable): Promise<TokenRow[]> {
  const r = await db.query<TokenRow>(
    `SELECT id, name, owner_services, scopes, task_types, model_profiles, created_at, revoked_at
     FROM ai_caller_tokens ORDER BY name`,
  );
  return r.rows;
}

export async function revokeToken(db: Queryable, id: string): Promise<TokenRow> {
  const r = await db.query<TokenRow & { token_hash: string }>(
    `UPDATE ai_caller_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
     RETURNING id, name, owner_services, scopes, task_types, model_profiles, created_at, revoked_at, token_hash`,
    [id],
  );
  const row = r.rows[0];
  if (!row) throw new AppError('not_found', `token ${id} not found`);
  cache.delete(row.token_hash);
  const { token_hash: _, ...out } = row;
  return out;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** A caller token as the admin routes show it: never the token, never its hash. */
export const tokenJson = (r: TokenRow) => ({
  ...r,
  created_at: iso(r.created_at),
  revoked_at: iso(r.revoked_at),
});
