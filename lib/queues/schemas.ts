// Request bodies of the queue-control endpoints (issue 11). A group is named by exactly
// one of model_profile / task_type.
import * as z from 'zod/mini';
import { modelProfile, ownerRef, taskType } from '../jobs/schemas.ts';
import type { GroupRef } from './control.ts';

const groupFields = { model_profile: z.optional(modelProfile), task_type: z.optional(taskType) };
const oneGroup = (v: { model_profile?: string; task_type?: string }) =>
  (v.model_profile === undefined) !== (v.task_type === undefined);
const ONE_GROUP = 'name exactly one of model_profile or task_type';

export const pauseSchema = z
  .strictObject({
    ...groupFields,
    reason: z.optional(ownerRef),
    by: z.optional(ownerRef),
    /** true (default): running jobs finish; false: they are released at their next heartbeat. */
    drain: z.optional(z.boolean()),
  })
  .check(z.refine(oneGroup, ONE_GROUP));

export const resumeSchema = z.strictObject(groupFields).check(z.refine(oneGroup, ONE_GROUP));

const nullableCount = (min: number, max: number) =>
  z.optional(z.nullable(z.int().check(z.gte(min), z.lte(max))));

/** PUT /api/v1/queues/{name}: null clears a run-time value (the configuration applies again). */
export const setQueueSchema = z.strictObject({
  scope: z.optional(z.enum(['model_profile', 'task_type'])),
  limit: nullableCount(0, 1_000_000),
  token_budget: nullableCount(1, 1_000_000_000),
});

export const groupOf = (v: { model_profile?: string; task_type?: string }): GroupRef =>
  v.model_profile !== undefined
    ? { scope: 'model_profile', name: v.model_profile }
    : { scope: 'task_type', name: v.task_type! };
