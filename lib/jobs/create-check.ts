// A fast path for createJobSchema on the batch route: zod's parse of 1,000 items was the
// largest share of the route's CPU (bench/enqueue.ts). `plainCreateJob` accepts only what
// the schema certainly accepts — the common shape: names, texts, an input object, small
// integers — and returns it as the schema would; anything else (a rare field such as
// run_after or webhook_url, an unknown key, any value the schema might refuse) returns
// undefined and goes through zod, which alone words the errors. It must never accept
// what zod refuses: test/core/create-check.test.ts compares both on many near-misses.
import * as z from 'zod/mini';
import {
  batchCreateSchema,
  type CreateJob,
  jsonObjectProblem,
  MAX_BATCH_ITEMS,
  MAX_INPUT_BYTES,
  NAME,
  storable,
} from './schemas.ts';

const own = Object.prototype.hasOwnProperty;

const isName = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= max && NAME.test(v);
const isText = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= max && storable(v);
const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * An object zod takes as a record unchanged: a plain JSON object without the two keys it
 * treats specially (it drops "__proto__", and refuses a "constructor" that is an object).
 */
export const plainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.getPrototypeOf(v) === Object.prototype &&
  !own.call(v, '__proto__') &&
  !own.call(v, 'constructor');

const FIELDS = new Set([
  'owner_service',
  'owner_ref',
  'task_type',
  'model_profile',
  'input',
  'priority',
  'max_attempts',
  'idempotency_key',
]);

/** The job createJobSchema would return for `v`, or undefined when zod must decide. */
export function plainCreateJob(v: Record<string, unknown>): CreateJob | undefined {
  for (const k in v) if (!FIELDS.has(k) || v[k] === undefined) return undefined;
  if (!isName(v.owner_service, 100) || !isText(v.owner_ref, 500)) return undefined;
  if (!isName(v.task_type, 100) || !isName(v.model_profile, 200)) return undefined;
  const input = v.input;
  if (!plainObject(input) || jsonObjectProblem(input, MAX_INPUT_BYTES) !== undefined) return undefined;
  if ('priority' in v && !isInt(v.priority, -1000, 1000)) return undefined;
  if ('max_attempts' in v && !isInt(v.max_attempts, 1, 100)) return undefined;
  if ('idempotency_key' in v && !isText(v.idempotency_key, 200)) return undefined;
  const job: CreateJob = {
    owner_service: v.owner_service,
    owner_ref: v.owner_ref,
    task_type: v.task_type,
    model_profile: v.model_profile,
    input,
  };
  if ('priority' in v) job.priority = v.priority as number;
  if ('max_attempts' in v) job.max_attempts = v.max_attempts as number;
  if ('idempotency_key' in v) job.idempotency_key = v.idempotency_key as string;
  return job;
}

const batchDefaults = z.strictObject({ defaults: batchCreateSchema.shape.defaults });
type BatchCreate = z.infer<typeof batchCreateSchema>;

/**
 * The body batchCreateSchema would return for `v` when its `jobs` are certainly valid
 * records (the items are then checked one by one); `defaults` still go through zod.
 * Undefined when zod must parse the whole body (and word its errors).
 */
export function plainBatch(v: unknown): BatchCreate | undefined {
  if (!plainObject(v)) return undefined;
  for (const k in v) if (k !== 'defaults' && k !== 'jobs' && k !== 'return') return undefined;
  const jobs = v.jobs;
  if (!Array.isArray(jobs) || jobs.length < 1 || jobs.length > MAX_BATCH_ITEMS) return undefined;
  for (const item of jobs) if (!plainObject(item)) return undefined;
  const ret = v.return;
  let shape: Pick<BatchCreate, 'return'> = {};
  if (ret === 'full' || ret === 'minimal') shape = { return: ret };
  else if ('return' in v) return undefined;
  if (!('defaults' in v)) return { ...shape, jobs };
  const d = batchDefaults.safeParse({ defaults: v.defaults });
  return d.success ? { defaults: d.data.defaults, ...shape, jobs } : undefined;
}
