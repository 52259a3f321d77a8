// Who is calling: the admin (AI_SERVICE_TOKEN, or anyone when no token is configured, as
// in local development) or a named caller token with its services and scopes. Every
// route declares the scope it needs (FunctionDef.scope); lib/http/app.ts resolves the
// principal once per request and answers 401 (no or unknown token) or 403 (a known
// token without the scope). Handlers narrow what a caller sees with ownerScope().
import { AppError } from '../errors.ts';

export const SCOPES = ['jobs:read', 'jobs:write', 'jobs:admin', 'worker'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a route needs: a scope, `admin` (AI_SERVICE_TOKEN only), or `open` (no token at all). */
export type RouteAccess = Scope | 'admin' | 'open';

export type Principal =
  | { kind: 'admin' }
  | {
      kind: 'caller';
      id: string;
      name: string;
      ownerServices: readonly string[];
      scopes: readonly Scope[];
      taskTypes: readonly string[] | null;
      modelProfiles: readonly string[] | null;
    };

export const ADMIN: Principal = { kind: 'admin' };

export function allows(p: Principal, access: RouteAccess): boolean {
  if (access === 'open' || p.kind === 'admin') return true;
  if (access === 'admin') return false;
  // jobs:admin (bulk retry/cancel of one's own jobs) includes writing; writing includes reading.
  if (access === 'jobs:read') return p.scopes.some((s) => s !== 'worker');
  if (access === 'jobs:write') return p.scopes.includes('jobs:write') || p.scopes.includes('jobs:admin');
  return p.scopes.includes(access);
}

function forbidden(message: string, details?: unknown): AppError {
  return new AppError('forbidden', message, details);
}

/** Throws 403 unless the principal may act for `owner`. */
export function assertOwner(p: Principal, owner: string): void {
  if (p.kind === 'caller' && !p.ownerServices.includes(owner))
    throw forbidden(`this token does not act for owner_service ${owner}`, {
      owner_services: p.ownerServices,
    });
}

/** True when the principal may see jobs of `owner` (used to answer 404 for others' jobs). */
export const seesOwner = (p: Principal, owner: string): boolean =>
  p.kind === 'admin' || p.ownerServices.includes(owner);

/**
 * The owner_service a filter must carry for this principal: the admin's filter is left
 * alone; a caller's is pinned to its service (403 for another one). A token bound to
 * several services must name one, so every caller query stays on the owner index.
 */
export function ownerScope(p: Principal, requested: string | undefined): string | undefined {
  if (p.kind === 'admin') return requested;
  if (requested !== undefined) {
    assertOwner(p, requested);
    return requested;
  }
  if (p.ownerServices.length === 1) return p.ownerServices[0];
  throw new AppError(
    'validation_error',
    'this token acts for several services: name one with owner_service',
    {
      issues: [{ path: 'owner_service', message: `required: one of ${p.ownerServices.join(', ')}` }],
    },
  );
}

/** The task types / profiles a worker token may claim, intersected with what it asked for. */
export function claimScope(
  p: Principal,
  req: { task_types?: string[] | undefined; model_profiles?: string[] | undefined },
): { task_types?: string[]; model_profiles?: string[] } {
  if (p.kind === 'admin') {
    return {
      ...(req.task_types && { task_types: req.task_types }),
      ...(req.model_profiles && { model_profiles: req.model_profiles }),
    };
  }
  const narrow = (asked: string[] | undefined, allowed: readonly string[] | null, field: string) => {
    if (!allowed) return asked;
    if (!asked) return [...allowed];
    const outside = asked.filter((a) => !allowed.includes(a));
    if (outside.length > 0)
      throw forbidden(`this token may not claim ${field} ${outside.join(', ')}`, { allowed });
    return asked;
  };
  const task_types = narrow(req.task_types, p.taskTypes, 'task_types');
  const model_profiles = narrow(req.model_profiles, p.modelProfiles, 'model_profiles');
  return { ...(task_types && { task_types }), ...(model_profiles && { model_profiles }) };
}
