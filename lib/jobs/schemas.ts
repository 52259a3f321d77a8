// The wire contract of jobs: request bodies and query filters, as zod/mini schemas.
// Types flow from here (z.infer); the API validates at the edge and the repository
// trusts what it is given. zod/mini keeps edge bundles small.
import * as z from 'zod/mini';
import { DURATION_HINT, formatDuration, MIN_LEASE_MS, parseDuration } from '../config/duration.ts';
import { FAILURE_CATEGORIES } from './categories.ts';
import './messages.ts';
import { JOB_STATUSES } from './transitions.ts';

/** Largest `input` (serialised JSON) a job may carry; audio belongs behind `audio_url`. */
export const MAX_INPUT_BYTES = 1_048_576;
export const MAX_RESULT_BYTES = 8 * 1_048_576;
export const MAX_BATCH_ITEMS = 1000;
export const MAX_LIST_LIMIT = 500;
export const MAX_FILTER_LIMIT = 10_000;
export const MAX_LEASE_MS = 24 * 3_600_000;

// PostgreSQL text and jsonb cannot hold NUL, and jsonb rejects lone UTF-16 surrogates;
// refusing them here turns what would be a database error into a 400.
export const storable = (s: string) => !s.includes('\u0000') && s.isWellFormed();
export const LONE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

const text = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(max, `must be at most ${max} characters`),
      z.refine(storable, 'must not contain NUL or unpaired surrogate characters'),
    );
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;
const name = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(max, `must be at most ${max} characters`),
      z.regex(NAME, 'may contain letters, digits and . _ : / @ + - only'),
    );

export const ownerService = name(100);
export const ownerRef = text(500);
export const taskType = name(100);
export const modelProfile = name(200);
export const WORKER_ID_MAX = 200;
export const workerIdSchema = text(WORKER_ID_MAX);
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const uuid = z.string().check(z.regex(UUID_PATTERN, 'must be a UUID'));

/**
 * Deepest nesting of objects/arrays allowed in `input` and `result` (the object itself
 * is level 1). Deeper values would overflow the stack of any recursive walker
 * (JSON.stringify, zod, pg's serialiser), so they are refused before any of them runs.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Where a parsed JSON value nests deeper than `max` (the path's first `keep` segments),
 * or undefined when it does not. Walked with an explicit stack, never recursion, so it
 * is safe on any value JSON.parse can return. Every body and every input is walked: the
 * common answer (not too deep) is found without building paths, which are only worked
 * out, by a second walk, for a value that is too deep.
 */
export function jsonTooDeep(value: unknown, max: number, keep = 3): string[] | undefined {
  // Objects still to look into and their depths; most inputs are flat, so nothing is
  // pushed and the walk ends after the first object.
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop() as Record<string, unknown>;
    const depth = depths.pop()!;
    if (depth > max) return pathTooDeep(value, max, keep);
    if (Array.isArray(v)) {
      for (const child of v) {
        if (child !== null && typeof child === 'object') {
          values.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const k in v) {
        const child = v[k];
        if (child !== null && typeof child === 'object' && Object.hasOwn(v, k)) {
          values.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return undefined;
}

/** The path jsonTooDeep names: the first too-deep value in its walk's order. */
function pathTooDeep(value: unknown, max: number, keep: number): string[] | undefined {
  const stack: [unknown, number, string[]][] = [[value, 1, []]];
  while (stack.length > 0) {
    const [v, depth, path] = stack.pop()!;
    if (depth > max) return path;
    const entries = Array.isArray(v) ? v.entries() : Object.entries(v as object);
    for (const [k, child] of entries) {
      if (child !== null && typeof child === 'object') {
        stack.push([child, depth + 1, path.length < keep ? [...path, String(k)] : path]);
      }
    }
  }
  return undefined;
}

/**
 * Why a JSON object cannot be stored (depth, serialised size, characters jsonb refuses),
 * or undefined when it can. Also the batch route's fast path (lib/jobs/create-check.ts).
 */
export function jsonObjectProblem(v: unknown, maxBytes: number): string | undefined {
  // Depth first: the size and character checks below serialise recursively.
  if (jsonTooDeep(v, MAX_JSON_DEPTH, 0))
    return `must nest at most ${MAX_JSON_DEPTH} levels of objects/arrays`;
  const s = JSON.stringify(v);
  if (s === undefined || s.length > maxBytes) return `must serialise to at most ${maxBytes} bytes of JSON`;
  if (LONE_ESCAPE.test(s)) return 'must not contain NUL or unpaired surrogates';
  return undefined;
}

/** A JSON object of bounded depth and serialised size that PostgreSQL's jsonb can store. */
const jsonObject = (maxBytes: number) =>
  z.record(z.string(), z.unknown()).check(
    z.superRefine((v, ctx) => {
      const message = jsonObjectProblem(v, maxBytes);
      if (message) ctx.addIssue({ code: 'custom', message, input: v });
    }),
  );

// PostgreSQL's timestamptz accepts UTC offsets up to ±15:59 and has no year 0 (ISO
// 0000): outside that, the INSERT or filter would fail with a 500. Instants before
// 0001-01-01T00:00Z (year 1 with a positive offset) are BC dates, which the drivers read
// back as Invalid Date. All three are refused here as a 400 naming the field.
const PG_OFFSET = /(?:Z|[+-](?:0\d|1[0-5]):?[0-5]\d)$/i;
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const isoDate = z.iso.datetime({ offset: true }).check(
  z.refine((s) => PG_OFFSET.test(s), 'UTC offset must be between -15:59 and +15:59'),
  z.refine(
    (s) => !s.startsWith('0000') && Date.parse(s) >= FIRST_INSTANT,
    'must not be before 0001-01-01T00:00:00Z',
  ),
);

/** "30s", "5m", "500ms", or a bare number of seconds (30 or "30"); parsed to milliseconds. */
export const durationMs = (min: number, max: number) =>
  z.pipe(
    z.union([z.string(), z.number()]),
    z.transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined || ms < min || ms > max) {
        ctx.issues.push({
          code: 'custom',
          message: `expected ${DURATION_HINT} between ${formatDuration(min)} and ${formatDuration(max)}`,
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
/**
 * What a batch create answers per item: `full` (the default) the job, `minimal` its id —
 * for a producer that keeps only ids, saving the service serialising and sending back
 * every job it just created (~700 kB for 1,000).
 */
export const createReturn = z.optional(
  z.enum(['full', 'minimal']).register(z.globalRegistry, {
    description:
      'What each result carries: "full" (default) the job, "minimal" only index, outcome and id. Refusals (400, 409) are the same either way.',
  }),
);

export const batchCreateSchema = z.strictObject({
  defaults: z.optional(z.strictObject(z.partial(z.strictObject(jobFields)).shape)),
  return: createReturn,
  jobs: z
    .array(z.record(z.string(), z.unknown()))
    .check(
      z.minLength(1, 'must hold at least one job'),
      z.maxLength(MAX_BATCH_ITEMS, `must hold at most ${MAX_BATCH_ITEMS} jobs`),
    ),
});

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
  // The cursor is base64url (lib/jobs/list.ts encodeCursor); anything else is refused here.
  cursor: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9_-]{1,100}$/, 'not a cursor returned by this API')),
  ),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

export const byFilterSchema = z.strictObject({
  ...filterFields,
  dry_run: z.optional(z.boolean()),
  limit: z.optional(z.int().check(z.gte(1), z.lte(MAX_FILTER_LIMIT))),
});
export type ByFilter = z.infer<typeof byFilterSchema>;

/** Retry's own switch: `include_cancelled` also brings back jobs cancelled by mistake. */
const includeCancelled = { include_cancelled: z.optional(z.boolean()) };
export const retryByFilterSchema = z.strictObject({ ...byFilterSchema.shape, ...includeCancelled });
export type RetryByFilter = z.infer<typeof retryByFilterSchema>;
export const retryOneSchema = z.strictObject(includeCancelled);

// ---- worker protocol ----------------------------------------------------------

export const claimSchema = z.strictObject({
  worker_id: workerIdSchema,
  limit: z.optional(z.int().check(z.gte(1), z.lte(1000))),
  task_types: z.optional(many(taskType)),
  model_profiles: z.optional(many(modelProfile)),
  lease_timeout: z.optional(durationMs(MIN_LEASE_MS, MAX_LEASE_MS)),
  /** Shown in GET /api/v1/workers (issue 11). */
  worker_version: z.optional(ownerRef),
});
export type Claim = z.infer<typeof claimSchema>;

const leaseFields = { worker_id: workerIdSchema, lease_token: uuid };

export const heartbeatSchema = z.strictObject({
  ...leaseFields,
  lease_timeout: z.optional(durationMs(MIN_LEASE_MS, MAX_LEASE_MS)),
});

export const completeSchema = z.strictObject({ ...leaseFields, result: jsonObject(MAX_RESULT_BYTES) });

export const failSchema = z.strictObject({
  ...leaseFields,
  category: z.enum(FAILURE_CATEGORIES),
  // NUL and unpaired surrogates are a 400 here as everywhere (README, "Bodies").
  message: z.optional(
    z
      .string()
      .check(
        z.maxLength(10_000),
        z.refine(storable, 'must not contain NUL or unpaired surrogate characters'),
      ),
  ),
  /** Seconds (as HTTP Retry-After) or a duration string, up to 24 h. */
  retry_after: z.optional(durationMs(0, 86_400_000)),
  /** Partial output worth keeping (e.g. transcription attempts when every provider failed). */
  result: z.optional(jsonObject(MAX_RESULT_BYTES)),
});

// ---- many leases at once (issue 14) -------------------------------------------------
// A batch body is `{"jobs": [...]}`; each item is the single route's body plus the job's
// `id`, checked one by one so an invalid item is that item's outcome, not the batch's.

export const completeItemSchema = z.strictObject({ id: uuid, ...completeSchema.shape });
export const failItemSchema = z.strictObject({ id: uuid, ...failSchema.shape });
export const heartbeatItemSchema = z.strictObject({ id: uuid, ...heartbeatSchema.shape });

const rawItems = (min: number) =>
  z
    .array(z.unknown())
    .check(
      z.minLength(min, 'must hold at least one item'),
      z.maxLength(MAX_BATCH_ITEMS, `must hold at most ${MAX_BATCH_ITEMS} items`),
    );
/**
 * What a settle answer carries for an ok item: `full` (the default) the job as written,
 * `minimal` the outcome alone — for a worker that only checks outcomes, saving the
 * service reading, serialising and sending back every job it just settled.
 */
export const settleReturn = z.optional(
  z.enum(['full', 'minimal']).register(z.globalRegistry, {
    description:
      'What each ok outcome carries: "full" (default) the job as settled, "minimal" only index, id and outcome. Errors are the same either way; the claimed jobs are always whole.',
  }),
);

export const leaseBatchSchema = z.strictObject({ jobs: rawItems(1), return: settleReturn });

/** Claim, settling first: `complete` and `fail` items are settled in the claim's transaction. */
export const claimSettleSchema = z.strictObject({
  ...claimSchema.shape,
  complete: z.optional(rawItems(0)),
  fail: z.optional(rawItems(0)),
  return: settleReturn,
});
