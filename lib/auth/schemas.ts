// The wire contract of the token admin routes.
import * as z from 'zod/mini';
import { modelProfile, ownerService, taskType } from '../jobs/schemas.ts';
import { SCOPES } from './principal.ts';

const list = <T extends z.ZodMiniType>(item: T) => z.array(item).check(z.minLength(1), z.maxLength(100));

export const createTokenSchema = z
  .strictObject({
    name: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, . _ - (≤ 100)')),
    owner_services: z.optional(list(ownerService)),
    scopes: list(z.enum(SCOPES)),
    task_types: z.optional(list(taskType)),
    model_profiles: z.optional(list(modelProfile)),
  })
  .check(
    z.refine((t) => (t.owner_services?.length ?? 0) > 0 || t.scopes.every((s) => s === 'worker'), {
      message: 'a token with jobs:* scopes must name its owner_services',
      path: ['owner_services'],
    }),
  );
export type CreateToken = z.infer<typeof createTokenSchema>;
