// The create-time check of issue 11: a job no live worker serves is never accepted in
// silence. Returns the warning to attach, or throws 422 `unserved` when REJECT_UNSERVED.
import type { Config } from '../config/schema.ts';
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { isServed } from './workers.ts';

export async function unservedCheck(
  deps: { db: Queryable; config: Pick<Config, 'REJECT_UNSERVED' | 'WORKER_LIVE_WINDOW'> },
  taskType: string,
  modelProfile: string,
): Promise<string | undefined> {
  if (await isServed(deps.db, taskType, modelProfile, deps.config.WORKER_LIVE_WINDOW)) return undefined;
  const message = `no live worker serves task_type ${taskType} on model_profile ${modelProfile}`;
  if (deps.config.REJECT_UNSERVED)
    throw new AppError('unserved', `${message}; the job was not created (REJECT_UNSERVED=true)`, {
      task_type: taskType,
      model_profile: modelProfile,
    });
  return `${message}: it will wait until one claims it (GET /api/v1/workers)`;
}
