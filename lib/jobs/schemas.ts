// The wire contract of jobs: request bodies and query filters, as zod/mini schemas.
// Types flow from here (z.infer); the API validates at the edge and the repository
// trusts what it is given. zod/mini keeps edge bundles small.
import * as z from 'zod/mini';
import { DURATION_HINT, parseDuration } from '../config/duration.ts';
import { FAILURE_CATEGORIES } from './categories.ts';
import './messages.ts';

export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Largest `input` (serialised JSON) a job may carry; audio belongs behind `audio_url`. */
export const MAX_INPUT_BYTES = 1_048_576;
export const MAX_RESULT_BYTES = 8 * 1_048_576;
export const MAX_BATCH_ITEMS = 1000;
export const MAX_LIST_LIMIT = 500;
export const MAX_FILTER_LIMIT = 10_000;
export const MAX_LEASE_MS = 24 * 3_600_000;

// PostgreSQL text and jsonb cannot hold NUL, and jsonb rejects lone UTF-16 surrogates;
// refusing them here turns what would be a database error into a 400.
const storable = (s: string) => !s.includes('\u0000') && s.isWellFormed();
const LONE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

const text = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(max, `must be at most ${max} characters`),
      z.refine(storable, 'must not contain NUL or unpaired surrogate characters'),
    );
const name = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(max, `must be at most ${max} characters`),
      z.regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/, 'may contain letters, digits and . _ : / @ + - only'),
    );

export const ownerService = name(100);
export const ownerRef = text(500);
export const taskType = name(100);
export const modelProfile = name(200);
export const workerIdSchema = text(200);
export const uuid = z
  .string()
  .check(z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID'));

/** A JSON object of bounded serialised size that PostgreSQL's jsonb can store. */
const jsonObject = (maxBytes: number) =>
  z.record(z.string(), z.unknown()).check(
    z.refine((v) => {
      const s = JSON.stringify(v);
      return s !== undefined && s.length <= maxBytes;
    }, `must serialise to at most ${maxBytes} bytes of JSON`),
    z.refine(
      (v) => !LONE_ESCAPE.test(JSON.stringify(v) ?? ''),
      'must not contain NUL or unpaired surrogates',
    ),
  );

const isoDate = z.iso.datetime({ offset: true });

/** "30s", "5m", or a number of milliseconds. */
export const durationMs = (min: number, max: number) =>
  z.pipe(
    z.union([z.string(), z.number()]),
    z.transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined || ms < min || ms > max) {
        ctx.issues.push({
          code: 'custom',
          message: `expected ${DURATION_HINT} between ${min}ms and ${max}ms`,
          input: v,
        });
        return z.NEVER;
      }
      return ms;
    }),
  );

// ---- create ----------------------------------------------------------------

const jobFields = {
  owner_service: ownerService,
  owner_ref: ownerRef,
  task_type: taskType,
  model_profile: modelProfile,
  input: jsonObject(MAX_INPUT_BYTES),
  priority: z.optional(z.int().check(z.gte(-1000), z.lte(1000))),
  run_after: z.optional(isoDate),
  max_attempts: z.optional(z.int().check(z.gte(1), z.lte(100))),
  idempotency_key: z.optional(text(200)),
  /** Where to POST the job when it ends (signed, Standard Webhooks); see lib/webhooks. */
  webhook_url: z.optional(
    z
      .string()
      .check(
        z.maxLength(2000, 'must be at most 2000 characters'),
        z.regex(/^https?:\/\/[^\s]+$/i, 'must be an http(s) URL'),
      ),
  ),
  /** Which endings are sent; default every terminal one. */
  webhook_events: z.optional(
    z.array(z.enum(['completed', 'failed', 'cancelled'])).check(z.minLength(1), z.maxLength(3)),
  ),
};

export const createJobSchema = z.strictObject(jobFields);
export type CreateJob = z.infer<typeof createJobSchema>;

/** Batch items: every field may come from `defaults` instead. */
export const batchCreateSchema = z.strictObject({
  defaults: z.optional(z.strictObject(z.partial(z.strictObject(jobFields)).shape)),
  jobs: z
    .array(z.record(z.string(), z.unknown()))
    .check(
      z.minLength(1, 'must hold at least one job'),
      z.maxLength(MAX_BATCH_ITEMS, `must hold at most ${MAX_BATCH_ITEMS} jobs`),
    ),
});
export type BatchCreate = z.infer<typeof batchCreateSchema>;

// ---- filters (list, retry by filter, cancel by filter) -------------------------

const statusSchema = z.enum(JOB_STATUSES);
const many = <T extends z.ZodMiniType>(item: T, max = 100) =>
  z.array(item).check(z.minLength(1), z.maxLength(max));

export const filterFields = {
  status: z.optional(many(statusSchema, 5)),
  owner_service: z.optional(ownerService),
  owner_ref: z.optional(ownerRef),
  task_type: z.optional(many(taskType)),
  model_profile: z.optional(many(modelProfile)),
  worker_id: z.optional(workerIdSchema),
  error_category: z.optional(many(z.enum(FAILURE_CATEGORIES))),
  created_after: z.optional(isoDate),
  created_before: z.optional(isoDate),
  ids: z.optional(many(uuid, 1000)),
};
export const jobFilterSchema = z.strictObject(filterFields);
export type JobFilter = z.infer<typeof jobFilterSchema>;

export const listQuerySchema = z.strictObject({
  ...filterFields,
  limit: z.optional(z.int().check(z.gte(1), z.lte(MAX_LIST_LIMIT))),
  cursor: z.optional(z.string().check(z.maxLength(100))),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

export const byFilterSchema = z.strictObject({
  ...filterFields,
  dry_run: z.optional(z.boolean()),
  limit: z.optional(z.int().check(z.gte(1), z.lte(MAX_FILTER_LIMIT))),
});
export type ByFilter = z.infer<typeof byFilterSchema>;

// ---- worker protocol ----------------------------------------------------------

export const claimSchema = z.strictObject({
  worker_id: workerIdSchema,
  limit: z.optional(z.int().check(z.gte(1), z.lte(1000))),
  task_types: z.optional(many(taskType)),
  model_profiles: z.optional(many(modelProfile)),
  lease_timeout: z.optional(durationMs(1000, MAX_LEASE_MS)),
});
export type Claim = z.infer<typeof claimSchema>;

const leaseFields = { worker_id: workerIdSchema, lease_token: uuid };

export const heartbeatSchema = z.strictObject({
  ...leaseFields,
  lease_timeout: z.optional(durationMs(1000, MAX_LEASE_MS)),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const completeSchema = z.strictObject({ ...leaseFields, result: jsonObject(MAX_RESULT_BYTES) });
export type Complete = z.infer<typeof completeSchema>;

export const failSchema = z.strictObject({
  ...leaseFields,
  category: z.enum(FAILURE_CATEGORIES),
  message: z.optional(z.string().check(z.maxLength(10_000))),
  /** Seconds (as HTTP Retry-After) or a duration string. */
  retry_after: z.optional(
    z.pipe(
      z.union([z.number().check(z.gte(0), z.lte(86_400)), z.string()]),
      z.transform((v, ctx) => {
        const ms = typeof v === 'number' ? Math.round(v * 1000) : parseDuration(v);
        if (ms === undefined || ms > 86_400_000) {
          ctx.issues.push({ code: 'custom', message: 'expected seconds or a duration up to 24h', input: v });
          return z.NEVER;
        }
        return ms;
      }),
    ),
  ),
  /** Partial output worth keeping (e.g. transcription attempts when every provider failed). */
  result: z.optional(jsonObject(MAX_RESULT_BYTES)),
});
export type Fail = z.infer<typeof failSchema>;
