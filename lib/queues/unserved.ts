// The create-time check of issue 11: a job no live worker serves is never accepted in
// silence. Returns the warning to attach, or throws 422 `unserved` when REJECT_UNSERVED.
import type { Config } from '../config/schema.ts';
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { isServed } from './workers.ts';

/**
 * "Served" answers are kept SERVED_CACHE_MS per process: a create must not pay a second
 * round trip for a fact that changes on the scale of minutes (WORKER_LIVE_WINDOW), and a
 * worker going silent is reported a few seconds late at worst. "Unserved" is never
 * cached, so a worker that just started is seen at once.
 */
const SERVED_CACHE_MS = 5_000;
const servedByDb = new WeakMap<object, Map<string, number>>();

export async function unservedCheck(
  deps: { db: Queryable; config: Pick<Config, 'REJECT_UNSERVED' | 'WORKER_LIVE_WINDOW'> },
  taskType: string,
  modelProfile: string,
): Promise<string | undefined> {
  const key = `${taskType}\u0000${modelProfile}`;
  const now = Date.now();
  let served = servedByDb.get(deps.db);
  if (!served) {
    served = new Map();
    servedByDb.set(deps.db, served);
  }
  if ((served.get(key) ?? 0) > now) return undefined;
  if (await isServed(deps.db, taskType, modelProfile, deps.config.WORKER_LIVE_WINDOW)) {
    if (served.size > 10_000) served.clear();
    served.set(key, now + SERVED_CACHE_MS);
    return undefined;
  }
  const message = `no live worker serves task_type ${taskType} on model_profile ${modelProfile}`;
  if (deps.config.REJECT_UNSERVED)
    throw new AppError('unserved', `${message}; the job was not created (REJECT_UNSERVED=true)`, {
      task_type: taskType,
      model_profile: modelProfile,
    });
  return `${message}: it will wait until one claims it (GET /api/v1/workers)`;
}
