// Shared pieces of the job routes: the :id parameter and job → JSON.
import * as z from 'zod/mini';
import { type JobRow, toJobJson } from '../jobs/row.ts';
import { uuid } from '../jobs/schemas.ts';
import type { Ctx } from './define.ts';
import { validate } from './validate.ts';

const idParam = z.object({ id: uuid });

export const jobId = (c: Ctx): string => validate(idParam, { id: c.req.param('id') }, 'path').id;

export const jobJson = (row: JobRow, withLease = false) => toJobJson(row, { withLease });

export const labels = (row: Pick<JobRow, 'task_type' | 'model_profile'>) => ({
  task_type: row.task_type,
  model_profile: row.model_profile,
});
