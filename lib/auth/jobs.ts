// The by-id routes' owner check: a caller token sees only its own services' jobs, and
// another caller's job answers 404 exactly as a missing one does (no existence leak).
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { type Principal, seesOwner } from './principal.ts';

export async function assertSeesJob(db: Queryable, p: Principal, id: string): Promise<void> {
  const r = await db.query<{ owner_service: string }>('SELECT owner_service FROM ai_jobs WHERE id = $1', [
    id,
  ]);
  const owner = r.rows[0]?.owner_service;
  if (owner === undefined || !seesOwner(p, owner)) throw new AppError('not_found', `job ${id} not found`);
}
